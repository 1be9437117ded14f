"""Console pages for reviewing flagged responses: the list, and exclude or restore decisions."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import db
from survey.console import review_ops as reviews
from survey.console.blueprint import bp
from survey.flags import LABELS
from survey.permissions import may_decide, may_review, visible_agencies, visible_agency_ids


def _page(filters: reviews.ReviewFilters, error: reviews.ReviewFilterError | None = None):
    visible = visible_agency_ids(current_user)
    found = (
        reviews.review_page(db.session(), filters, visible)
        if error is None
        else reviews.ReviewPage([], 1, 1, 0)
    )
    return render_template(
        "console/review.html",
        filters=filters,
        args=request.args,
        error=error,
        page=found,
        agencies=visible_agencies(current_user),
        reasons=LABELS,
        states=reviews.STATES,
        may_restore=may_decide(current_user, "restore", "flagged"),
    ), (400 if error else 200)


@bp.get("/review")
def review():
    """List flagged (or excluded, or restored) responses by agency, counter, day and reason."""
    if not may_review(current_user):
        abort(403)
    try:
        filters = reviews.parse_review_filters(
            db.session(), request.args, visible_agency_ids(current_user)
        )
    except reviews.ReviewFilterError as error:
        return _page(reviews.ReviewFilters(), error)
    return _page(filters)


def _back() -> str:
    """Return the review list with the filters the decision was made under."""
    kept = {k: request.args[k] for k in reviews.FILTER_PARAMS if request.args.get(k)}
    return url_for(".review", **kept)


@bp.post("/review")
def review_decide():
    """Exclude or restore the selected responses; each decision goes into the audit log."""
    if not may_review(current_user):
        abort(403)
    decision = request.form.get("decision", "")
    if decision not in reviews.DECISIONS:
        flash(_("Choose whether to exclude or restore the selected responses."), "error")
        return redirect(_back(), code=303)
    try:
        ids = [int(v) for v in request.form.getlist("response")]
    except ValueError:
        abort(404)
    if not ids:
        flash(_("Select at least one response."), "error")
        return redirect(_back(), code=303)
    session = db.session()
    # Like any id in a URL: a response the user may not see is not found, for the whole batch.
    found = reviews.reviewable_or_none(session, ids, visible_agency_ids(current_user))
    if found is None:
        abort(404)
    if not all(may_decide(current_user, decision, r.status) for r in found):
        flash(
            _(
                "Managers may exclude flagged responses of their agencies but not restore them "
                "or undo a reviewer's decision: the responses rate their own agency. Ask an "
                "evaluator."
            ),
            "error",
        )
        abort(403)
    changed = reviews.decide(session, current_user, found, decision)
    if decision == "exclude":
        flash(_("%(n)d responses left out of the indices.", n=changed), "ok")
    else:
        flash(_("%(n)d responses put back into the indices.", n=changed), "ok")
    return redirect(_back(), code=303)
