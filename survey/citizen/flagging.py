"""Deciding, as a form is stored, whether it looks like ballot stuffing, and keeping the evidence.

A flagged response is stored and left out of the indices until a reviewer restores it, so a
flag must not catch honest citizens: many of them share one address (a centre's Wi-Fi, a
carrier's NAT) and many answer "Rất hài lòng" to everything, so neither is a reason on its own.
What is counted:

- too fast: sent sooner after the form was issued than a person can read it (the
  questionnaire's `min_seconds`);
- out of hours: the form was opened outside the agency's opening hours;
- repeat client: more than a few responses from one browser session, or one address, at one
  counter within minutes;
- counter burst: more responses at one counter than it can serve in a short window.

A kiosk's answers are judged by when they were tapped, not when they arrived (a tablet offline
for an hour sends its queue at once): survey/kiosk/answers.py checks the hours and the burst on
the tap times, with the same flags and the same window (`burst_window`).

The windows are moving windows in the rate-limit storage (Redis in production), keyed by
counter, session and address; no address is written to the database. Only a response that
counts takes a place in them, so a flood that was flagged does not crowd out the honest
citizens after it. A response through a link the case-management software issued for a dossier
(channel `receipt`) is a real case: only the speed check applies to it.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from survey import db
from survey.extensions import limiter
from survey.flags import Flag
from survey.hours import Span, is_open, parse_hours
from survey.models import Agency, Channel, Counter
from survey.questionnaires.loading import Definition
from survey.timeutil import VIETNAM

# Counter settings change rarely; reading them on every submission would cost a round trip.
SETTINGS_SECONDS = 60


@dataclass(frozen=True)
class Assessment:
    """The flags a response gets, the evidence behind each, and the seconds it took."""

    flags: list[Flag]
    evidence: dict
    seconds: int | None = None


@dataclass(frozen=True)
class CounterSettings:
    """What the checks need to know of a counter: its burst limit and its agency's hours."""

    burst_limit: int
    hours: tuple[Span, ...]


def assess(
    definition: Definition,
    counter_id: int,
    session_id: str,
    issued_at: datetime,
    channel: str,
    now: float | None = None,
) -> Assessment:
    """Return the flags of a response about to be stored, taking its places in the windows."""
    now = time.time() if now is None else now
    seconds = round(now - _utc_timestamp(issued_at), 1)
    if not current_app.config["FLAG_SUSPICIOUS"]:
        return Assessment([], {}, round(seconds))
    flags: list[Flag] = []
    evidence: dict = {}
    minimum = definition.min_seconds
    if seconds < minimum:
        flags.append(Flag.TOO_FAST)
        evidence[Flag.TOO_FAST] = {"seconds": seconds, "minimum_seconds": minimum}
    if channel == Channel.RECEIPT:
        return Assessment(flags, evidence, round(seconds))
    settings = counter_settings(counter_id)
    local = datetime.fromtimestamp(_utc_timestamp(issued_at), VIETNAM)
    if not is_open(settings.hours, local):
        flags.append(Flag.OUT_OF_HOURS)
        evidence[Flag.OUT_OF_HOURS] = {"opened": local.strftime("%Y-%m-%d %H:%M")}
    if flags:
        # It does not count: it takes no place a later honest citizen would need.
        return Assessment(flags, evidence, round(seconds))
    config = current_app.config
    windows = _windows()
    repeat = (
        ("session", _item(config["REPEAT_SESSION_LIMIT"]), session_id),
        ("address", _item(config["REPEAT_ADDRESS_LIMIT"]), get_remote_address()),
    )
    for kind, item, who in repeat:
        if not windows.hit(item, f"flag-{kind}", who, str(counter_id)):
            flags.append(Flag.REPEAT_CLIENT)
            evidence[Flag.REPEAT_CLIENT] = _window_evidence(item, kind)
            return Assessment(flags, evidence, round(seconds))
    burst = burst_window(settings)
    if not windows.hit(burst, "flag-counter", str(counter_id)):
        flags.append(Flag.COUNTER_BURST)
        evidence[Flag.COUNTER_BURST] = burst_evidence(burst)
    return Assessment(flags, evidence, round(seconds))


def counter_settings(counter_id: int) -> CounterSettings:
    """Return the counter's burst limit and its agency's opening hours (cached for a minute)."""
    cache = current_app.extensions.setdefault("counter_settings", {})
    found = cache.get(counter_id)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    row = (
        db.session()
        .execute(
            select(Counter.burst_limit, Agency.opening_hours)
            .join(Agency, Agency.id == Counter.agency_id)
            .where(Counter.id == counter_id)
        )
        .first()
    )
    config = current_app.config
    burst_limit, hours = row if row is not None else (None, None)
    default_burst = _item(config["COUNTER_BURST"]).amount
    settings = CounterSettings(
        burst_limit=burst_limit or default_burst,
        hours=_hours(hours or config["OPENING_HOURS"], config["OPENING_HOURS"]),
    )
    cache[counter_id] = (time.monotonic() + SETTINGS_SECONDS, settings)
    return settings


def burst_window(settings: CounterSettings) -> RateLimitItem:
    """Return the counter-burst window of a counter: COUNTER_BURST with the counter's limit."""
    return _item(current_app.config["COUNTER_BURST"], settings.burst_limit)


def burst_evidence(item: RateLimitItem) -> dict:
    """Return the evidence stored with a counter-burst flag of window `item`."""
    return _window_evidence(item, "counter")


def take_burst_place(counter_id: int, settings: CounterSettings) -> None:
    """Take a place in the counter's burst window for a response that counts and arrived now
    from another channel (a kiosk's tap sent at once), so that the QR forms after it see it.

    Nothing to do when the rate-limit storage is off (RATELIMIT_ENABLED false: some tests)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    _windows().hit(burst_window(settings), "flag-counter", str(counter_id))


def forget_counter_settings() -> None:
    """Drop the cached counter settings (after staff change them, and in tests)."""
    current_app.extensions.pop("counter_settings", None)


def _hours(text: str, fallback: str) -> tuple[Span, ...]:
    try:
        return parse_hours(text)
    except ValueError:
        # Checked when staff save them; a bad stored value falls back rather than flag all.
        return parse_hours(fallback)


def _utc_timestamp(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def _item(text: str, amount: int | None = None) -> RateLimitItem:
    item = parse(text)
    if amount is not None and amount != item.amount:
        item = type(item)(amount, item.multiples, item.namespace)
    return item


def _window_evidence(item: RateLimitItem, kind: str) -> dict:
    return {"window": kind, "limit": item.amount, "window_seconds": item.get_expiry()}


def _windows() -> MovingWindowRateLimiter:
    # A moving window records a hit only while there is room, so the places are taken by the
    # responses that count, never by those beyond the rate.
    storage = limiter.storage
    cached = current_app.extensions.get("flag_windows")
    if cached is None or cached.storage is not storage:
        cached = MovingWindowRateLimiter(storage)
        current_app.extensions["flag_windows"] = cached
    return cached
