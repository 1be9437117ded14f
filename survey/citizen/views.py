"""The citizen's pages: the questionnaire behind a counter's QR code, and the thank-you page."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from survey import db
from survey.citizen.forms import FORM_EXPIRED, SOME_ANSWERS, collect_answers, form_class
from survey.citizen.nonces import FormNonce, issue_nonce, open_nonce
from survey.citizen.submission import Submission, store_for_token
from survey.links import lookup_token
from survey.models import Counter
from survey.questionnaires.versions import questionnaire_version_id

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
    # The busiest request of the platform. The signed nonce says which counter's form and which
    # questionnaire this is, so a good submission is checked and stored in one INSERT ... SELECT
    # that also makes sure the token is still that counter's and active; the counter is looked
    # up only to answer anything else.
    nonce = open_nonce(request.form.get("nonce"))
    questionnaires = current_app.extensions["questionnaires"]
    definition = questionnaires.get(nonce.questionnaire) if nonce else None
    if definition is not None:
        locale = str(get_locale())
        form = form_class(definition, locale)()
        if form.validate_on_submit():
            scores, details, comment = collect_answers(form, definition)
            submission = Submission(scores, details, comment, locale=locale, nonce=nonce.value)
            version_id = questionnaire_version_id(definition)
            with db.autocommit_connection() as connection:
                stored = store_for_token(
                    connection, token, nonce, version_id, definition, submission
                )
            if stored is not None:
                return redirect(url_for("citizen.thanks", token=token), code=303)
    return _refuse_submission(token, nonce)


def _refuse_submission(token: str, nonce: FormNonce | None):
    """Answer a submission that was not stored: 404 / 410, the problems, or an expired form."""
    counter = _active_counter(token)  # raises the right 404 / 410 page
    # Show the questionnaire the citizen was answering, even if the counter has changed since.
    slug = counter.questionnaire_slug
    questionnaires = current_app.extensions["questionnaires"]
    if (
        nonce is not None
        and nonce.counter_id == counter.id
        and nonce.questionnaire in questionnaires
    ):
        slug = nonce.questionnaire
    definition = questionnaires[slug]
    form = form_class(definition, str(get_locale()))()
    if not form.validate_on_submit():
        notice = SOME_ANSWERS
        return render_form(counter, form, 422, notice, definition)
    # Good answers with a nonce that is expired, made up, or from another counter's form: keep
    # the answers, give a fresh nonce and ask to send again.
    form.nonce.data = issue_nonce(counter.id, slug)
    return render_form(counter, form, 422, FORM_EXPIRED, definition)


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
