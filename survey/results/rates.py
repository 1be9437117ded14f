"""Response rates: receipt links issued per dossier, how many were answered, and the rate.

A receipt link is issued for one dossier, so the platform knows how many citizens were offered
a form (survey/receipt_links.py stores each dossier once, in `receipt_links`). A link counts in
the range when it was issued on one of its days (Vietnam's calendar); it is answered when a
response with its dossier hash exists, whenever it came and whatever its review status: the rate
measures who answered, the indices decide what counts. Links from the case-management software
(API, verified) give the rate; links made by staff are counted apart, since staff can make one
for any dossier, made up or not, and answer it themselves.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.models import Agency, Counter, IssuedReceiptLink, Response
from survey.results.filters import ResultsRequest
from survey.timeutil import to_utc_naive


@dataclass
class LinkCounts:
    """Links issued and answered."""

    issued: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        """Return the share of issued links answered, in percent (None when none was issued)."""
        return 100 * self.answered / self.issued if self.issued else None

    def add(self, issued: int, answered: int) -> None:
        """Add links to these counts."""
        self.issued += issued
        self.answered += answered


@dataclass
class RateRow:
    """The links of an agency or a counter: verified (API) ones give the rate, staff ones apart."""

    verified: LinkCounts = field(default_factory=LinkCounts)
    staff: LinkCounts = field(default_factory=LinkCounts)

    def count(self, origin: str) -> LinkCounts:
        """Return the counts of links of `origin` ("api" or "staff")."""
        return self.verified if origin == "api" else self.staff


@dataclass
class ResponseRates:
    """Issued and answered links per agency and per counter, and for all of them together."""

    agencies: dict[int, RateRow] = field(default_factory=dict)
    counters: dict[int, RateRow] = field(default_factory=dict)
    total: RateRow = field(default_factory=RateRow)


def _bounds(request: ResultsRequest):
    """Return the UTC moments that start the first day and follow the last (None: open)."""

    def start(day) -> datetime:
        return to_utc_naive(datetime(day.year, day.month, day.day))

    low = start(request.date_from) if request.date_from else None
    high = start(request.date_to + timedelta(days=1)) if request.date_to else None
    return low, high


def response_rates(
    session: Session, request: ResultsRequest, agency_ids: set[int]
) -> ResponseRates:
    """Return the links issued in `request`'s date range for these agencies, and how many of
    them were answered, per agency and per counter; one grouped query."""
    found = ResponseRates()
    if not agency_ids:
        return found
    link = IssuedReceiptLink
    query = (
        select(link.agency_id, link.counter_id, link.origin, func.count(), func.count(Response.id))
        .outerjoin(Response, Response.dossier_hash == link.dossier_hash)
        .where(link.agency_id.in_(agency_ids))
        .group_by(link.agency_id, link.counter_id, link.origin)
    )
    low, high = _bounds(request)
    if low is not None:
        query = query.where(link.issued_at >= low)
    if high is not None:
        query = query.where(link.issued_at < high)
    for agency_id, counter_id, origin, issued, answered in session.execute(query):
        for row in (
            found.agencies.setdefault(agency_id, RateRow()),
            found.counters.setdefault(counter_id, RateRow()),
            found.total,
        ):
            row.count(origin).add(issued, answered)
    return found


@dataclass(frozen=True)
class RateTable:
    """What the response-rate partial shows: a row per agency or counter, and their total."""

    rows: list[tuple[str, RateRow]]
    total: RateRow
    per_counter: bool


def agency_rate_table(
    session: Session, request: ResultsRequest, agency_ids: set[int], locale: str
) -> RateTable:
    """Return the response rates of these agencies, by agency (the overview)."""
    rates = response_rates(session, request, agency_ids)
    agencies = (
        session.scalars(select(Agency).where(Agency.id.in_(rates.agencies)).order_by(Agency.code))
        if rates.agencies
        else []
    )
    rows = [(a.name(locale), rates.agencies[a.id]) for a in agencies]
    return RateTable(rows, rates.total, per_counter=False)


def counter_rate_table(session: Session, request: ResultsRequest, agency: Agency) -> RateTable:
    """Return one agency's response rates, by counter (the agency page)."""
    rates = response_rates(session, request, {agency.id})
    counters = (
        session.scalars(
            select(Counter).where(Counter.id.in_(rates.counters)).order_by(Counter.code)
        )
        if rates.counters
        else []
    )
    rows = [(f"{c.code} · {c.name}", rates.counters[c.id]) for c in counters]
    return RateTable(rows, rates.total, per_counter=True)
