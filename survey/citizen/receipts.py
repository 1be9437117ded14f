"""The citizen's side of receipt links: `/r/<signed>` opens the questionnaire for one dossier."""

from typing import NoReturn

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale

from survey import db
from survey.citizen.forms import form_class
from survey.citizen.nonces import issue_nonce
from survey.citizen.submission import Result, Target, receive
from survey.citizen.views import render_form
from survey.models import Counter
from survey.receipt_links import LinkExpired, LinkInvalid, read_link, response_for_dossier

bp = Blueprint("receipts", __name__)


def _refuse(template: str, status: int) -> NoReturn:
    """Stop the request with one of the receipt pages."""
    abort(current_app.make_response((render_template(template), status)))


def _open(signed: str) -> tuple[Counter, str]:
    """Return the counter and dossier hash of a genuine, fresh link, or stop with a clear page."""
    try:
        link = read_link(signed)
    except LinkExpired:
        _refuse("citizen/receipt_expired.html", 410)
    except LinkInvalid:
        _refuse("citizen/receipt_invalid.html", 404)
    counter = db.session().get(Counter, link.counter_id)
    if counter is None or not counter.active:
        abort(404, description="survey-code")
    return counter, link.dossier_hash


def _render(counter: Counter, signed: str, form, status=200, notice=None, definition=None):
    action = url_for("receipts.submit", signed=signed)
    return render_form(counter, form, status, notice, definition, form_action=action)


@bp.get("/r/<signed>")
def form(signed: str):
    """Show the counter's questionnaire for the dossier of a receipt link."""
    counter, hashed = _open(signed)
    if response_for_dossier(db.session(), hashed) is not None:
        _refuse("citizen/receipt_used.html", 409)
    definition = current_app.extensions["questionnaires"][counter.questionnaire_slug]
    form = form_class(definition, str(get_locale()))(
        formdata=None, nonce=issue_nonce(counter.id, counter.questionnaire_slug)
    )
    return _render(counter, signed, form)


@bp.post("/r/<signed>")
def submit(signed: str):
    """Store the dossier's one evaluation and send the citizen to the thank-you page."""
    counter, hashed = _open(signed)
    target = Target(
        # Checked active a moment ago by _open; a counter retired since takes nothing (the
        # guarded insert), and the next try of the link gets the 404 page.
        find_counter=lambda: counter,
        counter_id=counter.id,
        dossier_hash=hashed,
        channel=read_link(signed).channel,  # receipt (API) or staff-link (console)
    )
    outcome = receive(target, str(get_locale()))
    if outcome.result is Result.STORED:
        return redirect(url_for("citizen.thanks", token=counter.token), code=303)
    if outcome.result is Result.DOSSIER_USED:
        _refuse("citizen/receipt_used.html", 409)
    return _render(counter, signed, outcome.form, 422, outcome.notice, outcome.definition)
