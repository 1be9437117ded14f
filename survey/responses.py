"""Writing responses: each submitted form is stored exactly once."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.models import Channel, Counter, Response, utcnow
from survey.questionnaires import Definition
from survey.timeutil import vietnam_day
from survey.versions import questionnaire_version_id


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
    session: Session, counter: Counter, definition: Definition, submission: Submission,
    submitted_at: datetime | None = None,
) -> tuple[Response, bool]:
    """Store `submission` for `counter`; return (response, created).

    A form whose nonce (or dossier) was already stored is not stored again: the response stored
    the first time is returned with created False, so a double tap or a resubmission after a
    network error shows the same thank-you page.
    """
    existing = _already_stored(session, submission)
    if existing is not None:
        return existing, False
    moment = submitted_at or utcnow()
    response = Response(
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
    )
    session.add(response)
    try:
        session.commit()
    except IntegrityError:
        # Two requests with the same nonce raced each other; the other one won.
        session.rollback()
        existing = _already_stored(session, submission)
        if existing is None:
            raise
        return existing, False
    return response, True


def _already_stored(session: Session, submission: Submission) -> Response | None:
    if submission.nonce:
        found = session.scalar(select(Response).where(Response.nonce == submission.nonce))
        if found is not None:
            return found
    if submission.dossier_hash:
        return session.scalar(
            select(Response).where(Response.dossier_hash == submission.dossier_hash)
        )
    return None
