"""Imports of agencies, counters and paper forms: all rows or none.

Every row is checked before anything is written; with any bad row nothing is stored and every
bad row is reported with its line number and reason. Given the file's name (`source`), an import
writes its audit entry in its own transaction: the entry is committed with the rows, so an
import that fails leaves none and one that is stored always has one.
"""

import math
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from survey.citizen.flagging import forget_counter_settings
from survey.codes import CodeError, check_code, code_key
from survey.console.audit import record_import
from survey.console.operations import StaffError, clean_burst_limit, clean_opening_hours
from survey.levels import CURRENT_LEVELS, FORMER_LEVELS, level_allowed
from survey.links import new_token
from survey.models import Agency, Channel, Counter, Response
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values
from survey.tables import Row, TableError, require_columns
from survey.timeutil import VIETNAM, to_utc_naive

COMMENT_LIMIT = 1000
# A paper form stands for at most this many citizens: the weights of a survey design are
# inverse selection probabilities, and a thousand is already far beyond any counter's day. A
# larger one (1e300) would make one form the whole province's index.
WEIGHT_MAX = 1000
# The platform's life: SIPAS evaluations of one-stop counters start with Decree 61/2018/NĐ-CP.
FIRST_DAY = date(2018, 1, 1)


class ImportRejected(ValueError):
    """A file with bad rows; `problems` lists (line number, reason)."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"line {n}: {reason}" for n, reason in problems))


def _setting(row: Row, column: str, clean, problems: list):
    """Return the cleaned value of an optional setting column, noting a bad one in `problems`."""
    try:
        return clean(row.cells.get(column, ""))
    except StaffError as error:
        problems.append((row.number, _("%(column)s: %(reason)s", column=column, reason=error)))
        return None


def too_long(model, column: str, value: str | None) -> str | None:
    """Return why `value` does not fit `model`'s text column (its declared length), or None.

    SQLite stores any length and PostgreSQL raises: the check is the same on both, before the
    database.
    """
    limit = getattr(model.__table__.c[column].type, "length", None)
    if value and limit and len(value) > limit:
        return _("%(column)s is longer than %(n)d characters", column=column, n=limit)
    return None


def _commit(session: Session, action: str, source: str | None, rows: int) -> None:
    """Commit the import's transaction, with its audit entry in it when `source` names the file."""
    if source is None:
        session.commit()
    else:
        # Adds the entry to the open transaction and commits both: one commit, or none.
        record_import(session, action, source, rows)


def _reject_extra_cells(rows: list[Row], problems: list) -> None:
    for row in rows:
        if "\0extra" in row.cells:
            problems.append((row.number, _("more cells than columns in the header")))
        for column, value in row.cells.items():
            # PostgreSQL refuses NUL in text (a raw traceback, before) and SQLite would keep it.
            if "\x00" in value and column != "\0extra":
                problems.append(
                    (row.number, _("%(column)s contains a NUL character", column=column))
                )


# ---------------------------------------------------------------- agencies


def import_agencies(
    session: Session, header: list[str], rows: list[Row], source: str | None = None
) -> tuple[int, int]:
    """Create or update agencies by code; return (created, updated).

    An `opening_hours` column is optional: an empty cell is the default hours; without the
    column, re-imported agencies keep theirs.
    """
    require_columns(header, ["code", "name_vi", "name_en", "level", "parent_code"])
    has_hours = "opening_hours" in header
    hours: dict[str, str | None] = {}
    problems: list[tuple[int, str]] = []
    _reject_extra_cells(rows, problems)
    existing = {code_key(a.code): a for a in session.scalars(select(Agency))}
    levels = CURRENT_LEVELS
    in_file: dict[str, Row] = {}
    parents: dict[str, str] = {}
    for row in rows:
        c = row.cells
        try:
            code = check_code(c["code"])
        except CodeError as error:
            problems.append((row.number, str(error)))
            continue
        if code in in_file:
            problems.append(
                (
                    row.number,
                    _(
                        "code %(code)s appears twice in the file (also line %(n)d)",
                        code=code,
                        n=in_file[code].number,
                    ),
                )
            )
            continue
        in_file[code] = row
        parents[code] = code_key(c["parent_code"])
        hours[code] = _setting(row, "opening_hours", clean_opening_hours, problems)
        if not c["name_vi"]:
            problems.append((row.number, _("name_vi (the Vietnamese name) is empty")))
        for column in ("name_vi", "name_en"):
            if reason := too_long(Agency, column, c[column]):
                problems.append((row.number, reason))
        before = existing[code].level if code in existing else None
        if c["level"] in FORMER_LEVELS and not level_allowed(c["level"], before):
            # An agency stored as a district may be imported again as it is, not a new one.
            problems.append(
                (
                    row.number,
                    _(
                        "level '%(v)s' no longer exists since 1 July 2025: only an agency "
                        "stored with it before keeps it",
                        v=c["level"],
                    ),
                )
            )
        elif not level_allowed(c["level"], before):
            problems.append(
                (
                    row.number,
                    _(
                        "level '%(v)s' is not one of %(ok)s",
                        v=c["level"],
                        ok=", ".join(sorted(levels)),
                    ),
                )
            )
    for code, row in in_file.items():
        parent = parents[code]
        if parent and parent not in in_file and parent not in existing:
            problems.append((row.number, _("parent_code %(p)s is not a known agency", p=parent)))
        if parent == code:
            problems.append((row.number, _("an agency cannot be its own parent")))
    if not problems:
        problems += _cycles(in_file, parents, existing)
    if problems:
        raise ImportRejected(sorted(problems))

    created = updated = 0
    by_code = dict(existing)
    for code, row in in_file.items():
        agency = by_code.get(code)
        if agency is None:
            agency = Agency(code=code)
            session.add(agency)
            by_code[code] = agency
            created += 1
        else:
            updated += 1
        agency.name_vi = row.cells["name_vi"]
        agency.name_en = row.cells["name_en"] or row.cells["name_vi"]
        agency.level = row.cells["level"]
        if has_hours:
            agency.opening_hours = hours[code]
    session.flush()
    for code, parent in parents.items():
        by_code[code].parent_id = by_code[parent].id if parent else None
    _commit(session, "import.agencies", source, created + updated)
    forget_counter_settings()
    return created, updated


