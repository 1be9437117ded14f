"""The index report: read the selected responses, compute every index, and shape the output.

Publication rules: `published_row` is a suppressed row as anyone may see it, with its status,
reasons, n, PSUs and df but no estimate, SE, interval, mean score or design effect. Every file
(CSV, XLSX, JSON, the API's and the CLI's) is written from `output_rows`, which gives only such
rows unless the CLI's `--include-unpublished` made the report (then each row says whether it is
`unpublished`). Reasons are worded in the report's language (survey/results/wording.py).
"""

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from analysis import FIELDS, index_rows
from analysis import status as st
from analysis.data import Responses
from analysis.poststratification import poststratify
from survey.questionnaires.loading import Definition
from survey.results.data import IndexData, load_index_data
from survey.results.filters import ResultsRequest
from survey.results.wording import (
    design_text,
    level_text,
    method_text,
    reason_text,
    status_text,
)
from survey.tables import TableError, read_table
from survey.timeutil import VIETNAM

# The output columns: the analysis fields, with the agency's name beside its code and the
# reasons as text (in the report's language) and as codes ("few-respondents;interval-wide").
COLUMNS = (
    "period",
    "agency",
    "agency_name",
    *(f for f in FIELDS[2:] if f != "reasons"),
    "reason_codes",
)
# What a suppressed row does not give.
WITHHELD = ("estimate", "se", "ci_low", "ci_high", "mean_score", "deff")
# Column headers for people (XLSX): the codes are in the second row.
HEADERS = {
    "period": _l("Period"),
    "agency": _l("Agency code"),
    "agency_name": _l("Agency"),
    "level": _l("Level"),
    "key": _l("Index code"),
    "estimate": _l("Index (%)"),
    "se": _l("Standard error"),
    "ci_low": _l("CI lower bound"),
    "ci_high": _l("CI upper bound"),
    "mean_score": _l("Mean score"),
    "n": _l("Respondents (n)"),
    "psus": _l("Sampling units (PSU)"),
    "df": _l("Degrees of freedom"),
    "deff": _l("Design effect"),
    "status": _l("Publication status"),
    "reason": _l("Reason"),
    "reason_codes": _l("Reason codes"),
    "rank_low": _l("Best possible rank"),
    "rank_high": _l("Worst possible rank"),
    "change": _l("Change since the previous period (points)"),
    "change_ci_low": _l("Change: CI lower bound"),
    "change_ci_high": _l("Change: CI upper bound"),
    "change_significant": _l("Change significant"),
    "method": _l("Interval method"),
    "unpublished": _l("Unpublished (for analysis only)"),
}
TWO_DECIMALS = {
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "mean_score",
    "deff",
    "change",
    "change_ci_low",
    "change_ci_high",
}
SHEETS = (("service", _l("Service")), ("element", _l("Elements")), ("criterion", _l("Criteria")))
# Text a spreadsheet would run as a formula (or a DDE command) if a cell began with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def build_report(
    engine: Engine,
    definition: Definition,
    request: ResultsRequest,
    locale: str = "vi",
    include_unpublished: bool = False,
    agency_ids: set[int] | None = None,
) -> dict:
    """Return the report: questionnaire, version, design, confidence, filters, times and rows.

    `request` comes checked from `results_request`; agency names and reasons are in `locale`.
    The rows keep every number (for the code that draws pages); files give `output_rows`.
    With `agency_ids`, only those agencies are read and computed (an agency's page): their rows
    are the same as in the whole report (each agency is its own stratum), but there is no "*"
    row and no rank, which need every agency.
    """
    population = read_poststrata(request.poststrata) if request.poststrata else None
    data = load_index_data(
        engine, definition, request, with_details=bool(population), agency_ids=agency_ids
    )
    responses = data.responses
    if population:
        responses = apply_poststrata(data, population)
    names = {a.code: (a.name_en if locale == "en" else a.name_vi) for a in data.agencies}
    names["*"] = "Tất cả cơ quan" if locale != "en" else "All agencies"
    rows = (
        index_rows(
            responses,
            data.scheme,
            design=request.design,
            level=request.confidence,
            agency_labels=[a.code for a in data.agencies],
            period_labels=data.periods,
        )
        if responses.n
        else []
    )
    if agency_ids is not None:
        rows = [row | {"rank_low": None, "rank_high": None} for row in rows if row["agency"] != "*"]
    with force_locale(locale):
        shaped = [_shape(row, names, include_unpublished) for row in rows]
    now = datetime.now(UTC)
    return {
        "questionnaire": definition.slug,
        "questionnaire_title": definition.title(locale),
        "version": data.version,
        "design": request.design,
        "confidence": request.confidence,
        "filters": request_filters(request),
        "locale": locale,
        "include_unpublished": include_unpublished,
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_at_vietnam": now.astimezone(VIETNAM).isoformat(timespec="seconds"),
        "rows": shaped,
    }


