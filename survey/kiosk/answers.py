"""Answers sent by a kiosk: checked per entry, flagged, and stored once each.

A kiosk sends a JSON list of `{"id", "tapped_at", "answers"}`. The id is made on the device, so
a batch sent twice, or cut off half way and sent again, stores each answer once: the database
refuses a second row with the same (kiosk, device id), and an id stored already is reported as
stored. Each bad entry is reported under its id, never the whole batch refused.

The tap time is the response's time for the indices (kept to the minute, like every response
time); it may not lie in the future (beyond CLOCK_SKEW) nor more than MAX_AGE_DAYS ago. The
time it arrived is kept as `received_at`.

Flags at the kiosk, on the tap times: `kiosk-gap` when an answer was tapped less than
KIOSK_MIN_GAP seconds (default 5) after the kiosk's previous one, and `out-of-hours` by the
agency's opening hours. The clerk behind the counter is the one most tempted to tap
"Rất hài lòng" again and again.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.citizen.flagging import counter_settings
from survey.flags import Flag
from survey.hours import is_open
from survey.models import Channel, Kiosk, Response, utcnow
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import questionnaire_version_id
from survey.responses import response_values
from survey.timeutil import VIETNAM

MAX_BATCH = 500
MAX_AGE_DAYS = 7
CLOCK_SKEW = timedelta(minutes=2)
DEFAULT_MIN_GAP = 5
# A device id: a UUID, or anything as plain (letters, digits, dashes).
DEVICE_ID = re.compile(r"[A-Za-z0-9-]{8,64}\Z")


@dataclass
class BatchResult:
    """Which ids of a batch are stored (now or before) and what is wrong with the others."""

    stored: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def receive_batch(
    session: Session, kiosk: Kiosk, definition: Definition, batch: object
) -> BatchResult | None:
    """Check and store a kiosk's batch; None when it is not a list of entries at all."""
    if not isinstance(batch, list) or len(batch) > MAX_BATCH:
        return None
    result = BatchResult()
    now = utcnow()
    good: list[tuple[str, datetime, dict[str, int]]] = []
    seen: set[str] = set()
    for position, entry in enumerate(batch):
        device_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
            result.errors[f"#{position}"] = "bad-id"
            continue
        if device_id in seen:
            continue  # the same answer twice in one batch is stored once
        seen.add(device_id)
        problem, tapped, scores = _check(entry, definition, now)
        if problem:
            result.errors[device_id] = problem
        else:
            good.append((device_id, tapped, scores))
    if not good:
        return result
    stored_before = set(
        session.scalars(
            select(Response.device_response_id).where(
                Response.kiosk_id == kiosk.id,
                Response.device_response_id.in_([g[0] for g in good]),
            )
        )
    )
    version_id = questionnaire_version_id(definition, session)
    # Taps in their order, so each one's gap is measured against the one before it.
    for device_id, tapped, scores in sorted(good, key=lambda g: g[1]):
        if device_id in stored_before:
            result.stored.append(device_id)
            continue
        flags, evidence = _flags(kiosk, tapped)
        values = response_values(
            definition,
            scores,
            channel=Channel.KIOSK,
            questionnaire_id=version_id,
            counter=kiosk.counter,
            submitted_at=tapped,
            flags=flags,
            evidence=evidence,
        )
        session.add(
            Response(**values, kiosk_id=kiosk.id, device_response_id=device_id, received_at=now)
        )
        if kiosk.last_tap_at is None or tapped > kiosk.last_tap_at:
            session.execute(update(Kiosk).where(Kiosk.id == kiosk.id).values(last_tap_at=tapped))
            kiosk.last_tap_at = tapped
        try:
            session.commit()
        except IntegrityError:
            # The same batch arriving twice at once: the other request stored this one.
            session.rollback()
        result.stored.append(device_id)
    return result


def _check(
    entry: dict, definition: Definition, now: datetime
) -> tuple[str | None, datetime | None, dict[str, int]]:
    """Return (problem, tap time in UTC, scores) of one entry."""
    tapped = _utc(entry.get("tapped_at"))
    if tapped is None:
        return "bad-time", None, {}
    if tapped > now + CLOCK_SKEW:
        return "time-in-future", None, {}
    if tapped < now - timedelta(days=MAX_AGE_DAYS):
        return "time-too-old", None, {}
    answers = entry.get("answers")
    if not isinstance(answers, dict) or set(answers) != set(definition.scale_items):
        return "bad-questions", None, {}
    scores: dict[str, int] = {}
    for key, given in answers.items():
        allowed = {o["value"] for o in definition.scale_of(definition.questions[key])["options"]}
        value = _integer(given)
        if value not in allowed:
            return "bad-answer", None, {}
        scores[key] = value
    return None, tapped, scores


def _integer(given: object) -> int | None:
    if isinstance(given, bool):
        return None
    if isinstance(given, int):
        return given
    if isinstance(given, str) and given.isascii() and given.isdigit() and len(given) < 3:
        return int(given)
    return None


def _utc(text: object) -> datetime | None:
    """Return an ISO time with a time zone as naive UTC, or None."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a device's local time would be ambiguous
    return moment.astimezone(UTC).replace(tzinfo=None)


def _flags(kiosk: Kiosk, tapped: datetime) -> tuple[list[Flag], dict]:
    """Return the flags of an answer tapped at `tapped` on `kiosk`."""
    config = current_app.config
    if not config["FLAG_SUSPICIOUS"]:
        return [], {}
    flags: list[Flag] = []
    evidence: dict = {}
    settings = counter_settings(kiosk.counter_id)
    local = tapped.replace(tzinfo=UTC).astimezone(VIETNAM)
    if not is_open(settings.hours, local):
        flags.append(Flag.OUT_OF_HOURS)
        evidence[Flag.OUT_OF_HOURS] = {"opened": local.strftime("%Y-%m-%d %H:%M")}
    minimum = config.get("KIOSK_MIN_GAP", DEFAULT_MIN_GAP)
    if kiosk.last_tap_at is not None and tapped >= kiosk.last_tap_at:
        gap = (tapped - kiosk.last_tap_at).total_seconds()
        if gap < minimum:
            flags.append(Flag.KIOSK_GAP)
            evidence[Flag.KIOSK_GAP] = {"seconds": round(gap, 1), "minimum_seconds": minimum}
    return flags, evidence