def _cycles(
    in_file: dict[str, Row], parents: dict[str, str], existing: dict[str, Agency]
) -> list[tuple[int, str]]:
    parent_of = {
        code: (code_key(a.parent.code) if a.parent else "") for code, a in existing.items()
    }
    parent_of.update(parents)
    problems = []
    for code, row in in_file.items():
        seen, current = {code}, parent_of.get(code)
        while current:
            if current in seen:
                problems.append(
                    (row.number, _("the parent codes form a loop through %(c)s", c=code))
                )
                break
            seen.add(current)
            current = parent_of.get(current)
    return problems


# ---------------------------------------------------------------- counters


def import_counters(
    session: Session,
    header: list[str],
    rows: list[Row],
    questionnaires: dict[str, Definition],
    source: str | None = None,
) -> tuple[int, int]:
    """Create or update counters by code; return (created, updated).

    A `burst_limit` column is optional: an empty cell is the default limit; without the
    column, re-imported counters keep theirs.
    """
    require_columns(header, ["code", "agency_code", "name"])
    has_burst = "burst_limit" in header
    bursts: list[int | None] = []
    problems: list[tuple[int, str]] = []
    _reject_extra_cells(rows, problems)
    agencies = {code_key(a.code): a for a in session.scalars(select(Agency))}
    counters = {code_key(c.code): c for c in session.scalars(select(Counter))}
    seen: dict[str, int] = {}
    # Each good row's (counter code, agency code), normalised.
    codes: list[tuple[str, str]] = []
    for row in rows:
        c = row.cells
        try:
            code = check_code(c["code"])
        except CodeError as error:
            problems.append((row.number, str(error)))
            code = None
        if code in seen:
            problems.append(
                (
                    row.number,
                    _(
                        "code %(code)s appears twice in the file (also line %(n)d)",
                        code=code,
                        n=seen[code],
                    ),
                )
            )
        elif code:
            seen[code] = row.number
        agency_code = code_key(c["agency_code"])
        codes.append((code, agency_code))
        if agency_code not in agencies:
            problems.append(
                (
                    row.number,
                    _(
                        "agency_code %(a)s is not a known agency; import the agencies first",
                        a=c["agency_code"] or "''",
                    ),
                )
            )
        if not c["name"]:
            problems.append((row.number, _("the name is empty")))
        elif reason := too_long(Counter, "name", c["name"]):
            problems.append((row.number, reason))
        bursts.append(_setting(row, "burst_limit", clean_burst_limit, problems))
        slug = c.get("questionnaire", "")
        if slug and slug not in questionnaires:
            problems.append(
                (
                    row.number,
                    _(
                        "questionnaire %(q)s is not one of %(ok)s",
                        q=slug,
                        ok=", ".join(sorted(questionnaires)),
                    ),
                )
            )
    if problems:
        raise ImportRejected(sorted(problems))
    created = updated = 0
    for row, (code, agency_code), burst in zip(rows, codes, bursts, strict=True):
        c = row.cells
        counter = counters.get(code)
        if counter is None:
            counter = Counter(
                code=code, token=new_token(), active=True, questionnaire_slug="sipas-service"
            )
            session.add(counter)
            created += 1
        else:
            updated += 1
        counter.agency_id = agencies[agency_code].id
        counter.name = c["name"]
        if c.get("questionnaire"):
            counter.questionnaire_slug = c["questionnaire"]
        if has_burst:
            counter.burst_limit = burst
    _commit(session, "import.counters", source, created + updated)
    forget_counter_settings()
    return created, updated


# ---------------------------------------------------------------- paper forms


