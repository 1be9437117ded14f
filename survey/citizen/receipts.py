"""The citizen's side of receipt links: `/r/<signed>` opens the questionnaire for one dossier."""

from typing import NoReturn

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale

from survey import db
from survey.citizen.forms import FORM_EXPIRED, SOME_ANSWERS, collect_answers, form_class
from survey.citizen.nonces import issue_nonce, read_nonce
from survey.citizen.submission import Submission, store_submission
from survey.citizen.views import render_form
from survey.models import Channel, Counter
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


def _render(counter: Counter, signed: str, form, status: int = 200, notice: str | None = None):
    return render_form(
        counter, form, status, notice, form_action=url_for("receipts.submit", signed=signed)
    )


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
    definition = current_app.extensions["questionnaires"][counter.questionnaire_slug]
    locale = str(get_locale())
    form = form_class(definition, locale)()
    thanks = redirect(url_for("citizen.thanks", token=counter.token), code=303)
    earlier = response_for_dossier(db.session(), hashed)
    if earlier is not None:
        # The same form sent twice (a double tap) is thanked again; any other form is refused.
        same_form = earlier.nonce is not None and earlier.nonce == read_nonce(
            form.nonce.data, counter.id
        )
        return thanks if same_form else _refuse("citizen/receipt_used.html", 409)
    if not form.validate_on_submit():
        return _render(counter, signed, form, 422, SOME_ANSWERS)
    nonce = read_nonce(form.nonce.data, counter.id)
    if nonce is None:
        form.nonce.data = issue_nonce(counter.id, counter.questionnaire_slug)
        return _render(counter, signed, form, 422, FORM_EXPIRED)
    scores, details, comment = collect_answers(form, definition)
    created = store_submission(
        db.session(),
        counter,
        definition,
        Submission(
            scores,
            details,
            comment,
            locale=locale,
            channel=Channel.RECEIPT,
            nonce=nonce,
            dossier_hash=hashed,
        ),
    )[1]
    if not created:
        stored = response_for_dossier(db.session(), hashed)
        if stored is not None and stored.nonce != nonce:
            # Another form for this dossier was stored between our check and our write.
            _refuse("citizen/receipt_used.html", 409)
    return thanks
