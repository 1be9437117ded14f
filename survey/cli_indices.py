"""Command-line command that computes the indices."""

from flask import Flask


def register(app: Flask) -> None:
    """Add the `indices` command to `app`'s CLI."""
