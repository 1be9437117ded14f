"""Read responses from the database into the arrays `analysis/` works on.

A million responses are read with one query on the raw DB-API cursor; their `scores` strings
are joined into one buffer and viewed as an (n, K) uint8 array, so no ORM object is made.
"""

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analysis.data import Responses, Scheme
from survey.models import Agency, Counter, Questionnaire
from survey.questionnaires import Definition, check
from survey.timeutil import day_number

PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Selection:
    """Which responses an index computation reads."""

    slug: str = "sipas-service"
    date_from: date | None = None
    date_to: date | None = None
    period: str | None = None  # None: the whole range is one period
    include_flagged: bool = False


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
    return Scheme(
        item_keys=definition.scale_items,
        elements=dict(definition.elements),
        satisfied_min=thresholds.pop(),
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


def _version_layouts(engine: Engine, definition: Definition) -> dict[int, np.ndarray]:
    """Map each stored version's id to the column of each current item in its scores string."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Questionnaire.id, Questionnaire.version, Questionnaire.definition).where(
                Questionnaire.slug == definition.slug)
        ).all()
    layouts = {}
    for version_id, version, data in rows:
        items = check(data, f"{definition.slug} v{version}").scale_items
        # -1 marks an item the version did not ask: read as missing.
        layouts[version_id] = np.array(
            [items.index(k) if k in items else -1 for k in definition.scale_items])
    return layouts


def load_index_data(
    engine: Engine, definition: Definition, selection: Selection, with_details: bool = False
) -> IndexData:
    """Read the selected responses of `definition`'s questionnaire into analysis arrays."""
    layouts = _version_layouts(engine, definition)
    statuses = ("valid", "flagged") if selection.include_flagged else ("valid",)
    where = [f"questionnaire_id IN ({','.join(str(int(v)) for v in layouts) or 'NULL'})",
             f"status IN ({','.join(repr(s) for s in statuses)})"]
    params: list = []
    if selection.date_from:
        where.append("local_day >= %s")
        params.append(day_number(selection.date_from))
    if selection.date_to:
        where.append("local_day <= %s")
        params.append(day_number(selection.date_to))
    columns = "agency_id, counter_id, psu, weight, local_day, questionnaire_id, scores"
    if with_details:
        columns += ", details"
    sql = f"SELECT {columns} FROM responses WHERE {' AND '.join(where)} ORDER BY id"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.paramstyle == "qmark":  # sqlite3; psycopg takes %s
            sql = sql.replace("%s", "?")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        cursor.close()
    finally:
        raw.close()
    return _to_arrays(engine, definition, selection, layouts, rows, with_details)


def _to_arrays(engine, definition, selection, layouts, rows, with_details) -> IndexData:
    n, k = len(rows), len(definition.scale_items)
    columns = list(zip(*rows, strict=True)) if rows else [()] * (8 if with_details else 7)
    agency_ids = np.fromiter(columns[0], dtype=np.int64, count=n)
    counter_ids = np.fromiter(columns[1], dtype=np.int64, count=n)
    weight = np.fromiter(columns[3], dtype=np.float64, count=n)
    days = np.fromiter(columns[4], dtype=np.int64, count=n)
    version_ids = np.fromiter(columns[5], dtype=np.int64, count=n)
    scores = _scores(columns[6], version_ids, layouts, k)
    psu = _psu_codes(counter_ids, columns[2])
    agencies = _agencies(engine, definition.slug, agency_ids)
    agency_index = {a.id: i for i, a in enumerate(agencies)}
    lookup = np.zeros(max(agency_index, default=0) + 1, dtype=np.int64)
    for agency_id, index in agency_index.items():
        lookup[agency_id] = index
    period, labels = period_codes(days, selection.period)
    current = max(layouts, default=0)
    with engine.connect() as conn:
        version = conn.execute(
            select(Questionnaire.version).where(Questionnaire.content_hash == definition.content_hash)
        ).scalar() or (conn.execute(
            select(Questionnaire.version).where(Questionnaire.id == current)).scalar() or 0)
    responses = Responses(scores=scores, agency=lookup[agency_ids] if n else agency_ids,
                          psu=psu, weight=weight, period=period)
    details = None
    if with_details:
        # The raw cursor gives JSON text on SQLite and parsed objects on PostgreSQL.
        details = [json.loads(d) if isinstance(d, str) else (d or {}) for d in columns[7]]
    return IndexData(responses, scheme_of(definition), agencies, labels, version, details)


def _scores(strings, version_ids, layouts, k) -> np.ndarray:
    n = len(strings)
    if n == 0:
        return np.zeros((0, k), dtype=np.uint8)
    widths = {len(s) for s in strings[: min(n, 1000)]}
    same_layout = len(layouts) == 1 and np.array_equal(next(iter(layouts.values())), np.arange(k))
    if same_layout and widths == {k}:
        buffer = "".join(strings).encode("ascii")
        if len(buffer) == n * k:  # every string has the current width
            return (np.frombuffer(buffer, dtype=np.uint8).reshape(n, k) - 48).astype(np.uint8)
    # Mixed versions: place each version's columns where the current definition has them.
    out = np.zeros((n, k), dtype=np.uint8)
    for version_id, layout in layouts.items():
        rows = np.flatnonzero(version_ids == version_id)
        if not len(rows):
            continue
        width = max(len(strings[i]) for i in rows)
        raw = np.frombuffer(
            "".join(strings[i].ljust(width, "0") for i in rows).encode("ascii"), dtype=np.uint8
        ).reshape(len(rows), width) - 48
        for target, source in enumerate(layout):
            if source >= 0:
                out[rows, target] = raw[:, source]
    return out


def _psu_codes(counter_ids: np.ndarray, psus: tuple) -> np.ndarray:
    # The imported `psu` when given, else the counter: codes above every counter id.
    if not any(psus):
        return counter_ids.copy()
    codes = counter_ids.copy()
    offset = int(counter_ids.max(initial=0)) + 1
    names: dict[str, int] = {}
    for i, name in enumerate(psus):
        if name:
            codes[i] = offset + names.setdefault(name, len(names))
    return codes


def _agencies(engine: Engine, slug: str, agency_ids: np.ndarray) -> list[AgencyInfo]:
    """Agencies with responses in the selection or a counter using the questionnaire."""
    with engine.connect() as conn:
        with_counters = set(conn.execute(
            select(Counter.agency_id).where(Counter.questionnaire_slug == slug).distinct()
        ).scalars())
        wanted = with_counters | set(np.unique(agency_ids).tolist())
        rows = conn.execute(
            select(Agency.id, Agency.code, Agency.name_vi, Agency.name_en)
            .where(Agency.id.in_(wanted)).order_by(Agency.code)
        ).all() if wanted else []
    return [AgencyInfo(*row) for row in rows]
