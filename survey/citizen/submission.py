"""The one submission path of the citizen's forms (QR poster and receipt link).

`receive` validates the answers against the questionnaire named in the form's signed nonce,
stores them once and returns an `Outcome` that the view turns into a page. The busiest request
of the platform: a good form is checked and stored in one INSERT ... SELECT on an autocommit
connection, with no counter lookup; the counter is looked up only to answer anything else.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from survey import db
from survey.citizen.flagging import assess
from survey.citizen.forms import (
    FORM_EXPIRED,
    SEND_AGAIN_SOON,
    SOME_ANSWERS,
    SurveyForm,
    collect_answers,
    form_class,
)
from survey.citizen.nonces import FormNonce, issue_nonce, open_nonce
from survey.models import Channel, Counter, Response
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import questionnaire_version_id
from survey.responses import OWN_COLUMNS, response_values

_RESPONSES = Response.__table__
_COUNTERS = Counter.__table__


def _guarded_insert(by_token: bool):
    # INSERT ... SELECT from the counter, only while it is active (and, for a poster, while the
    # token is still its own): the check and the write are one statement, one round trip, and
    # a poster retired or replaced a moment ago cannot slip a response in between them.
    guard = [_COUNTERS.c.id == bindparam("form_counter_id"), _COUNTERS.c.active == true()]
    if by_token:
        guard.append(_COUNTERS.c.token == bindparam("form_token"))
    columns = (bindparam(name, type_=_RESPONSES.c[name].type) for name in OWN_COLUMNS)
    chosen = select(*columns, _COUNTERS.c.id, _COUNTERS.c.agency_id).where(*guard)
    return (
        insert(_RESPONSES)
        .from_select([*OWN_COLUMNS, "counter_id", "agency_id"], chosen)
        .returning(_RESPONSES.c.id)
    )


_INSERT_FOR_TOKEN = _guarded_insert(by_token=True)
_INSERT_FOR_COUNTER = _guarded_insert(by_token=False)


class Result(enum.StrEnum):
    """What became of a submitted form."""

    STORED = "stored"  # stored now, or stored already from this very form (a double tap)
    INVALID = "invalid"  # some answers need attention: the form again, with the problems
    EXPIRED = "expired"  # good answers, but the nonce was stale or not this counter's
    HELD_BACK = "held-back"  # over the rate limit: the form again, answers kept, send soon
    DOSSIER_USED = "dossier-used"  # another form was already stored for this dossier


@dataclass(frozen=True)
class Target:
    """Where a form was sent: a poster's token, or a receipt link's counter and dossier."""

    # Return the active counter of the address, or stop the request with its 404 / 410 page.
    find_counter: Callable[[], Counter]
    token: str | None = None
    counter_id: int | None = None
    dossier_hash: str | None = None
    channel: str = Channel.QR


@dataclass
class Outcome:
    """A submission's result, and what a page needs to show anything but the thank-you."""

    result: Result
    counter: Counter | None = None
    form: SurveyForm | None = None
    definition: Definition | None = None
    response_id: int | None = None

    @property
    def notice(self):
        """Return the message above a form shown again."""
        return _NOTICES.get(self.result, SOME_ANSWERS)

    @property
    def status(self) -> int:
        """Return the HTTP status of the page that shows the form again."""
        return 429 if self.result is Result.HELD_BACK else 422


_NOTICES = {Result.EXPIRED: FORM_EXPIRED, Result.HELD_BACK: SEND_AGAIN_SOON}

# True whichever way the outage struck: before the INSERT (nothing stored) or after it (stored,
# but the answer lost on the way); the same nonce sent again is stored, or thanked, once.
DATABASE_DOWN = _l(
    "The service is briefly unavailable, so we could not confirm that your answers were "
    "stored. They are kept below: please send them again in a moment. They will be counted "
    "only once."
)


def kept_answers(locale: str) -> tuple[Definition, SurveyForm] | None:
    """Return the posted form's questionnaire and form, answers and nonce kept, or None."""
    # Touches no database: the questionnaire is the one the signed nonce names; without a
    # genuine, fresh nonce there is no telling which it was (None: the plain 503 page).
    nonce = open_nonce(request.form.get("nonce"))
    questionnaires = current_app.extensions["questionnaires"]
    definition = questionnaires.get(nonce.questionnaire) if nonce else None
    if definition is None:
        return None
    return definition, form_class(definition, locale)()


