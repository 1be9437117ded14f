"""The citizen's pages: the questionnaire behind a counter's QR code, and the thank-you page."""

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale

from survey import db
from survey.citizen.forms import form_class
from survey.citizen.nonces import issue_nonce
from survey.citizen.rate_limits import HELD_BACK_PAGES
from survey.citizen.submission import Result, Target, hold_back, receive
from survey.links import lookup_token
from survey.models import Counter

# Submissions are rate-limited per address before the view runs: see citizen/rate_limits.py.
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


def render_form(
    counter: Counter,
    form,
    status: int = 200,
    notice: str | None = None,
    definition=None,
    form_action: str | None = None,
):
    """Render a citizen's form of `counter` (its questionnaire unless `definition` is given)."""
    locale = str(get_locale())
    return render_template(
        "citizen/form.html",
        counter=counter,
        definition=definition or _definition(counter),
        form=form,
        locale=locale,
        notice=notice,
        agency_name=counter.agency.name(locale),
        form_action=form_action,
    ), status


@bp.get("/s/<token>")
def form(token: str):
    """Show the counter's questionnaire."""
    counter = _active_counter(token)
    form = form_class(_definition(counter), str(get_locale()))(
        formdata=None, nonce=issue_nonce(counter.id, counter.questionnaire_slug)
    )
    return render_form(counter, form)


@bp.post("/s/<token>")
def submit(token: str):
    """Store the answers once and send the citizen to the thank-you page."""
    outcome = receive(_target(token), str(get_locale()))
    if outcome.result is Result.STORED:
        return redirect(url_for("citizen.thanks", token=token), code=303)
    return _again(outcome)


def held_back(token: str):
    """Show a form sent over the rate limit again, with its answers, to send in a moment."""
    return _again(hold_back(_target(token), str(get_locale())))


HELD_BACK_PAGES["citizen.submit"] = held_back


def _target(token: str) -> Target:
    return Target(find_counter=lambda: _active_counter(token), token=token)


def _again(outcome):
    """Show the form of `outcome` again, with its notice."""
    return render_form(
        outcome.counter, outcome.form, outcome.status, outcome.notice, outcome.definition
    )


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
