"""The citizen's side of receipt links: `/r/<signed>` opens the questionnaire for one dossier."""

from typing import NoReturn

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale

from survey import db
from survey.citizen.forms import form_class
from survey.citizen.nonces import issue_nonce
from survey.citizen.rate_limits import HELD_BACK_PAGES
from survey.citizen.submission import Result, Target, hold_back, receive
from survey.citizen.views import outage_form, render_form
from survey.errors import DATABASE_UNAVAILABLE
from survey.models import Counter
from survey.receipt_links import (
    LinkExpired,
    LinkInvalid,
    ReceiptLink,
    read_link,
    response_for_dossier,
)

bp = Blueprint("receipts", __name__)


def _refuse(template: str, status: int) -> NoReturn:
    """Stop the request with one of the receipt pages."""
    abort(current_app.make_response((render_template(template), status)))


def _open(signed: str) -> tuple[Counter, ReceiptLink]:
    """Return the counter and what a genuine, fresh link says, or stop with a clear page."""
    try:
        link = read_link(signed)
    except LinkExpired:
        _refuse("citizen/receipt_expired.html", 410)
    except LinkInvalid:
        _refuse("citizen/receipt_invalid.html", 404)
    counter = db.session().get(Counter, link.counter_id)
    if counter is None or not counter.active:
        abort(404, description="survey-code")
    return counter, link


def _render(counter: Counter, signed: str, form, status=200, notice=None, definition=None):
    action = url_for("receipts.submit", signed=signed)
    return render_form(counter, form, status, notice, definition, form_action=action)


@bp.get("/r/<signed>")
def form(signed: str):
    """Show the counter's questionnaire for the dossier of a receipt link."""
    counter, link = _open(signed)
    if response_for_dossier(db.session(), link.dossier_hash) is not None:
        _refuse("citizen/receipt_used.html", 409)
    # Not kept like a poster's blank page: each link's page is opened once or twice.
    definition = current_app.extensions["questionnaires"][counter.questionnaire_slug]
    form = form_class(definition, str(get_locale()))(
        formdata=None, nonce=issue_nonce(counter.id, counter.questionnaire_slug)
    )
    return _render(counter, signed, form)


@bp.post("/r/<signed>")
def submit(signed: str):
    """Store the dossier's one evaluation and send the citizen to the thank-you page."""
    try:
        return _submit(signed)
    except DATABASE_UNAVAILABLE as error:
        action = url_for("receipts.submit", signed=signed)
        return outage_form(error, None, form_action=action)


def _submit(signed: str):
    counter, link = _open(signed)
    target = Target(
        # Checked active a moment ago by _open; a counter retired since takes nothing (the
        # guarded insert), and the next try of the link gets the 404 page.
        find_counter=lambda: counter,
        counter_id=counter.id,
        dossier_hash=link.dossier_hash,
        channel=link.channel,  # receipt (API) or staff-link (console)
    )
    outcome = receive(target, str(get_locale()))
    if outcome.result is Result.STORED:
        return redirect(url_for("citizen.thanks", token=counter.token), code=303)
    if outcome.result is Result.DOSSIER_USED:
        _refuse("citizen/receipt_used.html", 409)
    return _render(
        counter, signed, outcome.form, outcome.status, outcome.notice, outcome.definition
    )


def held_back(signed: str):
    """Show a receipt form sent over the rate limit again, with its answers."""
    counter, _link = _open(signed)
    outcome = hold_back(Target(find_counter=lambda: counter), str(get_locale()))
    return _render(
        counter, signed, outcome.form, outcome.status, outcome.notice, outcome.definition
    )


HELD_BACK_PAGES["receipts.submit"] = held_back
