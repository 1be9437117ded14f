"""`flask results clear-cache`: forget every stored result (survey/results/cache.py).

Needed once after a database is restored from a backup: the restored data can reach the same
data version as results stored before the restore, from other responses.
"""

import click
from flask import Flask
from flask.cli import AppGroup

from survey import db
from survey.results import cache
from survey.results.changes import start_epoch

results = AppGroup("results", help="The stored results of the pages, downloads and API.")


@results.command("clear-cache")
def clear_cache_command():
    """Forget every stored result; each is computed again at its next view."""
    with db.engine().begin() as connection:
        # A new epoch makes results stored anywhere else (another app server's folder) unusable.
        start_epoch(connection)
    cache.clear()
    click.echo("Stored results cleared: each is computed again at its next view.")


def register(app: Flask) -> None:
    """Add the results commands to `app`'s CLI."""
    app.cli.add_command(results)
