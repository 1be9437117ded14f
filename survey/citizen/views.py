"""The citizen's pages: the questionnaire behind a counter's QR code, and the thank-you page."""

import secrets
from collections import OrderedDict
from types import SimpleNamespace

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from survey import db
from survey.citizen.forms import form_class
from survey.citizen.nonces import issue_nonce
from survey.citizen.rate_limits import HELD_BACK_PAGES
from survey.citizen.submission import (
    DATABASE_DOWN,
    Result,
    Target,
    hold_back,
    kept_answers,
    receive,
)
from survey.errors import (
    DATABASE_UNAVAILABLE,
    leave_the_database_alone,
    retry_after,
    unavailable_response,
)
from survey.links import CounterFacts, TokenLookup, lookup_token, lookup_token_facts
from survey.models import Counter

# Submissions are rate-limited per address before the view runs: see citizen/rate_limits.py.
bp = Blueprint("citizen", __name__)

# Placeholders in a kept blank page, replaced by each request's own values; random per process
# so that no questionnaire text can contain them.
_CSRF_MARK = f"csrf-{secrets.token_hex(12)}"
_NONCE_MARK = f"nonce-{secrets.token_hex(12)}"
# About 20 KB a page: a few MB per worker for a province's counters in two languages.
BLANK_PAGES_KEPT = 400


def _definition(counter: Counter | CounterFacts):
    return current_app.extensions["questionnaires"][counter.questionnaire_slug]


def _active_counter(token: str) -> Counter:
    return _active(lookup_token(db.session(), token))


def _active(found: TokenLookup):
    """Return the counter found, or stop: 410 for a replaced poster, 404 for the rest."""
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


def blank_form_page(counter: CounterFacts) -> str:
    """Return the page of `counter`'s empty questionnaire, with a fresh nonce and CSRF token.

    The page is the same for every citizen at a counter but for those two values, so it is
    rendered once per counter, questionnaire, language and address and kept (a bounded cache
    per worker); each request only puts its own nonce and token in. Anything that changes the
    page (a new name, questionnaire or language) makes a new key.
    """
    locale = str(get_locale())
    definition = _definition(counter)
    key = (
        counter.id,
        counter.token,
        counter.name,
        counter.agency_name(locale),
        definition.content_hash,
        locale,
    )
    cache = current_app.extensions.setdefault("blank_form_pages", OrderedDict())
    page = cache.get(key)
    if page is None:
        form = form_class(definition, locale)(formdata=None, nonce=_NONCE_MARK)
        page = render_template(
            "citizen/form.html",
            counter=counter,
            definition=definition,
            form=form,
            locale=locale,
            notice=None,
            agency_name=counter.agency_name(locale),
            csrf_token=lambda: _CSRF_MARK,
        )
        cache[key] = page
        if len(cache) > BLANK_PAGES_KEPT:
            cache.popitem(last=False)
    nonce = issue_nonce(counter.id, definition.slug)
    return page.replace(_CSRF_MARK, generate_csrf(), 1).replace(_NONCE_MARK, nonce, 1)


@bp.get("/s/<token>")
def form(token: str):
    """Show the counter's questionnaire."""
    return blank_form_page(_active(lookup_token_facts(db.session(), token)))


@bp.post("/s/<token>")
def submit(token: str):
    """Store the answers once and send the citizen to the thank-you page."""
    try:
        outcome = receive(_target(token), str(get_locale()))
    except DATABASE_UNAVAILABLE as error:
        return outage_form(error, token)
    if outcome.result is Result.STORED:
        return redirect(url_for("citizen.thanks", token=token), code=303)
    return _again(outcome)


def outage_form(error, token: str | None, counter_name: str = "", form_action=None):
    """Show the posted form again, answers kept, with a 503 while the database is unreachable."""
    # The same nonce is kept, so that sending the form again later stores it once.
    locale = str(get_locale())
    kept = kept_answers(locale)
    if kept is None:
        return unavailable_response(error)
    definition, form = kept
    agency_name = ""
    # Names from the blank page kept for this poster, if this worker showed it: no database.
    for key in current_app.extensions.get("blank_form_pages", {}):
        if key[1] == token and key[5] == locale:
            counter_name, agency_name = key[2], key[3]
    current_app.logger.warning("database unavailable: form shown again (%s)", type(error).__name__)
    leave_the_database_alone()
    page = render_template(
        "citizen/form.html",
        counter=SimpleNamespace(name=counter_name, token=token),
        definition=definition,
        form=form,
        locale=locale,
        notice=DATABASE_DOWN,
        agency_name=agency_name,
        form_action=form_action,
    )
    return page, 503, {"Retry-After": retry_after()}


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
