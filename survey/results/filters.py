"""The results request (filters) checked in one place, and what the results pages show of it."""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.flags import Flag, decode_flags
from survey.models import Agency, Channel, Questionnaire, Response, ResponseStatus
from survey.timeutil import day_number

DESIGNS = ("srs", "cluster")
PERIODS = ("month", "quarter", "year")
# A period of "all" (or none) makes the whole date range one period.
WHOLE_RANGE = "all"


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

    def query(self, **changes) -> dict:
        """Return this request as URL arguments (with `changes`)."""
        request = replace(self, **changes)
        args = {
            "questionnaire": request.questionnaire,
            "period": request.period or WHOLE_RANGE,
            "design": request.design,
            "confidence": request.confidence,
        }
        if request.date_from:
            args["from"] = request.date_from.isoformat()
        if request.date_to:
            args["to"] = request.date_to.isoformat()
        return args


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
) -> ResultsRequest:
    """Check the filters given as text (None: the default) and return them as one request.

    This is the only place the filters are validated; a bad one raises FilterError naming it.
    """
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
    )


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
    )


def visible_rows(report: dict, visible_codes: set[str]) -> list[dict]:
    """Keep the rows of the agencies the user may see, and the all-agencies row."""
    return [r for r in report["rows"] if r["agency"] == "*" or r["agency"] in visible_codes]


def latest_period(rows: list[dict]) -> str | None:
    """Return the last period that has rows."""
    periods = sorted({r["period"] for r in rows})
    return periods[-1] if periods else None


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
        .where(
            Questionnaire.slug == filters.questionnaire,
            Response.status == "valid",
            Response.agency_id.in_(agency_ids),
        )
    )
    if filters.date_from:
        query = query.where(Response.local_day >= day_number(filters.date_from))
    if filters.date_to:
        query = query.where(Response.local_day <= day_number(filters.date_to))
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
    """An agency's responses by whether they count, with the reasons for those left out."""

    counted: int = 0
    flagged: int = 0
    excluded: int = 0
    receipt: int = 0  # counted responses from a verified receipt link (case-management software)
    staff_link: int = 0  # counted responses from a receipt link a member of staff made
    reasons: Counter = field(default_factory=Counter)  # Flag -> flagged or excluded responses

    @property
    def left_out(self) -> int:
        """Return how many responses the indices leave out (flagged or excluded)."""
        return self.flagged + self.excluded

    def share(self, part: int) -> float | None:
        """Return `part` as a percentage of the counted responses (None when there are none)."""
        return 100 * part / self.counted if self.counted else None

    def add(self, other: "TrustCounts") -> None:
        """Add `other`'s counts to these."""
        self.counted += other.counted
        self.flagged += other.flagged
        self.excluded += other.excluded
        self.receipt += other.receipt
        self.staff_link += other.staff_link
        self.reasons.update(other.reasons)


def trust_counts(
    session: Session, filters: ResultsRequest, agency_ids: set[int]
) -> dict[int, TrustCounts]:
    """Return, per agency, how many responses count, were flagged or excluded (and why), and how
    many counted ones came through verified and staff-made receipt links; one grouped query."""
    if not agency_ids:
        return {}
    query = (
        select(Response.agency_id, Response.status, Response.channel, Response.flags, func.count())
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Questionnaire.slug == filters.questionnaire, Response.agency_id.in_(agency_ids))
    )
    if filters.date_from:
        query = query.where(Response.local_day >= day_number(filters.date_from))
    if filters.date_to:
        query = query.where(Response.local_day <= day_number(filters.date_to))
    query = query.group_by(Response.agency_id, Response.status, Response.channel, Response.flags)
    found: dict[int, TrustCounts] = {}
    for agency_id, status, channel, flags, n in session.execute(query):
        counts = found.setdefault(agency_id, TrustCounts())
        if status == ResponseStatus.VALID:
            counts.counted += n
            counts.receipt += n if channel == Channel.RECEIPT else 0
            counts.staff_link += n if channel == Channel.STAFF_LINK else 0
            continue
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
