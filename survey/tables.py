"""Read an uploaded or given table (CSV in UTF-8 with or without BOM, or XLSX) into rows."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import load_workbook


class TableError(ValueError):
    """A file that cannot be read as a table at all."""


@dataclass(frozen=True)
class Row:
    """One data row: its line number in the file (the header is line 1) and its cells by column."""

    number: int
    cells: dict[str, str]


def read_table(path: Path) -> tuple[list[str], list[Row]]:
    """Return (header, rows) of a CSV or XLSX file; every cell as stripped text."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    return _read_csv(path.read_bytes())


def _read_csv(data: bytes) -> tuple[list[str], list[Row]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(
            _("The file is not UTF-8 text (byte %(pos)d). Save it as 'CSV UTF-8'.", pos=exc.start)
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = list(reader)
    return _rows(lines)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> tuple[list[str], list[Row]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError(
            _("The file could not be opened as an Excel workbook: %(e)s", e=exc)
        ) from exc
    sheet = workbook.worksheets[0]
    lines = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _rows(lines)


def _rows(lines: list[list[str]]) -> tuple[list[str], list[Row]]:
    if not lines:
        raise TableError(_("The file is empty: it needs a header line."))
    header = [h.strip() for h in lines[0]]
    while header and header[-1] == "":
        header.pop()
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        values = [v.strip() for v in values]
        if not any(values):
            continue  # blank lines at the end of spreadsheets are common
        cells = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)}
        if len(values) > len(header) and any(values[len(header) :]):
            cells["\0extra"] = "yes"
        rows.append(Row(number, cells))
    return header, rows


def require_columns(header: list[str], required: list[str]) -> None:
    """Raise TableError naming the columns missing from `header`."""
    missing = [c for c in required if c not in header]
    if missing:
        raise TableError(
            _(
                "Missing column(s): %(cols)s. The header line must contain: %(need)s",
                cols=", ".join(missing),
                need=",".join(required),
            )
        )
