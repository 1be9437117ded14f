"""The results request (filters) checked in one place, and what the results pages show of it."""

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.codes import CodeError, check_code
from survey.flags import Flag, decode_flags
from survey.models import (
    Agency,
    AgencyLevel,
    Channel,
    Questionnaire,
    Response,
    ResponseStatus,
)
from survey.models import Counter as CounterRow
from survey.timeutil import day_number

DESIGNS = ("srs", "cluster")
PERIODS = ("month", "quarter", "year")
# A period of "all" (or none) makes the whole date range one period.
WHOLE_RANGE = "all"
# How a period of each kind is labelled in the rows ("2026-05", "2026-Q2", "2026").
PERIOD_LABELS = {
    "month": re.compile(r"\d{4}-(0[1-9]|1[0-2])"),
    "quarter": re.compile(r"\d{4}-Q[1-4]"),
    "year": re.compile(r"\d{4}"),
}
# The overview's sortable columns (URL value -> what a row is sorted by) and orders.
SORTS = ("agency", "index", "interval", "responses", "rank", "change", "verified", "status")
ORDERS = ("asc", "desc")
CHANNELS = tuple(c.value for c in Channel)
LEVELS = tuple(level.value for level in AgencyLevel)


class FilterError(ValueError):
    """A filter that cannot be used; `param` is its URL name (`from`, `design`, ...)."""

    def __init__(self, param: str, message: str):
        self.param = param
        super().__init__(message)


@dataclass(frozen=True)
class ResultsRequest:
    """The results asked for, from the pages, the downloads, the API or `flask indices`."""

    questionnaire: str = "sipas-service"
    design: str = "srs"
    date_from: date | None = None
    date_to: date | None = None
    period: str | None = None  # None: the whole range is one period
    confidence: float = 0.95
    include_flagged: bool = False
    poststrata: Path | None = None
    level: str | None = None  # only agencies of this level
    parent: str | None = None  # only this agency (code) and the agencies below it
    channels: tuple[str, ...] = ()  # only responses that came this way (none: every way)
    verified_only: bool = False  # only responses from verified receipt links
    shown: str | None = None  # the period a page shows ("2026-Q1"; None: the latest)
    sort: str | None = None  # the overview's column to sort by (None: index, best first)
    order: str = "desc"
    page: int = 1  # the page of comments

    def query(self, **changes) -> dict:
        """Return this request as URL arguments (with `changes`); the comment page is dropped."""
        request = replace(self, **{"page": 1, **changes})
        args = {
            "questionnaire": request.questionnaire,
            "period": request.period or WHOLE_RANGE,
            "design": request.design,
            "confidence": request.confidence,
        }
        optional = {
            "from": request.date_from.isoformat() if request.date_from else None,
            "to": request.date_to.isoformat() if request.date_to else None,
            "level": request.level,
            "parent": request.parent,
            "channel": list(request.channels) or None,
            "verified": "1" if request.verified_only else None,
            "shown": request.shown,
            "sort": request.sort,
            "order": request.order if request.sort else None,
            "page": request.page if request.page != 1 else None,
        }
        return args | {k: v for k, v in optional.items() if v is not None}

    def kept_channels(self) -> tuple[str, ...] | None:
        """Return the channels whose responses count (None: every channel)."""
        if self.verified_only:
            return tuple(c for c in (self.channels or CHANNELS) if c == Channel.RECEIPT)
        return self.channels or None


