"""Writing responses: each submitted form is stored exactly once."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.citizen.nonces import FormNonce
from survey.models import Channel, Counter, Response, ResponseStatus, utcnow
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import questionnaire_version_id
from survey.timeutil import vietnam_day

_RESPONSES = Response.__table__
_COUNTERS = Counter.__table__
_INSERT_RESPONSE = insert(_RESPONSES).returning(_RESPONSES.c.id)

# Everything a response holds except what comes from its counter.
_OWN_COLUMNS = (
    "questionnaire_id",
    "submitted_at",
    "local_day",
    "locale",
    "channel",
    "weight",
    "scores",
    "details",
    "comment",
    "nonce",
    "dossier_hash",
    "status",
)
# INSERT ... SELECT from the counter, only while the token is still that counter's and it is
# active: the check and the write are one statement (one round trip), and a poster retired or
# replaced a moment ago cannot slip a response in between them.
_INSERT_FOR_TOKEN = (
    insert(_RESPONSES)
    .from_select(
        [*_OWN_COLUMNS, "counter_id", "agency_id"],
        select(
            *(bindparam(name, type_=_RESPONSES.c[name].type) for name in _OWN_COLUMNS),
            _COUNTERS.c.id,
            _COUNTERS.c.agency_id,
        ).where(
            _COUNTERS.c.id == bindparam("form_counter_id"),
            _COUNTERS.c.token == bindparam("form_token"),
            _COUNTERS.c.active == true(),
        ),
    )
    .returning(_RESPONSES.c.id)
)


@dataclass(frozen=True)
class Submission:
    """A citizen's answers, ready to be stored."""

    scores: dict[str, int | None]
    details: dict
    comment: str | None
    locale: str
    channel: str = Channel.QR
    nonce: str | None = None
    dossier_hash: str | None = None


def store_submission(
    session: Session,
    counter: Counter,
    definition: Definition,
    submission: Submission,
    submitted_at: datetime | None = None,
) -> tuple[int, bool]:
    """Store `submission` for `counter` and commit the session; return (response id, created).

    A form whose nonce (or dossier) was already stored is not stored again: the id of the
    response stored the first time is returned with created False, so a double tap or a
    resubmission after a network error shows the same thank-you page.
    """
    values = _own_values(
        questionnaire_version_id(definition, session), definition, submission, submitted_at
    )
    values |= {"counter_id": counter.id, "agency_id": counter.agency_id}
    # Insert first and let the unique nonce / dossier constraints refuse a second copy: the
    # common case costs one statement, and two racing requests cannot both be stored.
    try:
        new_id = session.connection().execute(_INSERT_RESPONSE, values).scalar_one()
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _already_stored(session.connection(), submission)
        if existing is None:
            raise
        return existing, False
    return new_id, True


def store_for_token(
    connection: Connection,
    token: str,
    nonce: FormNonce,
    questionnaire_id: int,
    definition: Definition,
    submission: Submission,
) -> tuple[int, bool] | None:
    """Store a form sent to `token` with `nonce`; return (response id, created), or None.

    None means nothing was stored because the token is no longer the active counter's that
    issued the nonce (retired, replaced, or a nonce from another counter's form): the caller
    looks the token up to say which. A nonce already stored returns the first response's id
    with created False. `connection` is in autocommit mode.
    """
    values = _own_values(questionnaire_id, definition, submission)
    values |= {"form_counter_id": nonce.counter_id, "form_token": token}
    try:
        new_id = connection.execute(_INSERT_FOR_TOKEN, values).scalar()
    except IntegrityError:
        existing = _already_stored(connection, submission)
        if existing is None:
            raise
        return existing, False
    return (new_id, True) if new_id is not None else None


def _own_values(
    questionnaire_id: int,
    definition: Definition,
    submission: Submission,
    submitted_at: datetime | None = None,
) -> dict:
    moment = submitted_at or utcnow()
    return dict(
        questionnaire_id=questionnaire_id,
        submitted_at=moment,
        local_day=vietnam_day(moment),
        locale=submission.locale,
        channel=submission.channel,
        weight=1.0,
        scores=definition.encode_scores(submission.scores),
        details=submission.details,
        comment=submission.comment,
        nonce=submission.nonce,
        dossier_hash=submission.dossier_hash,
        status=ResponseStatus.VALID,
    )


def _already_stored(connection: Connection, submission: Submission) -> int | None:
    """Return the id of the response already stored with this nonce or dossier, if any."""
    if submission.nonce:
        found = connection.execute(
            select(_RESPONSES.c.id).where(_RESPONSES.c.nonce == submission.nonce)
        ).scalar()
        if found is not None:
            return found
    if submission.dossier_hash:
        return connection.execute(
            select(_RESPONSES.c.id).where(_RESPONSES.c.dossier_hash == submission.dossier_hash)
        ).scalar()
    return None