def parse_moment(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time; a time without offset is Vietnam's time."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        # A date alone: noon in Vietnam, so that it stays on that day in every time zone shown.
        return to_utc_naive(datetime(day.year, day.month, day.day, 12))
    return to_utc_naive(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _out_of_time(text: str, moment: datetime) -> str | None:
    """Return why a paper form's time is outside the platform's life, or None."""
    now = datetime.now(UTC)
    local = moment.replace(tzinfo=UTC).astimezone(VIETNAM)
    if local.date() < FIRST_DAY:
        return _(
            "submitted_at %(v)s is before %(first)s: the platform's surveys start with "
            "Decree 61/2018/NĐ-CP",
            v=text.strip(),
            first=FIRST_DAY.isoformat(),
        )
    # A date alone stands at noon: today's date is not in the future, whatever the hour.
    late = (
        local.date() > now.astimezone(VIETNAM).date()
        if len(text.strip()) == 10
        else (moment > now.replace(tzinfo=None) + timedelta(minutes=1))
    )
    if late:
        return _("submitted_at %(v)s is in the future (Vietnam time)", v=text.strip())
    return None


def check_paper_forms(
    session: Session, header: list[str], rows: list[Row], definition: Definition
) -> tuple[list[dict], list[tuple[int, str]]]:
    """Check paper-form rows; return (values ready to insert, problems)."""
    items = list(definition.scale_items)
    required_items = [k for k in items if definition.questions[k].get("required", True)]
    require_columns(header, ["counter", "submitted_at", *required_items])
    known = {"counter", "submitted_at", "weight", "psu", "comment", *items}
    unknown = [h for h in header if h and h not in known]
    if unknown:
        raise TableError(_("Unknown column(s): %(cols)s", cols=", ".join(unknown)))
    counters = {code_key(c.code): c for c in session.scalars(select(Counter))}
    maxima = definition.scale_top
    problems: list[tuple[int, str]] = []
    _reject_extra_cells(rows, problems)
    values = []
    for row in rows:
        c = row.cells
        mistakes = []
        counter = counters.get(code_key(c["counter"]))
        if counter is None:
            mistakes.append(_("counter %(c)s is not a known counter code", c=c["counter"] or "''"))
        elif counter.questionnaire_slug != definition.slug:
            mistakes.append(
                _(
                    "counter %(c)s uses questionnaire %(q)s, not %(d)s",
                    c=c["counter"],
                    q=counter.questionnaire_slug,
                    d=definition.slug,
                )
            )
        moment = None
        try:
            moment = parse_moment(c["submitted_at"])
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved to UTC
            mistakes.append(
                _(
                    "submitted_at '%(v)s' is not an ISO 8601 date or date-time "
                    "(e.g. 2026-03-31 or 2026-03-31T09:30)",
                    v=c["submitted_at"],
                )
            )
        if moment is not None and (reason := _out_of_time(c["submitted_at"], moment)):
            mistakes.append(reason)
        scores = {}
        for key in items:
            raw = c.get(key, "")
            if raw == "":
                scores[key] = None
            elif raw.isdigit() and 1 <= int(raw) <= maxima[key]:
                scores[key] = int(raw)
            else:
                mistakes.append(
                    _(
                        "%(k)s is '%(v)s': it must be a whole number from 1 to %(m)d, or empty",
                        k=key,
                        v=raw,
                        m=maxima[key],
                    )
                )
        weight = 1.0
        if c.get("weight"):
            try:
                weight = float(c["weight"])
                if not (0 < weight <= WEIGHT_MAX and math.isfinite(weight)):
                    raise ValueError
            except ValueError:
                mistakes.append(
                    _(
                        "weight '%(v)s' must be a number greater than 0 and at most %(max)d",
                        v=c["weight"],
                        max=WEIGHT_MAX,
                    )
                )
        psu = c.get("psu") or None
        if reason := too_long(Response, "psu", psu):
            mistakes.append(reason)
        comment = c.get("comment") or None
        if comment and len(comment) > COMMENT_LIMIT:
            mistakes.append(_("the comment is longer than %(n)d characters", n=COMMENT_LIMIT))
        if mistakes:
            problems += [(row.number, m) for m in mistakes]
            continue
        values.append(
            response_values(
                definition,
                scores,
                channel=Channel.IMPORT,
                counter=counter,
                submitted_at=moment,
                weight=weight,
                psu=psu,
                comment=comment,
            )
        )
    return values, problems


def import_paper_forms(
    session: Session,
    header: list[str],
    rows: list[Row],
    definition: Definition,
    source: str | None = None,
) -> int:
    """Store every paper form of the file, or none; return how many were stored."""
    values, problems = check_paper_forms(session, header, rows, definition)
    if problems:
        raise ImportRejected(problems)
    if not values:
        raise TableError(_("The file has a header but no forms."))
    version_id = ensure_version(session, definition).id
    for value in values:
        value["questionnaire_id"] = version_id
    # One transaction, committed with the audit entry: with an error half-way (a full disk, a
    # lost connection) nothing stays, the caller rolls back. No savepoint: on SQLite (pysqlite
    # sends no BEGIN before it) releasing one commits, audit entry or not.
    session.execute(insert(Response), values)
    _commit(session, "import.responses", source, len(values))
    return len(values)
