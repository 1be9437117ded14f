"""Answers sent by a kiosk: checked per entry, flagged, and stored once each.

A kiosk sends a JSON list of `{"id", "tapped_at", "answers"}`. The id is made on the device, so
a batch sent twice, or cut off half way and sent again, stores each answer once: the database
refuses a second row with the same (kiosk, device id), and an id stored already is reported as
stored. Each bad entry is reported under its id, never the whole batch refused.

The tap time is the response's time for the indices (kept to the minute, like every response
time); it may not lie in the future (beyond CLOCK_SKEW) nor more than MAX_AGE_DAYS ago. The
time it arrived is kept as `received_at`.

Flags at the kiosk, on the tap times (never the arrival time: a tablet offline for an hour
sends its queue at once): `kiosk-gap` when an answer was tapped less than KIOSK_MIN_GAP seconds
(default 5) after the kiosk's previous one, `out-of-hours` by the agency's opening hours, and
`counter-burst` when the counter already has its burst limit of counted responses (any channel)
in the COUNTER_BURST window (2 minutes) before the tap. The clerk behind the counter is the one
most tempted to tap "Rất hài lòng" again and again.

The burst window is counted on the tap times: those of the batch itself to the second, those
stored before (responses keep only the minute) at the middle of their minute, so a stored
response is placed at most 30 seconds from its real time, as often early as late. As in the other
channels, only answers that count take a place: a flagged tap does not crowd out the next
citizen. An answer tapped within the window of now also takes its place in the counter's live
window (survey/citizen/flagging.py), so a QR form sent just after it sees it.
"""

import bisect
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.citizen.flagging import (
    CounterSettings,
    burst_evidence,
    burst_window,
    counter_settings,
    take_burst_place,
)
from survey.flags import Flag
from survey.hours import is_open
from survey.models import Channel, Kiosk, Response, ResponseStatus, utcnow
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import questionnaire_version_id
from survey.responses import response_values
from survey.timeutil import VIETNAM

MAX_BATCH = 500
# What the kiosk asks: the quick form of Decree 61/2018, whatever the counter's poster asks.
QUESTIONNAIRE = "counter-quick"
MAX_AGE_DAYS = 7
CLOCK_SKEW = timedelta(minutes=2)
HALF_MINUTE = timedelta(seconds=30)
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
    fresh = sorted((g for g in good if g[0] not in stored_before), key=lambda g: g[1])
    result.stored += [g[0] for g in good if g[0] in stored_before]
    window = _BurstWindow.of(session, kiosk, [g[1] for g in fresh], now)
    # Taps in their order, so each one's gap is measured against the one before it.
    for device_id, tapped, scores in fresh:
        flags, evidence = _flags(kiosk, tapped, window)
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
            # Only ever later, also when two batches of the kiosk arrive at once; the loaded
            # kiosk follows (the update is synchronised with the session).
            later = or_(Kiosk.last_tap_at.is_(None), Kiosk.last_tap_at < tapped)
            session.execute(
                update(Kiosk).where(Kiosk.id == kiosk.id, later).values(last_tap_at=tapped)
            )
        try:
            session.commit()
        except IntegrityError:
            # The same batch arriving twice at once: the other request stored this one. Any
            # other refusal stored nothing, and the tablet must keep the answer to send again.
            session.rollback()
            if not _stored(session, kiosk, device_id):
                result.errors[device_id] = "not-stored"
                continue
        else:
            if window is not None and not flags:
                window.take(tapped)
        result.stored.append(device_id)
    return result


def _stored(session: Session, kiosk: Kiosk, device_id: str) -> bool:
    """Tell whether the kiosk's answer with this device id is in the database."""
    found = select(Response.id).where(
        Response.kiosk_id == kiosk.id, Response.device_response_id == device_id
    )
    return session.scalar(found) is not None


@dataclass
class _BurstWindow:
    """The counted responses of a kiosk's counter around a batch's taps, on their tap times."""

    counter_id: int
    settings: CounterSettings
    seconds: int
    limit: int
    now: datetime
    taps: list[datetime]  # sorted: this batch's counted taps, to the second
    stored: list[datetime]  # sorted: responses stored before, at the middle of their minute

    @classmethod
    def of(cls, session: Session, kiosk: Kiosk, taps: list[datetime], now: datetime):
        """Read the counter's counted responses in the window before each of `taps`."""
        if not taps or not current_app.config["FLAG_SUSPICIOUS"]:
            return None
        settings = counter_settings(kiosk.counter_id)
        item = burst_window(settings)
        seconds = item.get_expiry()
        minutes = session.scalars(
            select(Response.submitted_at)
            .where(
                Response.counter_id == kiosk.counter_id,
                Response.status == ResponseStatus.VALID,
                Response.submitted_at > min(taps) - timedelta(seconds=seconds + 60),
                Response.submitted_at <= max(taps),
            )
            .order_by(Response.submitted_at)
        )
        stored = [m + HALF_MINUTE for m in minutes]
        return cls(kiosk.counter_id, settings, seconds, item.amount, now, [], stored)

    def full(self, tapped: datetime) -> bool:
        """Tell whether the window before `tapped` already holds the counter's limit."""
        start = tapped - timedelta(seconds=self.seconds)
        return _between(self.stored, start, tapped) + _between(self.taps, start, tapped) >= (
            self.limit
        )

    def take(self, tapped: datetime) -> None:
        """Give a counted tap its place (and in the live window, when it was tapped just now)."""
        bisect.insort(self.taps, tapped)
        if tapped > self.now - timedelta(seconds=self.seconds):
            take_burst_place(self.counter_id, self.settings)


def _between(times: list[datetime], start: datetime, end: datetime) -> int:
    """Return how many of the sorted `times` lie in (start, end]."""
    return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)


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
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 at +14:00 or year 9999 at -14:00: outside the calendar in UTC
        return None


def _flags(
    kiosk: Kiosk, tapped: datetime, window: "_BurstWindow | None"
) -> tuple[list[Flag], dict]:
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
    minimum = config["KIOSK_MIN_GAP"]
    if kiosk.last_tap_at is not None and tapped >= kiosk.last_tap_at:
        gap = (tapped - kiosk.last_tap_at).total_seconds()
        if gap < minimum:
            flags.append(Flag.KIOSK_GAP)
            evidence[Flag.KIOSK_GAP] = {"seconds": round(gap, 1), "minimum_seconds": minimum}
    if not flags and window is not None and window.full(tapped):
        # Only an answer that would count is measured against the burst (as in the QR form).
        flags.append(Flag.COUNTER_BURST)
        evidence[Flag.COUNTER_BURST] = burst_evidence(burst_window(settings))
    return flags, evidence
