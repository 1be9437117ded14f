"""Read responses from the database into the arrays `analysis/` works on.

A million responses are read with one query on the raw DB-API cursor; their `scores` strings
are joined into one buffer and viewed as an (n, K) uint8 array, so no ORM object is made.
"""

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analysis.data import Responses, Scheme
from survey.models import Agency, Counter, Questionnaire
from survey.questionnaires.loading import Definition, check
from survey.results.filters import PERIODS, ResultsRequest, agency_scope, scope_conditions
from survey.timeutil import day_number


@dataclass(frozen=True)
class AgencyInfo:
    """An agency's code and names, for the output rows."""

    id: int
    code: str
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class IndexData:
    """The arrays for `analysis`, with the labels that name their codes."""

    responses: Responses
    scheme: Scheme
    agencies: list[AgencyInfo]
    periods: list[str]
    version: int
    # Per response, the answers that are not scores (demographics), only when asked for.
    details: list[dict] | None = None


def scheme_of(definition: Definition) -> Scheme:
    """Return the analysis scheme of a questionnaire definition."""
    thresholds = set(definition.satisfied_min.values())
    if len(thresholds) != 1:
        raise ValueError(f"{definition.slug}: scale items must share one satisfied_min")
    top = definition.max_score
    return Scheme(
        item_keys=definition.scale_items,
        elements=dict(definition.elements),
        satisfied_min=thresholds.pop(),
        max_score=top,
    )


def period_codes(days: np.ndarray, period: str | None) -> tuple[np.ndarray, list[str]]:
    """Map YYYYMMDD day numbers to period codes (in time order) and their labels."""
    if period is None:
        return np.zeros(len(days), dtype=np.int64), ["all"]
    year, month = days // 10000, (days // 100) % 100
    if period == "month":
        keys = year * 100 + month
    elif period == "quarter":
        keys = year * 10 + (month - 1) // 3 + 1
    elif period == "year":
        keys = year
    else:
        raise ValueError(f"period must be one of {PERIODS}")
    unique, codes = np.unique(keys, return_inverse=True)
    labels = {
        "month": lambda k: f"{k // 100}-{k % 100:02d}",
        "quarter": lambda k: f"{k // 10}-Q{k % 10}",
        "year": str,
    }[period]
    return codes.astype(np.int64), [labels(int(k)) for k in unique]


def _version_layouts(
    engine: Engine, definition: Definition
) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Map each stored version's id to where each current item sits in its scores, and its width."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Questionnaire.id, Questionnaire.version, Questionnaire.definition).where(
                Questionnaire.slug == definition.slug
            )
        ).all()
    layouts, widths = {}, {}
    for version_id, version, data in rows:
        items = check(data, f"{definition.slug} v{version}", strict=False).scale_items
        # -1 marks an item the version did not ask: read as missing.
        layouts[version_id] = np.array(
            [items.index(k) if k in items else -1 for k in definition.scale_items]
        )
        widths[version_id] = len(items)
    return layouts, widths


@dataclass
class _Columns:
    """The selected responses as arrays, in each version's own scores layout."""

    agency_ids: np.ndarray
    counter_ids: np.ndarray
    version_ids: np.ndarray
    days: np.ndarray
    weight: np.ndarray
    psu: np.ndarray  # bytes, b"" where none
    raw_scores: np.ndarray  # (n, widest version) digits, 0 = missing
    details: list[dict] | None = None


