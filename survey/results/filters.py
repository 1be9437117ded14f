"""What the results pages show: filters from the URL, the report rows a user may see, tables."""

from dataclasses import dataclass, replace
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.models import Agency, Channel, Questionnaire, Response
from survey.results.data import PERIODS, Selection
from survey.results.report import DESIGNS, ReportOptions
from survey.timeutil import day_number


class FilterError(ValueError):
    """A filter in the URL that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    """The results the user asked for."""

    questionnaire: str = "sipas-service"
    period: str | None = "quarter"
    design: str = "srs"
    date_from: date | None = None
    date_to: date | None = None
    confidence: float = 0.95

    def options(self, locale: str) -> ReportOptions:
        """Return the report options of these filters."""
        selection = Selection(self.questionnaire, self.date_from, self.date_to, self.period)
        return ReportOptions(
            selection, design=self.design, confidence=self.confidence, locale=locale
        )

    def query(self, **changes) -> dict:
        """Return these filters as URL arguments (with `changes`)."""
        filters = replace(self, **changes)
        args = {
            "questionnaire": filters.questionnaire,
            "period": filters.period or "all",
            "design": filters.design,
            "confidence": filters.confidence,
        }
        if filters.date_from:
            args["from"] = filters.date_from.isoformat()
        if filters.date_to:
            args["to"] = filters.date_to.isoformat()
        return args


def parse_filters(args, questionnaires: dict) -> Filters:
    """Read the filters from URL arguments, with a clear error for a bad one."""
    filters = Filters()
    slug = args.get("questionnaire", filters.questionnaire)
    if slug not in questionnaires:
        raise FilterError(_("Unknown questionnaire: %(q)s", q=slug))
    period = args.get("period", filters.period)
    if period in ("all", ""):
        period = None
    elif period not in PERIODS:
        raise FilterError(_("Unknown period: %(p)s", p=period))
    design = args.get("design", filters.design)
    if design not in DESIGNS:
        raise FilterError(_("Unknown design: %(d)s", d=design))
    dates = {}
    for name in ("from", "to"):
        text = args.get(name, "")
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise FilterError(_("'%(v)s' is not a date (YYYY-MM-DD)", v=text)) from exc
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        raise FilterError(_("The start date is after the end date."))
    try:
        confidence = float(args.get("confidence", filters.confidence))
    except ValueError as exc:
        raise FilterError(_("The confidence level must be a number such as 0.95.")) from exc
    if not 0.5 <= confidence < 1:
        raise FilterError(_("The confidence level must be at least 0.5 and below 1."))
    return Filters(slug, period, design, dates["from"], dates["to"], confidence)


def visible_rows(report: dict, visible_codes: set[str]) -> list[dict]:
    """Keep the rows of the agencies the user may see, and the all-agencies row."""
    return [r for r in report["rows"] if r["agency"] == "*" or r["agency"] in visible_codes]


def latest_period(rows: list[dict]) -> str | None:
    """Return the last period that has rows."""
    periods = sorted({r["period"] for r in rows})
    return periods[-1] if periods else None


def verified_shares(session: Session, filters: Filters, agency_ids: set[int]) -> dict[int, float]:
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


def agency_codes(session: Session, ids: set[int]) -> dict[str, int]:
    """Return {code: id} of the agencies with these ids."""
    if not ids:
        return {}
    return dict(session.execute(select(Agency.code, Agency.id).where(Agency.id.in_(ids))).all())