def _shape(row: dict, names: dict, include_unpublished: bool) -> dict:
    """Return one output row: named, reasons worded, numbers withheld when suppressed."""
    out = {c: row[c] for c in FIELDS}
    out["agency_name"] = names.get(row["agency"])
    reasons = row["reasons"]
    if row["status"] == st.SUPPRESSED and not include_unpublished:
        # "an index of 100" would give the withheld value away; the row is suppressed anyway.
        reasons = [r for r in reasons if r["code"] != st.EDGE_INDEX]
    out["reasons"] = reasons
    out["reason"] = reason_text(reasons)
    out["reason_codes"] = ";".join(r["code"] for r in reasons) or None
    if include_unpublished:
        out["unpublished"] = row["status"] == st.SUPPRESSED
    return out


def published_row(row: dict) -> dict:
    """Return `row` as it may be published: a suppressed row without its numbers (WITHHELD)."""
    if row["status"] != st.SUPPRESSED:
        return row
    return row | dict.fromkeys(WITHHELD)


def output_rows(report: dict) -> list[dict]:
    """Return the rows a file may hold: published rows, or all numbers with `unpublished`."""
    if report.get("include_unpublished"):
        return report["rows"]
    return [published_row(row) for row in report["rows"]]


# How a page shows the rows, not which rows: left out of a file's filters.
PAGE_ONLY = {"shown", "sort", "order", "page"}


def request_filters(request: ResultsRequest) -> dict:
    """Return the filters of `request` as plain values (dates as text), for files and JSON."""
    out = {}
    for field in dataclasses.fields(request):
        if field.name in PAGE_ONLY:
            continue
        value = getattr(request, field.name)
        if isinstance(value, date | Path):
            value = str(value)
        elif isinstance(value, list | tuple | set | frozenset):
            value = [str(v) for v in value]
        elif value is not None and not isinstance(value, bool | int | float | str):
            value = str(value)
        out[field.name] = value
    return out


def columns_of(report: dict) -> tuple[str, ...]:
    """Return the report's columns (with `unpublished` when its numbers include those)."""
    return (*COLUMNS, "unpublished") if report.get("include_unpublished") else COLUMNS


def neutralise(value):
    """Return `value` safe for a spreadsheet cell: text a formula could start gets a "'" first."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def file_name(prefix: str, request: ResultsRequest, extension: str) -> str:
    """Return a download's file name: what it holds, questionnaire, first and last day."""
    first = request.date_from.isoformat() if request.date_from else "tu-dau"
    last = request.date_to.isoformat() if request.date_to else "den-nay"
    design = "" if request.design == "srs" else f"_{request.design}"
    return f"{prefix}_{request.questionnaire}_{first}_{last}{design}.{extension}"


@dataclass(frozen=True)
class Population:
    """Population totals per agency and post-stratification cell."""

    columns: tuple[str, ...]
    totals: dict[tuple[str, tuple[str, ...]], float]


