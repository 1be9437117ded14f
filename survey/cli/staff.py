"""Command-line commands for staff accounts and posters."""

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from survey import db
from survey.console import operations as ops
from survey.console.passwords import password_problem
from survey.console.queries import agency_by_code, posters_for_agency
from survey.permissions import Role
from survey.printing.posters import render_posters

users = AppGroup("users", help="Staff accounts of the console.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--agency", "agency_code", help="Agency code (managers only).")
@click.option(
    "--generate-password",
    is_flag=True,
    help="Generate a password and show it once, instead of asking for one.",
)
def users_create(email: str, role: str, agency_code: str | None, generate_password: bool):
    """Create a staff account (the password is asked for, or generated and shown once)."""
    session = db.session()
    agency = None
    if agency_code:
        agency = agency_by_code(session, agency_code)
        if agency is None:
            raise click.BadParameter(f"no agency has code {agency_code}", param_hint="--agency")
    password = None
    if not generate_password:
        password = click.prompt(
            "Password (empty: generate one)", default="", hide_input=True, show_default=False
        )
        if password:
            problem = password_problem(password)
            if problem:
                raise click.ClickException(f"Password refused: {problem}.")
            if click.prompt("Repeat the password", hide_input=True) != password:
                raise click.ClickException("The two passwords differ; nothing was created.")
    try:
        user, password_used = ops.create_user(session, None, email, role, agency, password)
    except ops.StaffError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Account {user.email} ({user.role}" + (f", {agency.code}" if agency else "") + ") created."
    )
    if not password:
        # Shown once: only its hash is stored.
        click.echo(f"Password (shown once, hand it over safely): {password_used}")


@click.command("posters")
@with_appcontext
@click.option(
    "--agency",
    "agency_code",
    required=True,
    help="Agency code; its sub-agencies' counters are included.",
)
@click.option(
    "--size",
    type=click.Choice(["a4", "a6"]),
    default="a4",
    show_default=True,
    help="a4: wall poster; a6: table card.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The PDF file to write.",
)
def posters_command(agency_code: str, size: str, output: Path):
    """Write one PDF with the poster of every active counter of an agency and below."""
    session = db.session()
    agency = agency_by_code(session, agency_code)
    if agency is None:
        raise click.BadParameter(f"no agency has code {agency_code}", param_hint="--agency")
    posters = posters_for_agency(session, agency)
    if not posters:
        raise click.ClickException(f"{agency_code} and its sub-agencies have no active counter.")
    # The bar goes to stderr, so that `-o /dev/stdout` would still give a clean PDF.
    with click.progressbar(length=len(posters), label="Posters", file=sys.stderr) as bar:
        pdf = render_posters(posters, size, bar.update)
    # Written only once complete, so an interrupted run leaves no half PDF behind.
    output.write_bytes(pdf)
    click.echo(f"{len(posters)} posters written to {output}.")


def register(app: Flask) -> None:
    """Add the staff commands to `app`'s CLI."""
    app.cli.add_command(users)
    app.cli.add_command(posters_command)
