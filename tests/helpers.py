"""Helpers shared by the tests."""

import re
from datetime import UTC, datetime


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs (csrf_token, nonce) of a rendered form."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


SIPAS_ITEMS = [
    "A1",
    "A2",
    "A3",
    "B1",
    "B2",
    "B3",
    "B4",
    "C1",
    "C2",
    "C3",
    "D1",
    "D2",
    "D3",
    "E1",
    "E2",
    "E3",
]


def full_answers(value: str = "4") -> dict[str, str]:
    """Return an answer for every required SIPAS item."""
    return {key: value for key in SIPAS_ITEMS}


# A Tuesday morning in Vietnam (09:00, UTC+7): the counters are open.
TUESDAY_9AM = datetime(2026, 11, 3, 2, 0, tzinfo=UTC).timestamp()
# A Sunday evening in Vietnam (21:00): closed.
SUNDAY_9PM = datetime(2026, 11, 8, 14, 0, tzinfo=UTC).timestamp()


class Clock:
    """A time.time() the test moves by hand."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now += seconds
