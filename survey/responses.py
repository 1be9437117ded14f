"""Writing responses: each submitted form is stored exactly once."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.counters import CounterRef
from survey.models import Channel, Counter, Response, ResponseStatus, utcnow
from survey.questionnaires import Definition
from survey.timeutil import vietnam_day
from survey.versions import questionnaire_version_id

_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)


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
    counter: Counter | CounterRef,
    definition: Definition,
    submission: Submission,
    submitted_at: datetime | None = None,
    connection: Connection | None = None,
) -> tuple[int, bool]:
    """Store `submission` for `counter`; return (response id, created).

    A form whose nonce (or dossier) was already stored is not stored again: the id of the
    response stored the first time is returned with created False, so a double tap or a
    resubmission after a network error shows the same thank-you page. With `connection` (in
    autocommit mode) the insert runs on it; otherwise on the session, which is committed.
    """
    moment = submitted_at or utcnow()
    values = dict(
        questionnaire_id=questionnaire_version_id(session, definition),
        counter_id=counter.id,
        agency_id=counter.agency_id,
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
    # Insert first and let the unique nonce / dossier constraints refuse a second copy: the
    # common case costs one statement, and two racing requests cannot both be stored.
    try:
        if connection is not None:
            new_id = connection.execute(_INSERT_RESPONSE, values).scalar_one()
        else:
            new_id = session.connection().execute(_INSERT_RESPONSE, values).scalar_one()
            session.commit()
    except IntegrityError:
        if connection is None:
            session.rollback()
        existing = _already_stored(connection or session.connection(), submission)
        if existing is None:
            raise
        return existing, False
    return new_id, True


def _already_stored(connection: Connection, submission: Submission) -> int | None:
    """Return the id of the response already stored with this nonce or dossier, if any."""
    table = Response.__table__
    if submission.nonce:
        found = connection.execute(
            select(table.c.id).where(table.c.nonce == submission.nonce)
        ).scalar()
        if found is not None:
            return found
    if submission.dossier_hash:
        return connection.execute(
            select(table.c.id).where(table.c.dossier_hash == submission.dossier_hash)
        ).scalar()
    return None
