"""Questionnaire versions in the database: a new content hash makes a new version."""

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey import db
from survey.models import Questionnaire
from survey.questionnaires.loading import Definition


def questionnaire_version_id(definition: Definition, session: Session | None = None) -> int:
    """Return the id of the stored version of `definition`, storing a new version if needed.

    Kept per app once known, so the submission path opens no session for it; `session`
    (default: the request's) is used only the first time.
    """
    cache = current_app.extensions.setdefault("questionnaire_version_ids", {})
    if definition.content_hash not in cache:
        found = ensure_version(session or db.session(), definition)
        cache[definition.content_hash] = found.id
    return cache[definition.content_hash]


def ensure_version(session: Session, definition: Definition) -> Questionnaire:
    """Return the version row of `definition`, creating it (version = last + 1) when new."""
    for _attempt in range(3):
        row = session.scalar(
            select(Questionnaire).where(
                Questionnaire.slug == definition.slug,
                Questionnaire.content_hash == definition.content_hash,
            )
        )
        if row is not None:
            return row
        last = session.scalar(
            select(func.max(Questionnaire.version)).where(Questionnaire.slug == definition.slug)
        )
        row = Questionnaire(
            slug=definition.slug,
            version=(last or 0) + 1,
            content_hash=definition.content_hash,
            definition=definition.data,
        )
        session.add(row)
        try:
            session.commit()
            return row
        except IntegrityError:
            # Another worker stored the same version at the same moment: read theirs.
            session.rollback()
    raise RuntimeError(f"could not store a version of questionnaire {definition.slug}")
