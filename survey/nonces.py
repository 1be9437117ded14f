"""One-time form nonces: signed so they cannot be made up, unique so they are used once."""

import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

# A form may stay open on a phone for a long wait at the counter.
NONCE_MAX_AGE = 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="survey-form-nonce")


def issue_nonce(counter_id: int) -> str:
    """Return a fresh signed nonce for a form of `counter_id`."""
    return _serializer().dumps({"c": counter_id, "n": secrets.token_hex(16)})


def read_nonce(signed: str, counter_id: int) -> str | None:
    """Return the nonce's random part when `signed` is genuine, fresh and for `counter_id`."""
    try:
        data = _serializer().loads(signed or "", max_age=NONCE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != counter_id:
        return None
    return str(data.get("n")) or None
