"""One-time form nonces: signed so they cannot be made up, unique so they are used once.

A nonce also says which counter's form, and which questionnaire, it was issued with: the
submission can then be checked and stored in one statement, without looking the counter up.
"""

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

# A form may stay open on a phone for a long wait at the counter.
NONCE_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class FormNonce:
    """What a genuine nonce says: the counter, the questionnaire of the form, the random part."""

    counter_id: int
    questionnaire: str
    value: str


def _serializer() -> URLSafeTimedSerializer:
    # One serializer per app: building it (and deriving its key) on every request costs time.
    serializers = current_app.extensions.setdefault("survey_nonce_serializer", {})
    key = current_app.config["SECRET_KEY"]
    if key not in serializers:
        serializers[key] = URLSafeTimedSerializer(key, salt="survey-form-nonce")
    return serializers[key]


def issue_nonce(counter_id: int, questionnaire: str) -> str:
    """Return a fresh signed nonce for a form of `counter_id` asking `questionnaire`."""
    return _serializer().dumps({"c": counter_id, "q": questionnaire, "n": secrets.token_hex(16)})


def open_nonce(signed: str | None) -> FormNonce | None:
    """Return what `signed` says when it is genuine and fresh, else None."""
    try:
        data = _serializer().loads(signed or "", max_age=NONCE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    counter_id, questionnaire, value = data.get("c"), data.get("q"), data.get("n")
    if not isinstance(counter_id, int) or not isinstance(questionnaire, str) or not value:
        return None
    return FormNonce(counter_id, questionnaire, str(value))