def load_index_data(
    engine: Engine,
    definition: Definition,
    selection: ResultsRequest,
    with_details: bool = False,
    agency_ids: set[int] | None = None,
) -> IndexData:
    """Read the responses `selection` asks for of `definition`'s questionnaire into arrays.

    `agency_ids`, when given, reads those agencies only (an agency's own page).
    """
    layouts, widths = _version_layouts(engine, definition)
    statuses = ("valid", "flagged") if selection.include_flagged else ("valid",)
    # "+questionnaire_id" keeps SQLite from walking the index row by row: a plain scan of the
    # table is faster when most rows match (PostgreSQL's planner decides for itself).
    versions = ",".join(str(int(v)) for v in layouts) or "NULL"
    where = [
        f"+questionnaire_id IN ({versions})"
        if engine.dialect.name == "sqlite"
        else f"questionnaire_id IN ({versions})",
        f"status IN ({','.join(repr(s) for s in statuses)})",
    ]
    with engine.connect() as conn:  # the agency level, parent agency and channel filters
        where += scope_conditions(conn, selection)
    if agency_ids is not None:
        where.append(
            f"agency_id IN ({','.join(str(int(i)) for i in sorted(agency_ids)) or 'NULL'})"
        )
    params: list = []
    if selection.date_from:
        where.append("local_day >= %s")
        params.append(day_number(selection.date_from))
    if selection.date_to:
        where.append("local_day <= %s")
        params.append(day_number(selection.date_to))
    width = max(widths.values(), default=len(definition.scale_items))
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite" and not with_details:
            columns = _fetch_packed(raw, " AND ".join(where).replace("%s", "?"), params, width)
        else:
            if engine.dialect.paramstyle == "qmark":
                where = [w.replace("%s", "?") for w in where]
            columns = _fetch_columns(raw, " AND ".join(where), params, width, with_details)
    finally:
        raw.close()
    return _to_index_data(engine, definition, selection, layouts, columns, agency_ids)


def _agencies_in_scope(engine: Engine, selection: ResultsRequest, agencies: list) -> list:
    """Keep the agencies the level and parent filters choose."""
    with engine.connect() as conn:
        scope = agency_scope(conn, selection)
    return agencies if scope is None else [a for a in agencies if a.id in scope]


def _run(raw, sql: str, params: list) -> list[tuple]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


# Fixed widths of the packed row: agency, counter, version ids, day, weight, psu, scores.
_PACK = ((0, 10), (10, 20), (20, 30), (30, 38), (38, 63), (63, 123))
_SCORES_AT = 123


def _fetch_packed(raw, where: str, params: list, width: int) -> _Columns:
    """Read each row as one fixed-width string and cut the columns out of one numpy buffer.

    A million 7-value tuples cost seconds to build and transpose in Python; a million strings
    joined into one buffer cost a fraction of that.
    """
    zeros = "0" * width
    sql = (
        "SELECT printf('%010d%010d%010d%08d%25.15e%-60s', agency_id, counter_id, "
        f"questionnaire_id, local_day, weight, coalesce(psu, '')) || substr(scores || '{zeros}', "
        f"1, {width}) FROM responses WHERE {where}"
    )
    rows = _run(raw, sql, params)
    n, row_width = len(rows), _SCORES_AT + width
    if n == 0:
        return _empty(width)
    buffer = np.frombuffer("".join(r[0] for r in rows).encode("utf-8"), dtype=np.uint8)
    if buffer.size != n * row_width:  # a non-ASCII psu: fall back to the plain columns
        return _fetch_columns(raw, where, params, width, False)
    table = buffer.reshape(n, row_width)

    def number(lo: int, hi: int) -> np.ndarray:
        digits = table[:, lo:hi].astype(np.int64) - 48
        return digits @ (10 ** np.arange(hi - lo - 1, -1, -1, dtype=np.int64))

    def text(lo: int, hi: int) -> np.ndarray:
        return np.ascontiguousarray(table[:, lo:hi]).view(f"S{hi - lo}").ravel()

    return _Columns(
        agency_ids=number(*_PACK[0]),
        counter_ids=number(*_PACK[1]),
        version_ids=number(*_PACK[2]),
        days=number(*_PACK[3]),
        weight=text(*_PACK[4]).astype(np.float64),
        psu=_psu_column(table[:, _PACK[5][0] : _PACK[5][1]]),
        raw_scores=table[:, _SCORES_AT:] - 48,
    )


def _psu_column(cells: np.ndarray) -> np.ndarray:
    """Return the packed rows' psu names, stripped; all empty at once when none was imported."""
    if not (cells != 32).any():  # only spaces: stripping a million names would take 0.2 s
        return np.zeros(len(cells), dtype="S1")
    return np.char.strip(np.ascontiguousarray(cells).view(f"S{cells.shape[1]}").ravel())


