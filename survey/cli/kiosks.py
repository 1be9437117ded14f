"""`flask kiosks enrol COUNTER_CODE`: a one-time link that makes a tablet the counter's kiosk."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from survey import db
from survey.codes import same_code
from survey.kiosk.devices import ENROLMENT_MINUTES, create_enrolment, enrolment_url
from survey.models import Counter

kiosks = AppGroup("kiosks", help="Kiosk tablets of the counters.")


@kiosks.command("enrol")
@click.argument("counter_code")
def kiosks_enrol(counter_code: str):
    """Print a one-time enrolment URL for a tablet at counter COUNTER_CODE."""
    session = db.session()
    counter = session.scalar(select(Counter).where(same_code(Counter.code, counter_code)))
    if counter is None or not counter.active:
        raise click.ClickException(
            f"Không có quầy đang hoạt động mã {counter_code} / no active counter {counter_code}"
        )
    _, code = create_enrolment(session, None, counter)
    click.echo(enrolment_url(code))
    click.echo(
        f"Dùng một lần, trong {ENROLMENT_MINUTES} phút / one use, {ENROLMENT_MINUTES} minutes",
        err=True,
    )


def register(app: Flask) -> None:
    """Add the `kiosks` command group."""
    app.cli.add_command(kiosks)