def read_poststrata(path: Path) -> Population:
    """Read `agency,<group columns...>,population` totals (CSV or XLSX)."""
    header, rows = read_table(path)
    if len(header) < 3 or header[0] != "agency" or header[-1] != "population":
        raise TableError(
            "The post-stratification file needs the columns agency, then one or more grouping "
            "columns (e.g. gender), then population"
        )
    columns = tuple(header[1:-1])
    totals: dict = {}
    problems = []
    for row in rows:
        key = (row.cells["agency"], tuple(row.cells[c] for c in columns))
        try:
            total = float(row.cells["population"])
            if not total > 0:
                raise ValueError
        except ValueError:
            problems.append(
                f"line {row.number}: population '{row.cells['population']}' "
                "must be a number greater than 0"
            )
            continue
        if key in totals:
            problems.append(f"line {row.number}: the cell {key} appears twice")
        totals[key] = total
    if problems:
        raise TableError("; ".join(problems))
    return Population(columns, totals)


def apply_poststrata(data: IndexData, population: Population) -> Responses:
    """Return the responses with post-stratification cells and post-stratified weights."""
    cell_values = [
        tuple(str((d or {}).get(c, "")) for c in population.columns) for d in data.details
    ]
    cells = sorted({*cell_values, *(k[1] for k in population.totals)})
    cell_index = {value: i for i, value in enumerate(cells)}
    codes = np.array([cell_index[v] for v in cell_values], dtype=np.int64)
    agency_index = {a.code: i for i, a in enumerate(data.agencies)}
    table = np.full((len(data.agencies), len(cells)), np.nan)
    for (agency, cell), total in population.totals.items():
        if agency in agency_index:
            table[agency_index[agency], cell_index[cell]] = total
    # Every cell that has responses needs a population total: say which one is missing.
    seen = set(zip(data.responses.agency.tolist(), codes.tolist(), strict=True))
    for a, g in sorted(seen):
        if not np.isfinite(table[a, g]):
            cell = dict(zip(population.columns, cells[g], strict=True))
            raise TableError(
                f"agency {data.agencies[a].code}, cell {cell} has responses but no population "
                "total in the post-stratification file"
            )
    responses = dataclasses.replace(data.responses, poststratum=codes)
    return responses.with_weights(poststratify(responses, table))


BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 10)
    return neutralise(value)


def to_csv(report: dict) -> str:
    """Return the rows as CSV (UTF-8 with BOM) with the JSON's columns, codes as the header."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    columns = columns_of(report)
    writer.writerow(columns)
    for row in output_rows(report):
        writer.writerow([_csv_value(row[c]) for c in columns])
    return out.getvalue()


def to_json(report: dict) -> str:
    """Return the report as JSON (suppressed rows without numbers, as `output_rows`)."""
    shown = report | {"rows": output_rows(report)}
    return json.dumps(shown, ensure_ascii=False, indent=1, allow_nan=False)


def _xlsx_value(column: str, value):
    if value is None:
        return None
    if column == "status":
        return status_text(value)
    if column == "level":
        return level_text(value)
    if column == "method":
        return method_text(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return neutralise(value)


def to_xlsx(report: dict) -> bytes:
    """Return the rows as an XLSX workbook: a sheet per level and the "Phương pháp" sheet.

    Each level's sheet has a bold header row in the report's language and the column codes in
    a second row, both frozen; numbers have two decimals. Written in openpyxl's write-only mode,
    row by row: a year of 500 agencies is 46,000 rows, which the normal mode took 10-18 s and
    much memory to hold.
    """
    book = Workbook(write_only=True)
    columns = columns_of(report)
    rows = output_rows(report)
    decimals = [c in TWO_DECIMALS for c in columns]
    with force_locale(report.get("locale", "vi")):
        for level, title in SHEETS:
            mine = [r for r in rows if r["level"] == level]
            if not mine and level != "service":
                continue
            sheet = book.create_sheet(str(title))
            for index, column in enumerate(columns, start=1):
                width = 14 if column not in ("agency_name", "reason") else 40
                sheet.column_dimensions[get_column_letter(index)].width = width
            sheet.freeze_panes = "A3"
            _print_setup(sheet)
            sheet.print_title_rows = "1:2"
            sheet.append([_styled(sheet, str(HEADERS[c]), font=BOLD) for c in columns])
            sheet.append([_styled(sheet, c, font=CODES) for c in columns])
            for row in mine:
                values = [_xlsx_value(c, row[c]) for c in columns]
                sheet.append(
                    [
                        _number(sheet, value) if two else value
                        for value, two in zip(values, decimals, strict=True)
                    ]
                )
        _method_sheet(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


BOLD = Font(bold=True)
CODES = Font(italic=True, color="666666")
WRAPPED = Alignment(wrap_text=True, vertical="top")


def _styled(sheet, value, font: Font | None = None, alignment: Alignment | None = None):
    """Return a write-only cell of `value` with a font or an alignment."""
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _number(sheet, value):
    """Return a write-only cell showing `value` with two decimals."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = "0.00"
    return cell


