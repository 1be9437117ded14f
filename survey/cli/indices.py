"""Command-line command that computes the indices."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from survey import db
from survey.results.filters import (
    DESIGNS,
    PERIODS,
    WHOLE_RANGE,
    FilterError,
    ResultsRequest,
    results_request,
)
from survey.results.report import build_report, to_csv, to_json, to_xlsx
from survey.tables import TableError


def request_from_options(
    questionnaires: dict,
    questionnaire: str,
    design: str,
    date_from: str | None,
    date_to: str | None,
    period: str | None,
    confidence: str,
    include_flagged: bool = False,
    poststrata: Path | None = None,
    include_unpublished: bool = False,
) -> ResultsRequest:
    """Return the results request of the command's options; a bad one is a usage error.

    `include_unpublished` says how the rows are written, not which are asked for: not part of it.
    """
    try:
        return results_request(
            questionnaires,
            questionnaire=questionnaire,
            design=design,
            date_from=date_from,
            date_to=date_to,
            period=period,
            confidence=confidence,
            include_flagged=include_flagged,
            poststrata=poststrata,
        )
    except FilterError as error:
        # Each filter's option has its URL name: --from, --design, ...
        raise click.BadParameter(str(error), param_hint=f"--{error.param}") from error


# The options are read as text and checked by `results_request`, as the URL's filters are.
@click.command("indices")
@click.option("--questionnaire", default="sipas-service", show_default=True)
@click.option("--design", default="srs", show_default=True, help=" or ".join(DESIGNS) + ".")
@click.option("--from", "date_from", help="First day (Vietnam time), YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last day (Vietnam time), YYYY-MM-DD.")
@click.option(
    "--period",
    help=f"Split into periods: {', '.join(PERIODS)} (default, or {WHOLE_RANGE}: one period).",
)
@click.option("--confidence", default="0.95", show_default=True, help="At least 0.5, below 1.")
@click.option(
    "--poststrata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV/XLSX agency,<group columns>,population.",
)
@click.option("--include-flagged", is_flag=True, help="Count flagged responses too.")
@click.option(
    "--include-unpublished",
    is_flag=True,
    help="Give suppressed estimates too, marked unpublished=True: for analysis, never to publish.",
)
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
def indices_command(fmt, output, **options):
    """Compute every index with its confidence interval, per agency and period."""
    definitions = current_app.extensions["questionnaires"]
    include_unpublished = options["include_unpublished"]
    request = request_from_options(definitions, **options)
    if fmt == "xlsx" and output is None:
        raise click.BadParameter("xlsx needs -o FILE", param_hint="-o")
    try:
        report = build_report(
            db.engine(),
            definitions[request.questionnaire],
            request,
            include_unpublished=include_unpublished,
        )
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
        if include_unpublished:
            click.echo("Rows with unpublished=True are suppressed: never publish them.", err=True)


def register(app: Flask) -> None:
    """Add the `indices` command to `app`'s CLI."""
    app.cli.add_command(indices_command)
