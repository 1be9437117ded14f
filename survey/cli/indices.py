"""Command-line command that computes the indices."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from survey import db
from survey.results.data import PERIODS, Selection
from survey.results.report import (
    DESIGNS,
    ReportOptions,
    build_report,
    parse_date,
    to_csv,
    to_json,
    to_xlsx,
)
from survey.tables import TableError


def _date(_ctx, param, value):
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date YYYY-MM-DD") from exc


@click.command("indices")
@click.option("--questionnaire", "slug", default="sipas-service", show_default=True)
@click.option("--design", type=click.Choice(DESIGNS), default="srs", show_default=True)
@click.option("--from", "date_from", callback=_date, help="First day (Vietnam time), YYYY-MM-DD.")
@click.option("--to", "date_to", callback=_date, help="Last day (Vietnam time), YYYY-MM-DD.")
@click.option("--period", type=click.Choice(PERIODS), help="Split into periods (default: one).")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True)
@click.option(
    "--poststrata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV/XLSX agency,<group columns>,population.",
)
@click.option("--include-flagged", is_flag=True, help="Count flagged responses too.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output; required for xlsx).",
)
@with_appcontext
def indices_command(
    slug, design, date_from, date_to, period, confidence, poststrata, include_flagged, fmt, output
):
    """Compute every index with its confidence interval, per agency and period."""
    definitions = current_app.extensions["questionnaires"]
    if slug not in definitions:
        raise click.BadParameter(
            f"unknown questionnaire; known: {', '.join(sorted(definitions))}",
            param_hint="--questionnaire",
        )
    if date_from and date_to and date_from > date_to:
        raise click.BadParameter("--from is after --to")
    if fmt == "xlsx" and output is None:
        raise click.BadParameter("xlsx needs -o FILE", param_hint="-o")
    options = ReportOptions(
        selection=Selection(slug, date_from, date_to, period, include_flagged),
        design=design,
        confidence=confidence,
        poststrata=poststrata,
    )
    try:
        report = build_report(db.engine(), definitions[slug], options)
    except (TableError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if fmt == "xlsx":
        output.write_bytes(to_xlsx(report))
    else:
        text = to_csv(report) if fmt == "csv" else to_json(report) + "\n"
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    if output:
        click.echo(f"{len(report['rows'])} rows written to {output}", err=True)


def register(app: Flask) -> None:
    """Add the `indices` command to `app`'s CLI."""
    app.cli.add_command(indices_command)
