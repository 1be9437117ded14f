"""The evaluators' pages: indices with confidence intervals, rankings, trends and downloads."""

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from survey import db
from survey.console.audit import clean_text, record_read
from survey.flags import LABELS
from survey.levels import level_label
from survey.permissions import (
    agency_or_404,
    is_admin,
    may_manage_anything,
    may_review,
    visible_agencies,
    visible_agency_ids,
)
from survey.results.cache import Cached, memo
from survey.results.charts import Item, Words, forest_plot, trend_chart
from survey.results.filters import (
    CAUTION,
    CHANNELS,
    COMMENTS_PER_PAGE,
    LEVELS,
    SUPPRESSED,
    FilterError,
    ResultsRequest,
    TrustCounts,
    agency_codes,
    channel_words,
    comments,
    parse_filters,
    period_request,
    period_words,
    published,
    reason_order,
    sort_rows,
    total_counts,
    usual_questionnaire,
)
from survey.results.raw import (
    csv_chunks,
    file_chunks,
    narrowed_ids,
    raw_headers,
    raw_rows,
    write_xlsx,
)
from survey.results.report import file_name, to_csv, to_json, to_xlsx
from survey.results.stored import agency_data, overview_data, report_file
from survey.results.wording import design_text, row_reason_text

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
        "reason_words": row_reason_text,
        "period_words": period_words,
        "design_words": design_text,
        "level_words": level_label,
        "channel_words": channel_words,
        "levels": LEVELS,
        "channels": CHANNELS,
        # The language switch keeps the filters of the page.
        "keep_args": urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "lang"])
        + ("&" if any(k != "lang" for k in request.args) else ""),
    }


@bp.errorhandler(FilterError)
def _bad_filter(error: FilterError):
    """Say which filter of the URL is wrong and why (400)."""
    return render_template("results/bad_filter.html", param=error.param, message=str(error)), 400


def _chart_file(chart, name: str, fmt: str) -> Response:
    """Return a chart as an SVG or PNG file to download."""
    if fmt == "svg":
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + str(chart.svg())
        mimetype = "image/svg+xml"
    elif fmt == "png":
        body, mimetype = chart.png(), "image/png"
    else:
        abort(404)
    disposition = f'attachment; filename="{name}.{fmt}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


def _log_download(action: str, name: str, args=None) -> None:
    """Record a download by the signed-in user, with the filters of its URL, in its own commit."""
    used = {
        k: clean_text(v) for k, v in (request.args if args is None else args).items() if k != "lang"
    }
    record_read(db.session(), current_user, action, f"file:{name}", after={"filters": used})


def _filters(args=None):
    """Return the checked filters of the URL (FilterError: _bad_filter)."""
    return parse_filters(request.args if args is None else args, _questionnaires())


def _questionnaires() -> dict:
    return current_app.extensions["questionnaires"]


def _words(title: str, axis: str, filters, period: str | None) -> Words:
    """Return the words around a chart: its axis, and its caption (design, level, period)."""
    return Words(
        title=title,
        axis=axis,
        caption=_(
            "Design: %(d)s; confidence level %(c)s%%; period: %(p)s.",
            d=design_text(filters.design),
            c=f"{filters.confidence * 100:g}",
            p=period_words(period),
        ),
        caution=_("(caution)"),
        left_out=_("Not published (too few responses or too wide an interval): "),
        period_axis=_("Period"),
    )


def _split(rows: list[dict], label) -> tuple[list[Item], list[str]]:
    """Return the chart items of the rows that may be published, and the names of the others."""
    items = [
        Item(label(r), r["estimate"], r["ci_low"], r["ci_high"], r["status"] == CAUTION)
        for r in rows
        if r["status"] != SUPPRESSED and r["estimate"] is not None
    ]
    left_out = [label(r) for r in rows if r["status"] == SUPPRESSED or r["estimate"] is None]
    return items, left_out


@dataclass(frozen=True)
class _Overview:
    """The overview asked for: its filters, language, the user's agencies and its stored data."""

    filters: ResultsRequest
    locale: str
    ids: set[int]
    stored: Cached


