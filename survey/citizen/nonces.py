"""One-time form nonces: signed so they cannot be made up, unique so they are used once.

A nonce also says which counter's form and which questionnaire it was issued with (so the
submission is checked and stored in one statement, without looking the counter up), when it
was issued (so a form sent sooner than a person can read it is flagged), and the browser
session that fetched it: a nonce harvested in bulk cannot be sent from another session, and
it lives only as long as a form is plausibly open.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

# A citizen may keep the form open through a long wait at the counter, but not for a day.
NONCE_MAX_AGE = 3 * 3600
SESSION_KEY = "sid"


@dataclass(frozen=True)
class FormNonce:
    """What a genuine nonce says: counter, questionnaire, the random part and the issue time."""

    counter_id: int
    questionnaire: str
    value: str
    issued_at: datetime  # UTC, without tzinfo, as every stored time
    session_id: str


def _serializer() -> URLSafeTimedSerializer:
    # One serializer per app: building it (and deriving its key) on every request costs time.
    serializers = current_app.extensions.setdefault("survey_nonce_serializer", {})
    key = current_app.config["SECRET_KEY"]
    if key not in serializers:
        serializers[key] = URLSafeTimedSerializer(key, salt="survey-form-nonce")
    return serializers[key]


def browser_session_id() -> str:
    """Return the random id of this browser's session, making one on its first form."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(12)
    return session[SESSION_KEY]


def issue_nonce(counter_id: int, questionnaire: str) -> str:
    """Return a fresh signed nonce for this session's form of `counter_id` and `questionnaire`."""
    payload = {
        "c": counter_id,
        "q": questionnaire,
        "n": secrets.token_hex(16),
        "s": browser_session_id(),
    }
    return _serializer().dumps(payload)


def open_nonce(signed: str | None) -> FormNonce | None:
    """Return what `signed` says when it is genuine, fresh and this session's, else None."""
    try:
        data, stamped = _serializer().loads(
            signed or "", max_age=NONCE_MAX_AGE, return_timestamp=True
        )
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    counter_id, questionnaire, value = data.get("c"), data.get("q"), data.get("n")
    if not isinstance(counter_id, int) or not isinstance(questionnaire, str) or not value:
        return None
    # Another browser's nonce, or one from before nonces named their session: the answers are
    # kept and the citizen is asked to send again (with a nonce of this session).
    if not data.get("s") or data.get("s") != session.get(SESSION_KEY):
        return None
    issued = stamped.astimezone(UTC).replace(tzinfo=None)
    return FormNonce(counter_id, questionnaire, str(value), issued, data["s"])
