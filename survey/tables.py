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


class CellProblems(TableError):
    """Cells that cannot be read as values; `problems` lists (line number, reason)."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"line {n}: {reason}" for n, reason in problems))


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
        # data_only=False: a formula cell is read as its formula, not as the value cached by
        # the program that saved it (none when a script wrote it: an "empty" cell before).
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError(
            _("The file could not be opened as an Excel workbook: %(e)s", e=exc)
        ) from exc
    sheet = workbook.worksheets[0]
    lines: list[list[str]] = []
    formulas: list[tuple[int, int, str]] = []  # (line, column index, cell name)
    for number, row in enumerate(sheet.iter_rows(), start=1):
        values = []
        for index, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f":
                formulas.append((number, index, cell.coordinate))
                values.append("")
            else:
                values.append(_cell_text(cell.value))
        lines.append(values)
    workbook.close()
    if formulas:
        header = [h.strip() for h in lines[0]] if lines else []
        raise CellProblems(
            [
                (
                    number,
                    _(
                        "%(column)s (cell %(cell)s) is a formula cell: save the sheet with "
                        "values only (copy, then Paste Special > Values)",
                        column=header[index] if index < len(header) and header[index] else "?",
                        cell=cell,
                    ),
                )
                for number, index, cell in formulas
            ]
        )
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