def _overview() -> _Overview:
    """Return the overview this request asks for, with its stored result for the user's agencies."""
    filters = _filters()
    locale = str(get_locale())
    definition = _questionnaires()[filters.questionnaire]
    ids = visible_agency_ids(current_user)
    return _Overview(filters, locale, ids, overview_data(definition, filters, locale, ids))


def overview_page(asked: _Overview) -> dict:
    """Return what the overview shows: the rows of the period shown, sorted, and its chart."""
    filters, locale, stored = asked.filters, asked.locale, asked.stored
    data = stored.value
    report, codes, period = data["report"], data["codes"], data["period"]
    periods = sorted({r["period"] for r in report["rows"]})
    raw = [r for r in report["rows"] if r["period"] == period]
    # Verified, staff-link, flagged and excluded responses: of the period the table shows.
    trust = data["trust"]
    by_code = {code: trust[i] for code, i in codes.items() if i in trust} | {
        "*": total_counts(trust)
    }
    by_share = {code: data["shares"].get(i) for code, i in codes.items()}
    service = sort_rows(
        [published(r) for r in raw], filters, {c: {"verified": v} for c, v in by_share.items()}
    )
    items, left_out = _split(service, lambda r: r["agency_name"] or r["agency"])
    chart = forest_plot(
        items,
        _words(
            _("Service index by agency"),
            _(
                "Service index (%%) and its %(c)s%% confidence interval",
                c=f"{filters.confidence * 100:g}",
            ),
            filters,
            period,
        ),
        left_out,
    )
    return {
        "filters": filters,
        "report": report,
        "period": period,
        "periods": periods,
        "rows": service,
        "shares": by_share,
        "trust": by_code,
        "left_out": [
            (r, by_code[r["agency"]]) for r in service if by_code.get(r["agency"], NONE).left_out
        ],
        "charts": {"forest": chart},
        "agency_choices": [(a.code, a.name(locale)) for a in visible_agencies(current_user)],
        "rate_table": data["rate_table"],
        "freshness": stored,
    }


@bp.get("/")
@login_required
def overview():
    """Show each visible agency's service index, its interval, rank and change.

    The page's content is rendered once per stored result and set of URL arguments (500
    agencies make a large table and chart); the layout around it is rendered per request.
    """
    asked = _overview()
    parts = {
        "computed_at": asked.stored.computed_at.isoformat(),
        "fresh": asked.stored.fresh,
        "args": sorted(request.args.items(multi=True)),
        "locale": asked.locale,
        "role": current_user.role,
        "agencies": sorted(asked.ids),
    }
    body = memo(
        "overview-html",
        parts,
        lambda: render_template(
            "results/_overview_body.html",
            **overview_page(asked),
            questionnaires=_questionnaires(),
            locale=asked.locale,
        ),
    )
    return render_template("results/overview.html", body=Markup(body))


@bp.get("/chart/<name>.<fmt>")
@login_required
def overview_chart(name: str, fmt: str):
    """Download a chart of the overview (forest) as SVG or PNG."""
    page = overview_page(_overview())
    if name not in page["charts"] or fmt not in ("svg", "png"):
        abort(404)
    file = f"{name}_{page['period'] or 'all'}"
    _log_download("download.chart", f"{file}.{fmt}")
    return _chart_file(page["charts"][name], file, fmt)


