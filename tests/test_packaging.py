"""The wheel: every package and subpackage of the source tree is in it, and app.py beside them."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the build reads; copied so that build/ and *.egg-info land in the copy, not the repo.
SOURCES = ("pyproject.toml", "app.py", "survey", "analysis")


def test_the_wheel_holds_every_subpackage(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    # No build isolation and no index: the venv's pinned setuptools builds it, offline.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packages = {
        init.relative_to(ROOT).as_posix()
        for top in ("survey", "analysis")
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert {"survey/__init__.py", "survey/console/__init__.py"} <= packages  # the walk found them
    assert sorted(packages - names) == []
    assert "app.py" in names
    # Every module of each package, not only its __init__.py.
    modules = {
        path.relative_to(ROOT).as_posix()
        for top in ("survey", "analysis")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sorted(modules - names) == []


def test_the_app_builds_in_a_fresh_process(tmp_path):
    """`from survey import create_app` first, as gunicorn and flask do: no import cycle (the
    demo once imported the kiosk's views, which import the console, which imports the kiosk)."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = {"DATABASE_URL": url, "SECRET_KEY": "x"}
    code = f"from survey import create_app; create_app({settings!r})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_every_module_imports_on_its_own(tmp_path):
    """Each module of survey/ and analysis/ imported first, in a fresh interpreter state: an
    import cycle shows only when its module is the first of the cycle to be imported."""
    code = """
import importlib, pathlib, sys
roots = ("survey", "analysis")
names = sorted(
    str(path.with_suffix("")).replace("/", ".").removesuffix(".__init__")
    for root in roots for path in pathlib.Path(root).rglob("*.py")
)
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in roots]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {error!r}")
print(len(names))
print("\\n".join(failed))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    count, *failed = done.stdout.strip().splitlines()
    assert int(count) > 80 and failed == []
