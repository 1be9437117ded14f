"""The results the pages, downloads and API serve, each stored per data version (cache.py).

Each function names what its result depends on besides the data (the filters, the language, the
agencies it covers) and how to compute it. The pages use small results: the overview the service
rows only, an agency's page its own agency only (computed alone: it never computes the others).
Files are stored as the bytes handed out. A result made from another one asks for that one as it
is now (`stale_ok=False`), so that nothing older is ever stored as new.
"""

from collections.abc import Callable
from typing import Any

from survey import db
from survey.questionnaires.loading import Definition
from survey.results.cache import Cached, cached
from survey.results.filters import (
    ResultsRequest,
    agency_codes,
    counter_counts,
    latest_period,
    period_request,
    trust_counts,
    verified_shares,
    visible_rows,
)
from survey.results.rates import agency_rate_table, counter_rate_table
from survey.results.report import build_report, request_filters


def _parts(definition: Definition, filters: ResultsRequest, locale: str, **more) -> dict:
    """What a result depends on besides the data: questionnaire file, filters, language, more."""
    return {
        "questionnaire": definition.content_hash,
        "filters": request_filters(filters),
        "locale": locale,
        **more,
    }


def whole_report(
    definition: Definition, filters: ResultsRequest, locale: str, stale_ok: bool = True
) -> Cached:
    """Return the report of every agency (downloads, the API, the overview's rows)."""
    return cached(
        "report",
        _parts(definition, filters, locale),
        lambda: build_report(db.results_engine(), definition, filters, locale),
        stale_ok=stale_ok,
    )


def visible(report: dict, codes: set[str]) -> dict:
    """Return `report` with the rows of these agencies (and the all-agencies row) only."""
    return report | {"rows": visible_rows(report, codes)}


def report_file(
    definition: Definition,
    filters: ResultsRequest,
    locale: str,
    codes: set[str],
    kind: str,
    render: Callable[[dict], Any],
) -> Cached:
    """Return a download (`kind`: csv, xlsx, json) of the agencies `codes`, as its bytes."""

    def compute():
        report = whole_report(definition, filters, locale, stale_ok=False).value
        body = render(visible(report, codes))
        # Kept as the bytes handed out: an 8 MB text is not encoded again at every download.
        return body.encode("utf-8") if isinstance(body, str) else body

    return cached(
        f"file-{kind}", _parts(definition, filters, locale, agencies=sorted(codes)), compute
    )


def overview_data(
    definition: Definition, filters: ResultsRequest, locale: str, ids: set[int]
) -> Cached:
    """Return what the overview shows the user who sees agencies `ids`, from the database.

    The service rows of these agencies, the period shown and, for that period, each agency's
    verified share, counts of counted, flagged and excluded responses, and response rates.
    """

    def compute() -> dict:
        session = db.results_session()
        codes = agency_codes(session, ids)
        report = whole_report(definition, filters, locale, stale_ok=False).value
        service = [r for r in report["rows"] if r["level"] == "service"]
        report = visible(report | {"rows": service}, set(codes))
        period = filters.shown if filters.shown else latest_period(report["rows"])
        shown = period_request(filters, period)
        agency_ids = set(codes.values())
        return {
            "report": report,
            "codes": codes,
            "period": period,
            "shares": verified_shares(session, shown, agency_ids),
            "trust": trust_counts(session, shown, agency_ids),
            "rate_table": agency_rate_table(session, shown, agency_ids, locale),
        }

    parts = _parts(definition, filters, locale, shown=filters.shown, agencies=sorted(ids))
    return cached("overview", parts, compute)


def agency_data(definition: Definition, filters: ResultsRequest, locale: str, agency) -> Cached:
    """Return what an agency's page shows but its comments, from its own responses only."""

    def compute() -> dict:
        session = db.results_session()
        report = build_report(
            db.results_engine(), definition, filters, locale, agency_ids={agency.id}
        )
        period = filters.shown if filters.shown else latest_period(report["rows"])
        shown = period_request(filters, period)
        return {
            "report": report,
            "period": period,
            "trust": trust_counts(session, shown, {agency.id}).get(agency.id),
            "verified": verified_shares(session, shown, {agency.id}).get(agency.id),
            "counters": counter_counts(session, shown, agency.id),
            "rate_table": counter_rate_table(session, shown, agency),
        }

    parts = _parts(definition, filters, locale, shown=filters.shown, agency=agency.id)
    return cached("agency", parts, compute)