def _date(param: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise FilterError(
            param, _("%(name)s: '%(v)s' is not a date (YYYY-MM-DD)", name=param, v=text)
        ) from exc


def results_request(
    questionnaires: dict,
    *,
    questionnaire: str | None = None,
    design: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    period: str | None = None,
    confidence: str | float | None = None,
    include_flagged: bool = False,
    poststrata: Path | None = None,
    level: str | None = None,
    parent: str | None = None,
    channels: list[str] | tuple[str, ...] | None = None,
    verified_only: str | bool | None = None,
    shown: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    page: str | int | None = None,
) -> ResultsRequest:
    """Check the filters given as text (None: the default) and return them as one request.

    This is the only place the filters are validated; a bad one raises FilterError naming it.
    """
    level_filter = level
    default = ResultsRequest()
    questionnaire = default.questionnaire if questionnaire is None else questionnaire
    if questionnaire not in questionnaires:
        raise FilterError(
            "questionnaire",
            _(
                "Unknown questionnaire: %(q)s (known: %(known)s)",
                q=questionnaire,
                known=", ".join(sorted(questionnaires)),
            ),
        )
    design = default.design if design is None else design
    if design not in DESIGNS:
        raise FilterError("design", _("Unknown design: %(d)s", d=design))
    if period in (None, "", WHOLE_RANGE):
        period = None
    elif period not in PERIODS:
        raise FilterError(
            "period", _("Unknown period: %(p)s (month, quarter, year or all)", p=period)
        )
    first, last = _date("from", date_from), _date("to", date_to)
    if first and last and first > last:
        raise FilterError(
            "from",
            _(
                "The start date (from, %(a)s) is after the end date (to, %(b)s).",
                a=first.isoformat(),
                b=last.isoformat(),
            ),
        )
    try:
        level = default.confidence if confidence is None else float(confidence)
    except ValueError as exc:
        raise FilterError(
            "confidence", _("The confidence level must be a number such as 0.95.")
        ) from exc
    if not 0.5 <= level < 1:
        raise FilterError("confidence", _("The confidence level must be at least 0.5 and below 1."))
    return ResultsRequest(
        questionnaire=questionnaire,
        design=design,
        date_from=first,
        date_to=last,
        period=period,
        confidence=level,
        include_flagged=include_flagged,
        poststrata=poststrata,
        **_scope(level_name=level_filter, parent=parent, channels=channels, verified=verified_only),
        **_view(period=period, shown=shown, sort=sort, order=order, page=page),
    )


def _scope(*, level_name, parent, channels, verified) -> dict:
    """Check the filters that choose agencies and channels."""
    if level_name in (None, ""):
        level_name = None
    elif level_name not in LEVELS:
        raise FilterError(
            "level",
            _(
                "Unknown agency level: %(v)s (known: %(known)s)",
                v=level_name,
                known=", ".join(LEVELS),
            ),
        )
    if parent in (None, ""):
        parent = None
    else:
        try:
            parent = check_code(parent)
        except CodeError as exc:
            raise FilterError("parent", _("Parent agency: %(e)s", e=str(exc))) from exc
    wanted = tuple(dict.fromkeys(c for c in (channels or ()) if c))
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise FilterError(
            "channel",
            _(
                "Unknown channel: %(v)s (known: %(known)s)",
                v=", ".join(unknown),
                known=", ".join(CHANNELS),
            ),
        )
    if verified in (None, "", False, "0"):
        verified = False
    elif verified in (True, "1", "on", "true"):
        verified = True
    else:
        raise FilterError("verified", _("verified: '%(v)s' must be 1 or 0", v=verified))
    return {
        "level": level_name,
        "parent": parent,
        "channels": tuple(c for c in CHANNELS if c in wanted),
        "verified_only": verified,
    }


def _view(*, period, shown, sort, order, page) -> dict:
    """Check what a page shows of the results: the period, the sort order, the comment page."""
    if shown in (None, ""):
        shown = None
    elif period is None or not PERIOD_LABELS[period].fullmatch(shown):
        example = {"month": "2026-05", "quarter": "2026-Q2", "year": "2026"}.get(period, "")
        raise FilterError(
            "shown",
            _("Period shown: '%(v)s' is not a period of this kind (e.g. %(e)s)", v=shown, e=example)
            if example
            else _("Period shown: the whole range is one period; choose no period to show."),
        )
    if sort in (None, ""):
        sort = None
    elif sort not in SORTS:
        raise FilterError(
            "sort",
            _("Unknown sort column: %(v)s (known: %(known)s)", v=sort, known=", ".join(SORTS)),
        )
    order = order or ("asc" if sort in ("agency", "rank") else "desc")
    if order not in ORDERS:
        raise FilterError("order", _("The order must be asc or desc, not '%(v)s'.", v=order))
    try:
        number = 1 if page in (None, "") else int(page)
    except ValueError as exc:
        raise FilterError(
            "page", _("The page must be a whole number, not '%(v)s'.", v=page)
        ) from exc
    if not 1 <= number <= 100_000:
        raise FilterError("page", _("The page must be a whole number, not '%(v)s'.", v=page))
    return {"shown": shown, "sort": sort, "order": order, "page": number}


def parse_filters(args, questionnaires: dict) -> ResultsRequest:
    """Read the request from URL arguments (the pages, downloads and API); periods: quarters."""
    return results_request(
        questionnaires,
        questionnaire=args.get("questionnaire"),
        design=args.get("design"),
        date_from=args.get("from"),
        date_to=args.get("to"),
        period=args.get("period", "quarter"),
        confidence=args.get("confidence"),
        level=args.get("level"),
        parent=args.get("parent"),
        channels=args.getlist("channel") if hasattr(args, "getlist") else args.get("channel"),
        verified_only=args.get("verified"),
        shown=args.get("shown"),
        sort=args.get("sort"),
        order=args.get("order"),
        page=args.get("page"),
    )


def visible_rows(report: dict, visible_codes: set[str]) -> list[dict]:
    """Keep the rows of the agencies the user may see, and the all-agencies row."""
    return [r for r in report["rows"] if r["agency"] == "*" or r["agency"] in visible_codes]


def latest_period(rows: list[dict]) -> str | None:
    """Return the last period that has rows."""
    periods = sorted({r["period"] for r in rows})
    return periods[-1] if periods else None


def agency_scope(connection, request: ResultsRequest) -> set[int] | None:
    """Return the ids of the agencies the level and parent filters keep (None: every agency).

    `connection` is a Session or a Connection; an unknown parent agency is a FilterError.
    """
    if request.level is None and request.parent is None:
        return None
    rows = connection.execute(select(Agency.id, Agency.parent_id, Agency.code, Agency.level)).all()
    kept = {r.id for r in rows if request.level is None or r.level == request.level}
    if request.parent is not None:
        top = next((r.id for r in rows if r.code.upper() == request.parent), None)
        if top is None:
            raise FilterError(
                "parent", _("Parent agency: no agency has the code %(c)s.", c=request.parent)
            )
        children: dict[int | None, list[int]] = {}
        for r in rows:
            children.setdefault(r.parent_id, []).append(r.id)
        below, todo = set(), [top]
        while todo:
            current = todo.pop()
            if current not in below:  # a loop in bad data must not hang the request
                below.add(current)
                todo.extend(children.get(current, ()))
        kept &= below
    return kept


def scope_conditions(connection, request: ResultsRequest) -> list[str]:
    """Return the SQL conditions on `responses` of the agency and channel filters.

    They hold only ids and channel names checked against the known ones, never raw input.
    """
    conditions = []
    scope = agency_scope(connection, request)
    if scope is not None:
        conditions.append(
            f"agency_id IN ({','.join(str(int(i)) for i in sorted(scope)) or 'NULL'})"
        )
    channels = request.kept_channels()
    if channels is not None:
        safe = [c for c in channels if c in CHANNELS]
        conditions.append(f"channel IN ({','.join(repr(c) for c in safe) or 'NULL'})")
    return conditions


def _narrowed(
    query,
    session: Session,
    filters: ResultsRequest,
    agency_ids: set[int],
    every_questionnaire: bool = False,
):
    """Add the questionnaire, days, agencies and channels of `filters` to a responses query
    (every questionnaire's responses when `every_questionnaire`)."""
    scope = agency_scope(session, filters)
    if scope is not None:
        agency_ids = agency_ids & scope
    query = query.where(Response.agency_id.in_(agency_ids))
    if not every_questionnaire:
        query = query.where(Questionnaire.slug == filters.questionnaire)
    if filters.date_from:
        query = query.where(Response.local_day >= day_number(filters.date_from))
    if filters.date_to:
        query = query.where(Response.local_day <= day_number(filters.date_to))
    channels = filters.kept_channels()
    if channels is not None:
        query = query.where(Response.channel.in_(channels))
    return query


def verified_shares(
    session: Session, filters: ResultsRequest, agency_ids: set[int]
) -> dict[int, float]:
    """Return, per agency, the share of responses tied to a dossier receipt (verified)."""
    query = (
        select(
            Response.agency_id,
            func.count(),
            func.sum(case((Response.channel == Channel.RECEIPT, 1), else_=0)),
        )
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.status == "valid")
    )
    query = _narrowed(query, session, filters, agency_ids)
    rows = session.execute(query.group_by(Response.agency_id)).all()
    return {agency: 100 * (verified or 0) / total for agency, total, verified in rows if total}