def agency_page(code: str) -> dict:
    """Return what an agency's page shows: its rows, charts, counters and comments."""
    found = agency_or_404(current_user, code)
    questionnaires = current_app.extensions["questionnaires"]
    args = request.args
    if "questionnaire" not in args:  # the questionnaire its counters use
        usual = usual_questionnaire(db.results_session(), found.id, questionnaires)
        if usual:
            args = args.copy()
            args["questionnaire"] = usual
    filters = _filters(args)
    locale = str(get_locale())
    definition = questionnaires[filters.questionnaire]
    stored = agency_data(definition, filters, locale, found)
    data = stored.value
    report, period = data["report"], data["period"]
    mine = [published(r) for r in report["rows"] if r["agency"] == found.code]
    periods = sorted({r["period"] for r in mine})
    latest = [r for r in mine if r["period"] == period]
    labels = key_labels(definition, locale)
    level = f"{filters.confidence * 100:g}"
    trend_items, trend_out = _split(
        [r for r in mine if r["level"] == "service"], lambda r: period_words(r["period"])
    )
    elements = [r for r in latest if r["level"] == "element"]
    profile_items, profile_out = _split(
        elements, lambda r: f"{r['key']}. {labels.get(r['key'], '')}"
    )
    charts = {
        "trend": trend_chart(
            trend_items,
            _words(_("Service index over time"), _("Service index (%%)"), filters, None),
            trend_out,
        ),
        "profile": forest_plot(
            profile_items,
            _words(
                _("The five elements"),
                _("Element index (%%) and its %(c)s%% confidence interval", c=level),
                filters,
                period,
            ),
            profile_out,
        ),
    }
    shown = period_request(filters, period)
    found_comments, total = comments(db.results_session(), shown, found.id)
    return {
        "trust": data["trust"],
        "verified": data["verified"],
        "agency": found,
        "filters": filters,
        "report": report,
        "period": period,
        "periods": periods,
        "rows": latest,
        "charts": charts,
        "counters": data["counters"],
        "rate_table": data["rate_table"],
        "freshness": stored,
        "comments": found_comments,
        "comments_total": total,
        "comment_pages": max(1, -(-total // COMMENTS_PER_PAGE)),
        "locale": locale,
        "labels": labels,
    }


@bp.get("/agency/<code>")
@login_required
def agency(code: str):
    """Show one agency's elements and criteria, its trend, counters and latest comments."""
    return render_template(
        "results/agency.html",
        **agency_page(code),
        questionnaires=current_app.extensions["questionnaires"],
    )


@bp.get("/agency/<code>/chart/<name>.<fmt>")
@login_required
def agency_chart(code: str, name: str, fmt: str):
    """Download a chart of an agency's page (trend, profile) as SVG or PNG."""
    page = agency_page(code)
    if name not in page["charts"] or fmt not in ("svg", "png"):
        abort(404)
    file = f"{name}_{page['agency'].code}_{page['period']}"
    _log_download("download.chart", f"{file}.{fmt}")
    return _chart_file(page["charts"][name], file, fmt)


@bp.get("/download.<fmt>")
@login_required
def download(fmt: str):
    """Download the rows this user may see as CSV, XLSX or JSON (suppressed: no numbers)."""
    if fmt not in DOWNLOADS:
        abort(404)
    filters = _filters()
    definition = _questionnaires()[filters.questionnaire]
    codes = set(agency_codes(db.results_session(), visible_agency_ids(current_user)))
    mimetype, render = DOWNLOADS[fmt]
    stored = report_file(definition, filters, str(get_locale()), codes, fmt, render)
    name = file_name("chi-so-hai-long", filters, fmt)
    _log_download("download.results", name)
    return Response(stored.value, mimetype=mimetype, headers=_attachment(name) | stored.headers())


def _attachment(name: str) -> dict:
    """Return the header that makes `name` (ASCII: codes and dates) the file's name."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@bp.get("/responses.<fmt>")
@login_required
def responses(fmt: str):
    """Download the raw responses (anonymised) of the agencies this user may see: CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    questionnaires = current_app.extensions["questionnaires"]
    filters = parse_filters(request.args, questionnaires)  # FilterError: _bad_filter
    definition = questionnaires[filters.questionnaire]
    # Managers: their agencies only, whatever the URL asks (evaluators and admins: all).
    ids = narrowed_ids(db.session(), filters, visible_agency_ids(current_user))
    rows = raw_rows(db.engine(), definition, filters, ids, lambda flag: str(LABELS[flag]))
    name = file_name("phieu-tra-loi", filters, fmt)
    # Logged as the file is handed over: a stream that breaks later was still taken.
    _log_download("download.responses", name)
    if fmt == "csv":
        return Response(
            stream_with_context(csv_chunks(rows)),
            mimetype="text/csv; charset=utf-8",
            headers=_attachment(name),
        )
    headers = raw_headers(definition, str(get_locale()))
    return Response(
        file_chunks(write_xlsx(rows, headers)),
        mimetype=DOWNLOADS["xlsx"][0],
        headers=_attachment(name),
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
