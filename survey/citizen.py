"""The citizen's pages: the questionnaire behind a counter's QR code, and the thank-you page."""

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from survey import db
from survey.counters import counter_ref, lookup_token
from survey.forms import collect_answers, form_class
from survey.models import Counter
from survey.nonces import issue_nonce, read_nonce
from survey.responses import Submission, store_submission

# Submissions are rate-limited per address before the view runs: see survey/rate_limits.py.
bp = Blueprint("citizen", __name__)


def _definition(counter: Counter):
    return current_app.extensions["questionnaires"][counter.questionnaire_slug]


def _active_counter(token: str) -> Counter:
    found = lookup_token(db.session(), token)
    if found.state == "active":
        return found.counter
    if found.state == "replaced":
        abort(410, description="replaced")
    abort(404, description="survey-code")


def _render(counter: Counter, form, status: int = 200, notice: str | None = None):
    locale = str(get_locale())
    return render_template(
        "citizen/form.html",
        counter=counter,
        definition=_definition(counter),
        form=form,
        locale=locale,
        notice=notice,
        agency_name=counter.agency.name(locale),
    ), status


@bp.get("/s/<token>")
def form(token: str):
    """Show the counter's questionnaire."""
    counter = _active_counter(token)
    form = form_class(_definition(counter), str(get_locale()))(
        formdata=None, nonce=issue_nonce(counter.id)
    )
    return _render(counter, form)


@bp.post("/s/<token>")
def submit(token: str):
    """Store the answers once and send the citizen to the thank-you page."""
    # The hot path: a lean lookup and one insert on an autocommit connection; the full counter
    # is loaded (through the session) only to re-render the form.
    with db.autocommit_connection() as connection:
        ref = counter_ref(connection, token)
        if ref is None or not ref.active:
            _active_counter(token)  # raises the right 404 / 410 page
        definition = current_app.extensions["questionnaires"][ref.questionnaire_slug]
        locale = str(get_locale())
        form = form_class(definition, locale)()
        if not form.validate_on_submit():
            return _render(
                _active_counter(token),
                form,
                422,
                _("Some answers need your attention. Please see below."),
            )
        nonce = read_nonce(form.nonce.data, ref.id)
        if nonce is None:
            # Expired or made-up: keep the answers, give a fresh nonce and ask to send again.
            form.nonce.data = issue_nonce(ref.id)
            return _render(
                _active_counter(token),
                form,
                422,
                _("This form had expired. Please press Send again."),
            )
        scores, details, comment = collect_answers(form, definition)
        submission = Submission(scores, details, comment, locale=locale, nonce=nonce)
        store_submission(db.session(), ref, definition, submission, connection=connection)
    return redirect(url_for("citizen.thanks", token=token), code=303)


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    """Thank the citizen and say how the answers are used."""
    found = lookup_token(db.session(), token)
    if found.counter is None:
        abort(404, description="survey-code")
    locale = str(get_locale())
    return render_template(
        "citizen/thanks.html",
        counter=found.counter,
        agency_name=found.counter.agency.name(locale),
    )