def _fetch_columns(raw, where: str, params: list, width: int, with_details: bool) -> _Columns:
    """Read the columns plainly (PostgreSQL, or when demographics are needed)."""
    extra = ", details" if with_details else ""
    rows = _run(
        raw,
        "SELECT agency_id, counter_id, questionnaire_id, local_day, weight, psu, "
        f"scores{extra} FROM responses WHERE {where}",
        params,
    )
    if not rows:
        return _empty(width)
    columns = list(zip(*rows, strict=True))
    n = len(rows)
    scores = "".join(s.ljust(width, "0")[:width] for s in columns[6]).encode("ascii")
    details = None
    if with_details:
        # The raw cursor gives JSON text on SQLite and parsed objects on PostgreSQL.
        details = [json.loads(d) if isinstance(d, str) else (d or {}) for d in columns[7]]
    return _Columns(
        agency_ids=np.fromiter(columns[0], np.int64, n),
        counter_ids=np.fromiter(columns[1], np.int64, n),
        version_ids=np.fromiter(columns[2], np.int64, n),
        days=np.fromiter(columns[3], np.int64, n),
        weight=np.fromiter(columns[4], np.float64, n),
        psu=np.array([(p or "").encode() for p in columns[5]], dtype=object),
        raw_scores=np.frombuffer(scores, dtype=np.uint8).reshape(n, width) - 48,
        details=details,
    )


def _empty(width: int) -> _Columns:
    none = np.zeros(0, dtype=np.int64)
    return _Columns(
        none,
        none,
        none,
        none,
        np.zeros(0),
        np.zeros(0, dtype=object),
        np.zeros((0, width), dtype=np.uint8),
        [],
    )


def _to_index_data(
    engine, definition, selection, layouts, columns: _Columns, agency_ids: set[int] | None
) -> IndexData:
    scores = _scores(columns, layouts, len(definition.scale_items))
    psu = _psu_codes(columns.counter_ids, columns.psu)
    agencies = _agencies_in_scope(
        engine, selection, _agencies(engine, definition.slug, columns.agency_ids)
    )
    if agency_ids is not None:
        agencies = [a for a in agencies if a.id in agency_ids]
    lookup = np.zeros(max((a.id for a in agencies), default=0) + 1, dtype=np.int64)
    for index, agency in enumerate(agencies):
        lookup[agency.id] = index
    period, labels = period_codes(columns.days, selection.period)
    with engine.connect() as conn:
        version = (
            conn.execute(
                select(Questionnaire.version).where(
                    Questionnaire.slug == definition.slug,
                    Questionnaire.content_hash == definition.content_hash,
                )
            ).scalar()
            or 0
        )
    responses = Responses(
        scores=scores,
        agency=lookup[columns.agency_ids],
        psu=psu,
        weight=columns.weight,
        period=period,
    )
    return IndexData(responses, scheme_of(definition), agencies, labels, version, columns.details)


def _scores(columns: _Columns, layouts: dict[int, np.ndarray], k: int) -> np.ndarray:
    """Place each version's answers in the current definition's columns."""
    identity = np.arange(k)
    if all(len(layout) == k and np.array_equal(layout, identity) for layout in layouts.values()):
        return np.ascontiguousarray(columns.raw_scores[:, :k], dtype=np.uint8)
    out = np.zeros((len(columns.version_ids), k), dtype=np.uint8)
    for version_id, layout in layouts.items():
        rows = columns.version_ids == version_id
        for target, source in enumerate(layout):
            if source >= 0:
                out[rows, target] = columns.raw_scores[rows, source]
    return out


def _psu_codes(counter_ids: np.ndarray, psus: np.ndarray) -> np.ndarray:
    """Return the PSU of each response: its imported `psu` when given, else its counter."""
    given = np.flatnonzero(psus != b"")
    codes = counter_ids.copy()
    if len(given):
        # Imported PSU names get codes above every counter id, so the two never collide.
        _, index = np.unique(psus[given].astype(bytes), return_inverse=True)
        codes[given] = int(counter_ids.max(initial=0)) + 1 + index
    return codes


def _agencies(engine: Engine, questionnaire: str, agency_ids: np.ndarray) -> list[AgencyInfo]:
    """Agencies with responses in the selection or a counter using the questionnaire."""
    with engine.connect() as conn:
        with_counters = set(
            conn.execute(
                select(Counter.agency_id)
                .where(Counter.questionnaire_slug == questionnaire)
                .distinct()
            ).scalars()
        )
        wanted = with_counters | set(np.unique(agency_ids).tolist())
        rows = (
            conn.execute(
                select(Agency.id, Agency.code, Agency.name_vi, Agency.name_en)
                .where(Agency.id.in_(wanted))
                .order_by(Agency.code)
            ).all()
            if wanted
            else []
        )
    return [AgencyInfo(*row) for row in rows]
