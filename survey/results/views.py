"""The evaluators' pages: indices with confidence intervals, rankings, trends and downloads."""

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from survey import db
from survey.flags import LABELS
from survey.permissions import (
    agency_or_404,
    is_admin,
    may_manage_anything,
    may_review,
    visible_agency_ids,
)
from survey.results.charts import forest_plot, trend_chart
from survey.results.filters import (
    FilterError,
    TrustCounts,
    agency_codes,
    latest_period,
    parse_filters,
    period_request,
    reason_order,
    total_counts,
    trust_counts,
    verified_shares,
    visible_rows,
)
from survey.results.report import build_report, to_csv, to_json, to_xlsx

bp = Blueprint("results", __name__, url_prefix="/results")
NONE = TrustCounts()

DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "json": ("application/json", to_json),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}


@bp.context_processor
def _menu():
    return {
        "is_admin": is_admin(current_user),
        "manages": may_manage_anything(current_user),
        "reviews": may_review(current_user),
        "flag_labels": LABELS,
        "reason_order": reason_order,
    }


@bp.errorhandler(FilterError)
def _bad_filter(error: FilterError):
    """Say which filter of the URL is wrong and why (400)."""
    return render_template("results/bad_filter.html", param=error.param, message=str(error)), 400


def _report():
    """Return (filters, report with only the rows this user may see, codes -> ids)."""
    questionnaires = current_app.extensions["questionnaires"]
    filters = parse_filters(request.args, questionnaires)  # FilterError: _bad_filter
    ids = visible_agency_ids(current_user)
    codes = agency_codes(db.session(), ids)
    report = build_report(
        db.engine(), questionnaires[filters.questionnaire], filters, str(get_locale())
    )
    report["rows"] = visible_rows(report, set(codes))
    return filters, report, codes


@bp.get("/")
@login_required
def overview():
    """Show each visible agency's service index, its interval, rank and change."""
    filters, report, codes = _report()
    period = latest_period(report["rows"])
    service = [r for r in report["rows"] if r["period"] == period and r["level"] == "service"]
    service.sort(key=lambda r: (r["agency"] == "*", -(r["estimate"] or -1)))
    # Verified, staff-link, flagged and excluded responses: of the period the table shows.
    shown = period_request(filters, period)
    shares = verified_shares(db.session(), shown, set(codes.values()))
    trust = trust_counts(db.session(), shown, set(codes.values()))
    by_code = {code: trust[i] for code, i in codes.items() if i in trust} | {
        "*": total_counts(trust)
    }
    chart = forest_plot(
        [
            {
                "label": r["agency_name"] or r["agency"],
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "muted": r["status"] != "ok",
            }
            for r in service
        ]
    )
    return render_template(
        "results/overview.html",
        filters=filters,
        report=report,
        period=period,
        rows=service,
        shares={code: shares.get(i) for code, i in codes.items()},
        trust=by_code,
        left_out=[
            (r, by_code[r["agency"]]) for r in service if by_code.get(r["agency"], NONE).left_out
        ],
        chart=chart,
        questionnaires=current_app.extensions["questionnaires"],
        locale=str(get_locale()),
    )


@bp.get("/agency/<code>")
@login_required
def agency(code: str):
    """Show one agency's elements and criteria, and its service index over time."""
    found = agency_or_404(current_user, code)
    filters, report, _codes = _report()
    mine = [r for r in report["rows"] if r["agency"] == found.code]
    period = latest_period(mine)
    latest = [r for r in mine if r["period"] == period]
    trend = [r for r in mine if r["level"] == "service"]
    chart = trend_chart(
        [
            {
                "label": r["period"],
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
            }
            for r in trend
        ]
    )
    locale = str(get_locale())
    definition = current_app.extensions["questionnaires"][filters.questionnaire]
    shown = period_request(filters, period)
    trust = trust_counts(db.session(), shown, {found.id}).get(found.id)
    return render_template(
        "results/agency.html",
        trust=trust,
        verified=verified_shares(db.session(), shown, {found.id}).get(found.id),
        agency=found,
        filters=filters,
        report=report,
        period=period,
        rows=latest,
        trend=trend,
        chart=chart,
        locale=locale,
        labels=key_labels(definition, locale),
    )


@bp.get("/download.<fmt>")
@login_required
def download(fmt: str):
    """Download the rows this user may see as CSV, XLSX or JSON."""
    if fmt not in DOWNLOADS:
        abort(404)
    filters, report, _codes = _report()
    mimetype, render = DOWNLOADS[fmt]
    name = f"sipas-{filters.questionnaire}-{filters.design}.{fmt}"
    return Response(
        render(report),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def key_labels(definition, locale: str) -> dict[str, str]:
    """Return the text of each element and criterion key of a questionnaire."""
    labels = {}
    for section in definition.data["sections"]:
        if section.get("element"):
            labels[section["key"]] = definition.text(section["title"], locale)
    for key in definition.scale_items:
        labels[key] = definition.text(definition.questions[key]["text"], locale)
    return labels
