"""The kiosk's flags are judged by when the citizen tapped, not when the tablet synced.

A tablet that was offline for an hour sends its queue at once: six taps within two minutes are
a counter burst however late they arrive; taps spread over an hour are not, however close
together they arrive. The hours are those of the tap too.
"""

from datetime import UTC, datetime, timedelta

import pytest
import test_kiosk
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from test_kiosk import answer, iso, stored_rows

from survey import db
from survey.citizen.flagging import burst_window, counter_settings
from survey.extensions import limiter
from survey.models import Counter, Response
from survey.questionnaires.versions import questionnaire_version_id
from survey.responses import response_values

# A Tuesday, 09:00:05 in Vietnam (02:00:05 UTC): open under the platform's default hours.
TUESDAY_9AM = datetime(2026, 11, 3, 2, 0, 5)
BURST = "counter-burst"

# The kiosk tests' own fixtures: a counter on the quick questionnaire, and its enrolled tablet.
counter = test_kiosk.counter
tablet = test_kiosk.tablet


@pytest.fixture
def arrival(monkeypatch):
    """Set when a batch arrives (naive UTC); the tap times are the test's own."""
    moments = {"now": TUESDAY_9AM + timedelta(hours=1)}
    monkeypatch.setattr("survey.kiosk.answers.utcnow", lambda: moments["now"])
    return moments


@pytest.fixture
def flags_on(app_config):
    """The flags as in production: 4 per 2 minutes at a counter, a 5-second gap, weekday hours."""
    app_config["FLAG_SUSPICIOUS"] = True
    app_config["KIOSK_MIN_GAP"] = 5
    app_config["COUNTER_BURST"] = "4 per 2 minutes"
    app_config["OPENING_HOURS"] = "Mon-Fri 07:00-17:30; Sat 07:00-12:00"


def taps(seconds: list[int], start: datetime = TUESDAY_9AM, prefix: str = "tap") -> list[dict]:
    return [answer(f"{prefix}-{s:06d}", iso(start + timedelta(seconds=s))) for s in seconds]


def flags_by_id(app) -> dict[str, str | None]:
    return {row[0]: row[4] for row in stored_rows(app)}


def test_six_taps_within_two_minutes_synced_an_hour_later_are_a_burst(
    flags_on, arrival, app, tablet
):
    reply = tablet.post("/k/answers", json=taps([0, 20, 40, 60, 80, 100]))
    assert len(reply.json["stored"]) == 6
    # The 5th and 6th find four counted taps in the two minutes before them.
    assert list(flags_by_id(app).values()) == [None, None, None, None, BURST, BURST]
    with app.app_context():
        row = db.session().scalar(select(Response).where(Response.flags == BURST))
        assert row.status == "flagged"
        assert row.evidence == {BURST: {"window": "counter", "limit": 4, "window_seconds": 120}}
        # Judged by the tap, kept by the tap; the arrival is kept beside it.
        assert row.submitted_at == datetime(2026, 11, 3, 2, 1)
        assert row.received_at == arrival["now"]


def test_taps_spread_over_an_hour_synced_at_once_are_not_a_burst(flags_on, arrival, app, tablet):
    reply = tablet.post("/k/answers", json=taps(list(range(0, 3600, 300))))
    assert len(reply.json["stored"]) == 12
    assert set(flags_by_id(app).values()) == {None}


def test_a_burst_sent_one_tap_at_a_time_is_caught_on_the_stored_minutes(
    flags_on, arrival, app, tablet
):
    # Online, each tap is its own batch: the earlier ones are stored to the minute and placed
    # at its middle, so the burst is caught at most half a minute late.
    for one in taps([0, 20, 40, 60, 80, 100]):
        tablet.post("/k/answers", json=[one])
    assert list(flags_by_id(app).values()) == [None, None, None, None, None, BURST]


def test_the_burst_counts_the_counters_other_channels_and_only_what_counts(
    flags_on, arrival, app, tablet, counter
):
    definition = app.extensions["questionnaires"]["counter-quick"]
    with app.app_context():
        session = db.session()
        row = session.get(Counter, counter.id)
        for status_flags in ([], [], ["too-fast"], ["too-fast"], ["repeat-client"], []):
            values = response_values(
                definition,
                {"Q1": 3, "Q2": 3},
                channel="qr",
                questionnaire_id=questionnaire_version_id(definition, session),
                counter=row,
                submitted_at=TUESDAY_9AM,  # stored as 09:00, placed at 09:00:30
                flags=status_flags,
            )
            session.add(Response(**values))
        session.commit()
    # Three QR forms that count in the minute before (the three flagged ones do not): the first
    # tap is the 4th counted response in two minutes, the second one the 5th: a burst.
    tablet.post("/k/answers", json=taps([40, 50], prefix="after-qr"))
    # The same tap pattern three hours later, when the counter was quiet: no burst.
    later = TUESDAY_9AM + timedelta(hours=3)
    arrival["now"] = later + timedelta(hours=1)
    tablet.post("/k/answers", json=taps([40], start=later, prefix="quiet"))
    kiosk = {k: v for k, v in flags_by_id(app).items() if k}
    assert kiosk == {"after-qr-000040": None, "after-qr-000050": BURST, "quiet-000040": None}


def test_a_flagged_tap_takes_no_place_in_the_window(flags_on, arrival, app, tablet):
    # 0, 1 and 2 s: the 2nd and 3rd break the 5-second gap and do not count, so the next taps
    # at 30, 60 and 90 s are the 2nd to 4th counted ones: no burst.
    tablet.post("/k/answers", json=taps([0, 1, 2, 30, 60, 90]))
    assert list(flags_by_id(app).values()) == [None, "kiosk-gap", "kiosk-gap", None, None, None]


def test_hours_are_those_of_the_tap_not_of_the_arrival(flags_on, arrival, app, tablet):
    # Tapped on Tuesday at 09:00, synced at 21:00: open. Tapped on Sunday at 21:00, synced on
    # Monday at 08:00: closed.
    arrival["now"] = TUESDAY_9AM + timedelta(hours=12)
    tablet.post("/k/answers", json=taps([0], prefix="open"))
    sunday_night = datetime(2026, 11, 8, 14, 0)
    arrival["now"] = datetime(2026, 11, 9, 1, 0)
    tablet.post("/k/answers", json=taps([0], start=sunday_night, prefix="closed"))
    flags = flags_by_id(app)
    assert flags == {"open-000000": None, "closed-000000": "out-of-hours"}
    with app.app_context():
        row = db.session().scalar(select(Response).where(Response.flags == "out-of-hours"))
        assert row.evidence == {"out-of-hours": {"opened": "2026-11-08 21:00"}}


@pytest.fixture
def live_windows(app_config):
    """Round-the-clock hours and the rate-limit storage on, as in production."""
    app_config["OPENING_HOURS"] = "Mon-Sun 00:00-23:59"
    app_config["RATELIMIT_ENABLED"] = True


def test_a_tap_sent_at_once_takes_its_place_in_the_counters_live_window(
    flags_on, live_windows, app, tablet, counter
):
    # Tapped just now: the QR form at the same counter after it sees it in the live window.
    now = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=10)
    tablet.post("/k/answers", json=taps([0, 6], start=now, prefix="live"))
    with app.test_request_context():
        window = burst_window(counter_settings(counter.id))
        live = MovingWindowRateLimiter(limiter.storage)
        stats = live.get_window_stats(window, "flag-counter", str(counter.id))
        assert stats.remaining == 2