def period_request(filters: ResultsRequest, label: str | None) -> ResultsRequest:
    """Return `filters` narrowed to the days of period `label` ("2026-05", "2026-Q2", "2026")."""
    first = last = None
    if label and label != WHOLE_RANGE:
        year, _dash, rest = label.partition("-")
        if not rest:
            first, last = date(int(year), 1, 1), date(int(year), 12, 31)
        else:
            months = (
                (3 * int(rest[1:]) - 2, 3 * int(rest[1:])) if rest.startswith("Q") else (int(rest),)
            )
            first = date(int(year), months[0], 1)
            after = date(int(year) + months[-1] // 12, months[-1] % 12 + 1, 1)
            last = after - timedelta(days=1)
    if first is None:
        return filters
    return replace(
        filters,
        date_from=max(first, filters.date_from or first),
        date_to=min(last, filters.date_to or last),
    )


@dataclass
class TrustCounts:
    """An agency's responses by whether they count, with the reasons for those left out, and
    by the channel they came through (the channel mix beside its index)."""

    counted: int = 0
    flagged: int = 0
    excluded: int = 0
    receipt: int = 0  # counted responses from a verified receipt link (case-management software)
    staff_link: int = 0  # counted responses from a receipt link a member of staff made
    reasons: Counter = field(default_factory=Counter)  # Flag -> flagged or excluded responses
    # Channel -> responses received through it, whether they count, were flagged or excluded.
    received: Counter = field(default_factory=Counter)
    # Channel -> responses through it that were flagged or excluded.
    left_out_by_channel: Counter = field(default_factory=Counter)
    # The same two, over every questionnaire: the kiosk asks the quick one whatever the
    # counter's poster asks, and its share of the agency's responses is of all of them.
    every_received: Counter = field(default_factory=Counter)
    every_left_out: Counter = field(default_factory=Counter)

    @property
    def left_out(self) -> int:
        """Return how many responses the indices leave out (flagged or excluded)."""
        return self.flagged + self.excluded

    @property
    def total(self) -> int:
        """Return every response received: counted, flagged or excluded."""
        return self.counted + self.flagged + self.excluded

    def share(self, part: int) -> float | None:
        """Return `part` as a percentage of the counted responses (None when there are none)."""
        return 100 * part / self.counted if self.counted else None

    def channel_share(self, channel: str) -> float | None:
        """Return the percentage of every response received that came through `channel`."""
        return 100 * self.received[channel] / self.total if self.total else None

    def channel_left_out_share(self, channel: str) -> float | None:
        """Return the percentage of `channel`'s responses flagged or excluded (None: none came)."""
        n = self.received[channel]
        return 100 * self.left_out_by_channel[channel] / n if n else None

    @property
    def every_total(self) -> int:
        """Return every response received, to every questionnaire."""
        return sum(self.every_received.values())

    @property
    def kiosk(self) -> int:
        """Return the responses tapped on the counter's tablet (kiosk), to every questionnaire."""
        return self.every_received[Channel.KIOSK]

    @property
    def kiosk_left_out(self) -> int:
        """Return the kiosk's responses (every questionnaire) flagged or excluded."""
        return self.every_left_out[Channel.KIOSK]

    @property
    def kiosk_share(self) -> float | None:
        """Return the kiosk's percentage of every response received (every questionnaire)."""
        total = self.every_total
        return 100 * self.kiosk / total if total else None

    @property
    def kiosk_left_out_share(self) -> float | None:
        """Return the percentage of the kiosk's responses flagged or excluded."""
        return 100 * self.kiosk_left_out / self.kiosk if self.kiosk else None

    def channel_mix(self) -> list[tuple[str, int, float | None, int]]:
        """Return (channel, responses received, % of all, flagged or excluded) of every channel."""
        return [
            (c, self.received[c], self.channel_share(c), self.left_out_by_channel[c])
            for c in CHANNELS
        ]

    def add(self, other: "TrustCounts") -> None:
        """Add `other`'s counts to these."""
        self.counted += other.counted
        self.flagged += other.flagged
        self.excluded += other.excluded
        self.receipt += other.receipt
        self.staff_link += other.staff_link
        self.reasons.update(other.reasons)
        self.received.update(other.received)
        self.left_out_by_channel.update(other.left_out_by_channel)
        self.every_received.update(other.every_received)
        self.every_left_out.update(other.every_left_out)


def trust_counts(
    session: Session, filters: ResultsRequest, agency_ids: set[int]
) -> dict[int, TrustCounts]:
    """Return, per agency, how many responses count, were flagged or excluded (and why), how
    many counted ones came through verified and staff-made receipt links, and how many came
    through each channel (and of those, how many were left out), to the questionnaire asked
    and to every questionnaire; one grouped query."""
    if not agency_ids:
        return {}
    query = select(
        Response.agency_id,
        Questionnaire.slug,
        Response.status,
        Response.channel,
        Response.flags,
        func.count(),
    ).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
    query = _narrowed(query, session, filters, agency_ids, every_questionnaire=True).group_by(
        Response.agency_id, Questionnaire.slug, Response.status, Response.channel, Response.flags
    )
    found: dict[int, TrustCounts] = {}
    for agency_id, slug, status, channel, flags, n in session.execute(query):
        counts = found.setdefault(agency_id, TrustCounts())
        counts.every_received[channel] += n
        if status != ResponseStatus.VALID:
            counts.every_left_out[channel] += n
        if slug != filters.questionnaire:
            continue
        counts.received[channel] += n
        if status == ResponseStatus.VALID:
            counts.counted += n
            counts.receipt += n if channel == Channel.RECEIPT else 0
            counts.staff_link += n if channel == Channel.STAFF_LINK else 0
            continue
        counts.left_out_by_channel[channel] += n
        if status == ResponseStatus.FLAGGED:
            counts.flagged += n
        elif status == ResponseStatus.EXCLUDED:
            counts.excluded += n
        for flag in decode_flags(flags):
            counts.reasons[flag] += n
    return found


def total_counts(counts: dict[int, TrustCounts]) -> TrustCounts:
    """Return the sum of every agency's counts (the all-agencies row)."""
    total = TrustCounts()
    for one in counts.values():
        total.add(one)
    return total


def reason_order(counts: TrustCounts) -> list[tuple[Flag, int]]:
    """Return (flag, responses) of `counts`' reasons, most frequent first."""
    return sorted(counts.reasons.items(), key=lambda item: (-item[1], list(Flag).index(item[0])))


def agency_codes(session: Session, ids: set[int]) -> dict[str, int]:
    """Return {code: id} of the agencies with these ids."""
    if not ids:
        return {}
    return dict(session.execute(select(Agency.code, Agency.id).where(Agency.id.in_(ids))).all())


@dataclass(frozen=True)
class Comment:
    """A citizen's free-text comment, with where and when it was left (Vietnam's day)."""

    id: int
    day: date
    counter: str
    channel: str
    text: str


COMMENTS_PER_PAGE = 20


def comments(
    session: Session, filters: ResultsRequest, agency_id: int
) -> tuple[list[Comment], int]:
    """Return the page `filters.page` of an agency's counted comments, newest first, and how many
    there are in all."""
    base = _narrowed(
        select(Response.id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.status == ResponseStatus.VALID, Response.comment.is_not(None))
        .where(func.trim(Response.comment) != ""),
        session,
        filters,
        {agency_id},
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = (
        base.with_only_columns(
            Response.id, Response.local_day, CounterRow.code, Response.channel, Response.comment
        )
        .join(CounterRow, CounterRow.id == Response.counter_id)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(COMMENTS_PER_PAGE)
        .offset(COMMENTS_PER_PAGE * (filters.page - 1))
    )
    found = [
        Comment(rid, date(day // 10000, day // 100 % 100, day % 100), code, channel, text)
        for rid, day, code, channel, text in session.execute(query)
    ]
    return found, total


# What a suppressed row may not show as a number: every estimate, interval and what comes of it.
UNPUBLISHED = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "mean_score",
    "deff",
    "rank_low",
    "rank_high",
    "change",
    "change_ci_low",
    "change_ci_high",
    "change_significant",
)
SUPPRESSED = "suppressed"
CAUTION = "caution"


def published(row: dict) -> dict:
    """Return `row` as the pages and charts may show it: a suppressed row without its numbers."""
    if row["status"] != SUPPRESSED:
        return row
    return row | dict.fromkeys(UNPUBLISHED)


_STATUS_ORDER = {"ok": 0, CAUTION: 1, SUPPRESSED: 2}


def sort_rows(rows: list[dict], request: ResultsRequest, extra: dict[str, dict]) -> list[dict]:
    """Return published rows sorted as `request` asks; the all-agencies row first, rows with no
    value last in both orders. `extra` holds per agency code the `verified` share."""

    def value(row: dict):
        column = request.sort or "index"
        if column == "agency":
            return (row["agency_name"] or row["agency"]).casefold()
        if column == "status":
            return _STATUS_ORDER.get(row["status"], 3)
        if column == "verified":
            return extra.get(row["agency"], {}).get("verified")
        return {
            "index": row["estimate"],
            "interval": None
            if row["ci_low"] is None or row["ci_high"] is None
            else row["ci_high"] - row["ci_low"],
            "responses": row["n"],
            "rank": row["rank_low"],
            "change": row["change"],
        }[column]

    everyone = [r for r in rows if r["agency"] == "*"]
    known = [r for r in rows if r["agency"] != "*" and value(r) is not None]
    unknown = [r for r in rows if r["agency"] != "*" and value(r) is None]
    known.sort(key=value, reverse=request.order == "desc")
    unknown.sort(key=lambda r: (r["agency_name"] or r["agency"]).casefold())
    return everyone + known + unknown


def period_words(label: str | None) -> str:
    """Return a period label ("2026-Q2", "2026-05", "2026", "all") in the reader's language."""
    if not label or label == WHOLE_RANGE:
        return _("whole range")
    year, _dash, rest = label.partition("-")
    if not rest:
        return _("year %(y)s", y=year)
    if rest.startswith("Q"):
        return _("%(y)s-Q%(q)s", y=year, q=rest[1:])
    return _("%(y)s-%(m)s", y=year, m=rest)


def channel_words(channel: str) -> str:
    """Return the name of a channel in words."""
    return {
        "qr": _("QR poster"),
        "receipt": _("receipt link (verified)"),
        "staff-link": _("link made by staff"),
        "import": _("paper import"),
        "kiosk": _("counter tablet (kiosk)"),
    }.get(channel, channel)


def counter_counts(
    session: Session, filters: ResultsRequest, agency_id: int
) -> list[tuple[str, str, bool, int]]:
    """Return (code, name, active, counted responses in `filters`) of each counter of an agency."""
    counted = _narrowed(
        select(Response.counter_id, func.count())
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.status == ResponseStatus.VALID),
        session,
        filters,
        {agency_id},
    ).group_by(Response.counter_id)
    numbers = dict(session.execute(counted).all())
    counters = session.execute(
        select(CounterRow.id, CounterRow.code, CounterRow.name, CounterRow.active)
        .where(CounterRow.agency_id == agency_id)
        .order_by(CounterRow.code)
    )
    return [(code, name, active, numbers.get(cid, 0)) for cid, code, name, active in counters]


def usual_questionnaire(session: Session, agency_id: int, known: dict) -> str | None:
    """Return the questionnaire most of an agency's active counters use (None: no counter)."""
    slugs = Counter(
        session.scalars(
            select(CounterRow.questionnaire_slug).where(
                CounterRow.agency_id == agency_id, CounterRow.active.is_(True)
            )
        )
    )
    usual = [slug for slug, _n in slugs.most_common() if slug in known]
    return usual[0] if usual else None
