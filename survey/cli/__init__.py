"""Command-line interface: `flask --app app <command>`."""

import functools
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo, with_appcontext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from survey import db
from survey.cli.demo import demo_loaded, load_demo
from survey.cli.imports import ImportRejected, import_agencies, import_counters, import_paper_forms
from survey.links import survey_url
from survey.migrate import upgrade
from survey.models import Counter
from survey.tables import CellProblems, TableError, read_table

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _fail_import(error: Exception) -> None:
    # Bad rows (ImportRejected) and unreadable cells (CellProblems) are listed by line.
    if isinstance(error, ImportRejected | CellProblems):
        lines = [f"  dòng {n}: {reason}" for n, reason in error.problems]
        raise click.ClickException(
            f"Tệp bị từ chối, không có gì được lưu ({len(error.problems)} lỗi) / "
            f"File rejected, nothing stored:\n" + "\n".join(lines)
        )
    raise click.ClickException(str(error))


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database to the newest migration (safe to run again)."""
    upgrade(db.engine())
    click.echo("Database is up to date.")


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo province is loaded.")
def demo_command(if_empty: bool):
    """Load the demo province with a year of synthetic answers."""
    session = db.session()
    if demo_loaded(session):
        if if_empty:
            click.echo("Demo data already loaded.")
            return
        raise click.ClickException("The demo province is already loaded.")
    count = load_demo(session, current_app.extensions["questionnaires"])
    click.echo(f"Demo province loaded with {count} responses.")


agencies = AppGroup("agencies", help="Agencies (cơ quan, đơn vị).")
counters = AppGroup("counters", help="Service counters and their survey links.")
responses = AppGroup("responses", help="Responses (paper forms).")


@agencies.command("import")
@click.argument("file", type=FILE)
def agencies_import(file: Path):
    """Import agencies from CSV/XLSX: code,name_vi,name_en,level,parent_code."""
    try:
        # The audit entry is committed with the agencies, in the import's transaction.
        created, updated = import_agencies(db.session(), *read_table(file), source=file.name)
    except (ImportRejected, TableError) as error:
        _fail_import(error)
    click.echo(f"Agencies: {created} created, {updated} updated.")


@counters.command("import")
@click.argument("file", type=FILE)
def counters_import(file: Path):
    """Import counters from CSV/XLSX: code,agency_code,name[,questionnaire]."""
    try:
        created, updated = import_counters(
            db.session(),
            *read_table(file),
            current_app.extensions["questionnaires"],
            source=file.name,
        )
    except (ImportRejected, TableError) as error:
        _fail_import(error)
    click.echo(f"Counters: {created} created, {updated} updated.")


@counters.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table")
def counters_list(fmt: str):
    """List counters with their agency and survey URL."""
    import csv
    import sys

    base = current_app.config["PUBLIC_BASE_URL"]
    rows = [
        (c.code, c.agency.code, c.name, survey_url(base, c.token))
        for c in db.session().scalars(select(Counter).where(Counter.active).order_by(Counter.code))
    ]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["code", "agency_code", "name", "survey_url"])
        writer.writerows(rows)
        return
    for row in rows:
        click.echo("  ".join(row))


@responses.command("import")
@click.argument("file", type=FILE)
@click.option("--questionnaire", "slug", default="sipas-service", show_default=True)
def responses_import(file: Path, slug: str):
    """Import paper forms (all or nothing): counter,submitted_at,A1..E3[,weight,psu,comment]."""
    definitions = current_app.extensions["questionnaires"]
    if slug not in definitions:
        raise click.BadParameter(f"unknown questionnaire; known: {', '.join(sorted(definitions))}")
    try:
        count = import_paper_forms(
            db.session(), *read_table(file), definitions[slug], source=file.name
        )
    except (ImportRejected, TableError) as error:
        _fail_import(error)
    click.echo(f"{count} paper forms imported.")


NOT_INITIALISED = (
    "Cơ sở dữ liệu chưa được khởi tạo: hãy chạy `flask --app app init-db` trước. / "
    "The database is not initialised: run `flask --app app init-db` first."
)


def database_initialised() -> bool:
    """Tell whether the app's database has the migrations' version table with a version."""
    engine = db.engine()
    try:
        if not inspect(engine).has_table("alembic_version"):
            return False
        with engine.connect() as connection:
            return (
                connection.execute(text("SELECT version_num FROM alembic_version")).first()
                is not None
            )
    except SQLAlchemyError:
        return False


def _require_database(callback):
    """Wrap a command's callback so that it stops, in words, on a database never initialised."""

    def checked(*args, **kwargs):
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        with app.app_context():
            if not database_initialised():
                # Instead of a SQLAlchemy traceback about a missing table, exit code 1.
                raise click.ClickException(NOT_INITIALISED)
        return callback(*args, **kwargs) if callback else None

    if callback is not None:
        checked = functools.wraps(callback)(checked)
    checked.requires_database = True
    return checked


def _check_database_first(app: Flask) -> None:
    # Every command but init-db works on the migrated tables; a group is checked before any of
    # its subcommands. The command objects are module-level: wrapped once, whatever the apps.
    for name, command in app.cli.commands.items():
        if name != "init-db" and not getattr(command.callback, "requires_database", False):
            command.callback = _require_database(command.callback)


def init_app(app: Flask) -> None:
    """Register the commands."""
    from survey.cli import indices as cli_indices
    from survey.cli import kiosks as cli_kiosks
    from survey.cli import results as cli_results
    from survey.cli import retention as cli_retention
    from survey.cli import staff as cli_staff
    from survey.cli import tokens as cli_tokens

    for command in (init_db_command, demo_command, agencies, counters, responses):
        app.cli.add_command(command)
    cli_staff.register(app)
    cli_indices.register(app)
    cli_retention.register(app)
    cli_tokens.register(app)
    cli_kiosks.register(app)
    cli_results.register(app)
    _check_database_first(app)
