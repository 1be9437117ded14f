"""A response's stored values, built in one place for every channel (form, receipt, paper, demo)."""

from datetime import datetime

from survey.flags import Flag, encode_flags
from survey.models import Counter, ResponseStatus, utcnow
from survey.questionnaires.loading import Definition
from survey.timeutil import vietnam_day

# Every column of a response except the two that come from its counter.
OWN_COLUMNS = (
    "questionnaire_id",
    "submitted_at",
    "local_day",
    "locale",
    "channel",
    "weight",
    "psu",
    "scores",
    "details",
    "comment",
    "nonce",
    "dossier_hash",
    "issued_at",
    "answer_seconds",
    "flags",
    "evidence",
    "status",
)


def response_values(
    definition: Definition,
    scores: dict[str, int | None],
    *,
    channel: str,
    questionnaire_id: int | None = None,
    counter: Counter | None = None,
    submitted_at: datetime | None = None,
    locale: str = "vi",
    weight: float = 1.0,
    psu: str | None = None,
    details: dict | None = None,
    comment: str | None = None,
    nonce: str | None = None,
    dossier_hash: str | None = None,
    issued_at: datetime | None = None,
    answer_seconds: int | None = None,
    flags: list[Flag] | None = None,
    evidence: dict | None = None,
) -> dict:
    """Return the column values of one response (with its counter's, when given).

    A response with flags is stored as flagged: kept, and left out of the indices until a
    reviewer restores it. Times are kept to the minute (the day is taken before that).
    """
    moment = submitted_at or utcnow()
    values = {
        "questionnaire_id": questionnaire_id,
        "submitted_at": to_the_minute(moment),
        # Days, months and quarters are Vietnam's: the day is fixed when the answer is stored.
        "local_day": vietnam_day(moment),
        "locale": locale,
        "channel": channel,
        "weight": weight,
        "psu": psu,
        "scores": definition.encode_scores(scores),
        "details": details or {},
        "comment": comment,
        "nonce": nonce,
        "dossier_hash": dossier_hash,
        "issued_at": to_the_minute(issued_at) if issued_at else None,
        "answer_seconds": answer_seconds,
        "flags": encode_flags(flags or []),
        "evidence": evidence or None,
        "status": ResponseStatus.FLAGGED if flags else ResponseStatus.VALID,
    }
    if counter is not None:
        values |= {"counter_id": counter.id, "agency_id": counter.agency_id}
    return values


def to_the_minute(moment: datetime) -> datetime:
    """Return `moment` without its seconds: the precision responses are stored with."""
    return moment.replace(second=0, microsecond=0)