def receive(target: Target, locale: str) -> Outcome:
    """Validate the posted form, store it once and say what became of it."""
    questionnaires = current_app.extensions["questionnaires"]
    nonce = open_nonce(request.form.get("nonce"))
    if target.dossier_hash is not None:
        # One evaluation per dossier: the same form sent twice is thanked again, any other is
        # refused, before its answers are even looked at.
        with db.autocommit_connection() as connection:
            earlier = _stored_for(connection, dossier_hash=target.dossier_hash)
        if earlier is not None:
            return _earlier_outcome(earlier, nonce)
    definition = questionnaires.get(nonce.questionnaire) if nonce else None
    if definition is None:
        # No genuine, fresh nonce: check the answers against the counter's questionnaire, keep
        # them, and ask the citizen to send again with a fresh nonce.
        counter = target.find_counter()
        definition = questionnaires[counter.questionnaire_slug]
        return _refused(counter, definition, form_class(definition, locale)())
    form = form_class(definition, locale)()
    if not form.validate():
        return Outcome(Result.INVALID, target.find_counter(), form, definition)
    scores, details, comment = collect_answers(form, definition)
    if target.counter_id is None or nonce.counter_id == target.counter_id:
        found = assess(
            definition, nonce.counter_id, nonce.session_id, nonce.issued_at, target.channel
        )
        values = response_values(
            definition,
            scores,
            channel=target.channel,
            questionnaire_id=questionnaire_version_id(definition),
            locale=locale,
            details=details,
            comment=comment,
            nonce=nonce.value,
            dossier_hash=target.dossier_hash,
            issued_at=nonce.issued_at,
            answer_seconds=found.seconds,
            flags=found.flags,
            evidence=found.evidence,
        )
        with db.autocommit_connection() as connection:
            outcome = _store(connection, target, nonce, values)
        if outcome is not None:
            return outcome
    # Nothing stored: the counter was retired or its poster replaced since the form opened
    # (find_counter stops with 404 / 410), or the nonce is another counter's form.
    counter = target.find_counter()
    form.nonce.data = issue_nonce(counter.id, definition.slug)
    return Outcome(Result.EXPIRED, counter, form, definition)


def hold_back(target: Target, locale: str) -> Outcome:
    """Show a form over the rate limit again, answers kept and nothing stored."""
    questionnaires = current_app.extensions["questionnaires"]
    counter = target.find_counter()
    nonce = open_nonce(request.form.get("nonce"))
    slug = nonce.questionnaire if nonce and nonce.questionnaire in questionnaires else None
    definition = questionnaires[slug or counter.questionnaire_slug]
    form = form_class(definition, locale)()
    if nonce is None:
        form.nonce.data = issue_nonce(counter.id, definition.slug)
    return Outcome(Result.HELD_BACK, counter, form, definition)


def _refused(counter: Counter, definition: Definition, form: SurveyForm) -> Outcome:
    if not form.validate():
        return Outcome(Result.INVALID, counter, form, definition)
    form.nonce.data = issue_nonce(counter.id, definition.slug)
    return Outcome(Result.EXPIRED, counter, form, definition)


def _store(
    connection: Connection, target: Target, nonce: FormNonce, values: dict
) -> Outcome | None:
    """Insert the response; return the outcome, or None when the counter took nothing."""
    statement = _INSERT_FOR_TOKEN if target.token is not None else _INSERT_FOR_COUNTER
    parameters = values | {"form_counter_id": nonce.counter_id, "form_token": target.token}
    try:
        new_id = connection.execute(statement, parameters).scalar()
    except IntegrityError:
        # The unique nonce or dossier refused a second copy: a double tap, a resubmission
        # after a network error, or another form for the same dossier stored a moment ago.
        earlier = _stored_for(connection, nonce=nonce.value)
        if earlier is None and target.dossier_hash is not None:
            earlier = _stored_for(connection, dossier_hash=target.dossier_hash)
        if earlier is None:
            raise
        return _earlier_outcome(earlier, nonce)
    return Outcome(Result.STORED, response_id=new_id) if new_id is not None else None


def _earlier_outcome(earlier: tuple[int, str | None], nonce: FormNonce | None) -> Outcome:
    response_id, stored_nonce = earlier
    if nonce is not None and stored_nonce == nonce.value:
        return Outcome(Result.STORED, response_id=response_id)
    return Outcome(Result.DOSSIER_USED, response_id=response_id)


def _stored_for(
    connection: Connection, nonce: str | None = None, dossier_hash: str | None = None
) -> tuple[int, str | None] | None:
    """Return (id, nonce) of the response stored with this nonce or for this dossier, if any."""
    column = _RESPONSES.c.nonce if nonce is not None else _RESPONSES.c.dossier_hash
    row = connection.execute(
        select(_RESPONSES.c.id, _RESPONSES.c.nonce).where(column == (nonce or dossier_hash))
    ).first()
    return (row[0], row[1]) if row is not None else None
