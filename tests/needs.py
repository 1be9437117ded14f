"""Skip a test whose outside tool is missing, except in CI, where a missing tool is a failure."""

import os
import shutil

import pytest


def in_ci() -> bool:
    """Tell whether the suite runs in CI, where nothing may be skipped for a missing tool."""
    return bool(os.environ.get("CI"))


def need(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless `condition` holds."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def need_program(name: str, package: str) -> str:
    """Return the path of program `name`, skipping (failing in CI) when it is not installed."""
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed (Debian package {package})")
    return path