def _print_setup(sheet) -> None:
    """Printed or made a PDF: landscape, every column on the page."""
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0


def method_lines(report: dict) -> list[tuple[str, str]]:
    """Return the method of a report as (topic, text) pairs in the current language."""
    level = report["confidence"]
    filters = report.get("filters", {})
    shown = "; ".join(f"{k} = {v}" for k, v in filters.items() if v not in (None, False, [], ""))
    return [
        (_("Questionnaire"), f"{report.get('questionnaire_title')} ({report['questionnaire']})"),
        (_("Questionnaire version"), str(report["version"] or "")),
        (_("Design"), design_text(report["design"])),
        (
            _("Criterion index"),
            _(
                "p = Σ w·r·y / Σ w·r: the weighted share of valid answers that are satisfied "
                "(4 or 5 on the 1-5 scale), each criterion with its own denominator"
            ),
        ),
        (
            _("Element and service index"),
            _(
                "the mean of the criterion indices of the element; the service index is the mean "
                "of the element indices"
            ),
        ),
        (
            _("Standard errors"),
            _(
                "linearization (influence values summed per sampling unit, agencies as strata), "
                "as R's survey package"
            ),
        ),
        (
            _("Interval for a criterion"),
            _(
                "Korn-Graubard (R svyciprop, method beta); Clopper-Pearson on the valid answers "
                "where the variance is 0"
            ),
        ),
        (
            _("Interval for an element, the service and mean scores"),
            _(
                "t interval on the logit scale with the design's degrees of freedom; "
                "Clopper-Pearson where the standard error is 0"
            ),
        ),
        (_("Confidence level"), f"{100 * level:g}%"),
        (
            _("Not published"),
            _(
                "fewer than %(n)s respondents, an effective sample size below %(neff)s, or a "
                "confidence interval %(width)s points wide or more: no number is given",
                n=st.MIN_N,
                neff=st.MIN_EFFECTIVE_N,
                width=f"{st.MAX_WIDTH:g}",
            ),
        ),
        (
            _("Use with caution"),
            _(
                "fewer than %(df)s degrees of freedom, a confidence interval wider than "
                "%(width)s points, or an index of 0 or 100",
                df=st.MIN_DF,
                width=f"{st.CAUTION_WIDTH:g}",
            ),
        ),
        (
            _("What the interval does not cover"),
            _(
                "respondents choose themselves and staff may steer who answers: a confidence "
                "interval measures sampling error only"
            ),
        ),
        (_("Filters"), shown),
        (_("Made at (Vietnam time)"), report.get("generated_at_vietnam", "")),
    ]


def _method_sheet(book: Workbook, report: dict) -> None:
    """Add the "Phương pháp" sheet (the name stays Vietnamese: links and macros expect it)."""
    sheet = book.create_sheet("Phương pháp")
    sheet.column_dimensions["A"].width = 52
    sheet.column_dimensions["B"].width = 110
    _print_setup(sheet)
    sheet.append(
        [
            _styled(sheet, _("Topic"), font=BOLD),
            _styled(sheet, _("Method"), font=BOLD, alignment=WRAPPED),
        ]
    )
    for topic, text in method_lines(report):
        sheet.append([neutralise(topic), _styled(sheet, neutralise(text), alignment=WRAPPED)])
