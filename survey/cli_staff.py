"""Command-line commands for staff accounts and posters."""

from flask import Flask


def register(app: Flask) -> None:
    """Add the staff commands to `app`'s CLI."""
