"""The index report: read the selected responses, compute every index, and shape the output."""

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from analysis import FIELDS, index_rows
from analysis.data import Responses
from analysis.poststratification import poststratify
from survey.questionnaires.loading import Definition
from survey.results.data import IndexData, load_index_data
from survey.results.filters import ResultsRequest
from survey.tables import TableError, read_table

# The output columns: the analysis fields, with the agency's name beside its code.
COLUMNS = ("period", "agency", "agency_name", *FIELDS[2:])


def build_report(
    engine: Engine, definition: Definition, request: ResultsRequest, locale: str = "vi"
) -> dict:
    """Return the report: questionnaire, version, design, confidence, generated_at and rows.

    `request` comes checked from `results_request`; agency names are in `locale`.
    """
    population = read_poststrata(request.poststrata) if request.poststrata else None
    data = load_index_data(engine, definition, request, with_details=bool(population))
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
    shaped = [
        {c: (names.get(row["agency"]) if c == "agency_name" else row[c]) for c in COLUMNS}
        for row in rows
    ]
    return {
        "questionnaire": definition.slug,
        "version": data.version,
        "design": request.design,
        "confidence": request.confidence,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": shaped,
    }


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


def _cell(value):
    if isinstance(value, float):
        return round(value, 10)
    return value


def to_csv(report: dict) -> str:
    """Return the rows as CSV with the JSON's columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report["rows"]:
        writer.writerow(["" if row[c] is None else _cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def to_json(report: dict) -> str:
    """Return the report as JSON."""
    return json.dumps(report, ensure_ascii=False, indent=1, allow_nan=False)


def to_xlsx(report: dict) -> bytes:
    """Return the rows as an XLSX workbook, with the report's settings on a second sheet."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("indices")
    sheet.append(list(COLUMNS))
    for row in report["rows"]:
        sheet.append([row[c] for c in COLUMNS])
    about = book.create_sheet("about")
    for key in ("questionnaire", "version", "design", "confidence", "generated_at"):
        about.append([key, report[key]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
