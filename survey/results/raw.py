"""Raw responses for analysts, anonymised, streamed in chunks so a million never sit in memory.

A row holds the agency and counter codes, the local day, the channel, whether it is verified,
whether it was flagged and why, every answer (scale items of the current questionnaire version,
then its other questions) and the comment. Never the nonce, the dossier hash or a token: the
query does not even select them. Excluded responses (rejected by a reviewer) are left out.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import date

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine

from survey.flags import LABELS, decode_flags
from survey.models import Agency, Channel, Counter, Questionnaire, Response, ResponseStatus
from survey.permissions import subtree_ids
from survey.questionnaires.loading import Definition, check
from survey.results.filters import ResultsRequest
from survey.results.report import BOM, neutralise
from survey.timeutil import day_number

CHUNK = 2000  # rows fetched from the database at a time
FIXED = (
    "agency",
    "counter",
    "day",
    "channel",
    "verified",
    "status",
    "flags",
    "flag_reasons",
    "weight",
    "psu",
)

HEADERS = {
    "agency": _l("Agency code"),
    "counter": _l("Counter code"),
    "day": _l("Day (Vietnam time)"),
    "channel": _l("Channel"),
    "verified": _l("Verified (receipt link from the case-management software)"),
    "status": _l("Status"),
    "flags": _l("Flag codes"),
    "flag_reasons": _l("Why it was flagged"),
    "weight": _l("Weight"),
    "psu": _l("Sampling unit (imports)"),
    "comment": _l("Comment"),
}


def raw_columns(definition: Definition) -> tuple[str, ...]:
    """Return the export's columns: the fixed ones, every question key, then the comment."""
    # Free-text questions are kept as the comment (survey/citizen/forms.py), not as details.
    skip = {*definition.scale_items, *definition.summarised_as("text")}
    others = tuple(k for k in definition.question_types if k not in skip)
    return (*FIXED, *definition.scale_items, *others, "comment")


def _layouts(engine: Engine, definition: Definition) -> dict[int, tuple[str, ...]]:
    """Return each stored version's scale items (the layout of its `scores`), by version id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Questionnaire.id, Questionnaire.version, Questionnaire.definition).where(
                Questionnaire.slug == definition.slug
            )
        ).all()
    return {
        vid: check(data, f"{definition.slug} v{version}", strict=False).scale_items
        for vid, version, data in rows
    }


def _query(layouts: dict, request: ResultsRequest, agency_ids: set[int]):
    query = (
        select(
            Agency.code,
            Counter.code,
            Response.local_day,
            Response.channel,
            Response.status,
            Response.flags,
            Response.weight,
            Response.psu,
            Response.questionnaire_id,
            Response.scores,
            Response.details,
            Response.comment,
        )
        .join(Agency, Agency.id == Response.agency_id)
        .join(Counter, Counter.id == Response.counter_id)
        .where(
            Response.questionnaire_id.in_(list(layouts) or [-1]),
            Response.status.in_([ResponseStatus.VALID, ResponseStatus.FLAGGED]),
            Response.agency_id.in_(sorted(agency_ids) or [-1]),
        )
        .order_by(Response.local_day, Response.id)
    )
    if request.date_from:
        query = query.where(Response.local_day >= day_number(request.date_from))
    if request.date_to:
        query = query.where(Response.local_day <= day_number(request.date_to))
    # The pages' narrower filters, where the request has them: the same rows as the indices.
    channels = getattr(request, "channels", ())
    if channels:
        query = query.where(Response.channel.in_(list(channels)))
    if getattr(request, "verified_only", False):
        query = query.where(Response.channel == Channel.RECEIPT)
    return query


def narrowed_ids(session, request: ResultsRequest, agency_ids: set[int]) -> set[int]:
    """Return the agencies of `agency_ids` the request's parent and level filters keep."""
    ids = set(agency_ids)
    parent = getattr(request, "parent", None)
    if parent:
        found = session.scalar(select(Agency.id).where(Agency.code == parent))
        ids &= subtree_ids(found) if found is not None else set()
    level = getattr(request, "level", None)
    if level and hasattr(Agency, "level"):
        ids &= set(session.scalars(select(Agency.id).where(Agency.level == level)))
    return ids


def _day(number: int) -> str:
    return date(number // 10000, number // 100 % 100, number % 100).isoformat()


def raw_rows(
    engine: Engine,
    definition: Definition,
    request: ResultsRequest,
    agency_ids: set[int],
    flag_words=None,
) -> Iterator[list]:
    """Yield the header codes, then one list per response, reading `CHUNK` rows at a time.

    `agency_ids` are the agencies the user may see; `flag_words(flag)` words a flag (default:
    its English label).
    """
    layouts = _layouts(engine, definition)
    columns = raw_columns(definition)
    others = columns[len(FIXED) + len(definition.scale_items) : -1]
    words = flag_words or (lambda flag: str(LABELS[flag]))
    yield list(columns)
    query = _query(layouts, request, agency_ids)
    with engine.connect() as conn:
        # Server-side cursor on PostgreSQL; SQLite's cursor reads lazily anyway.
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for part in result.partitions():
            for row in part:
                (agency, counter, day, channel, status, flags, weight, psu, vid, scores) = row[:10]
                details, comment = row[10] or {}, row[11]
                answers = dict(zip(layouts[vid], scores, strict=False))
                decoded = decode_flags(flags)
                yield [
                    agency,
                    counter,
                    _day(day),
                    channel,
                    channel == Channel.RECEIPT,
                    status,
                    ",".join(f.value for f in decoded) or None,
                    "; ".join(words(f) for f in decoded) or None,
                    weight,
                    psu,
                    *(
                        int(answers[k]) or None if k in answers else None
                        for k in definition.scale_items
                    ),
                    *(_detail(details.get(k)) for k in others),
                    comment,
                ]


def _detail(value):
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(neutralise(value))


def csv_chunks(rows: Iterator[list]) -> Iterator[str]:
    """Yield the rows as CSV text (UTF-8 with BOM) a chunk at a time, cells neutralised."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    for count, row in enumerate(rows, start=1):
        writer.writerow([_text(v) for v in row])
        if count % CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def file_chunks(handle, size: int = 1 << 16) -> Iterator[bytes]:
    """Yield a file's bytes a block at a time, and close it (a temporary file: then gone)."""
    try:
        while block := handle.read(size):
            yield block
    finally:
        handle.close()


def raw_headers(definition: Definition, locale: str) -> dict[str, str]:
    """Return words for each column code: the fixed columns' and each question's text."""
    words = {code: str(text) for code, text in HEADERS.items()}
    for key, question in definition.questions.items():
        if "text" in question and key not in definition.summarised_as("text"):
            words[key] = f"{key}. {definition.text(question['text'], locale)}"
    return words


def write_xlsx(rows: Iterator[list], headers: dict[str, str]):
    """Write the rows to a temporary XLSX file (write-only: row by row) and return it, rewound.

    The first row holds `headers` (words for the codes), the second the codes; both frozen.
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Phiếu trả lời")
    sheet.freeze_panes = "A3"
    codes = next(rows)
    sheet.append([neutralise(headers.get(c, c)) for c in codes])
    sheet.append(codes)
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    out = tempfile.TemporaryFile(suffix=".xlsx")
    book.save(out)
    out.seek(0)
    return out
