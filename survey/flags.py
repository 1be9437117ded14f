"""Why a response was flagged: the reason codes stored with it and their words for people.

A flagged response is kept but left out of every index until a reviewer restores it. The
citizen's submission decides the flags (survey/citizen/flagging.py); the console's review and
the results pages show them with these labels.
"""

import enum

from flask_babel import lazy_gettext as _l


class Flag(enum.StrEnum):
    """A reason to doubt a response, as stored in `Response.flags`."""

    TOO_FAST = "too-fast"  # sent sooner after the form was issued than a person can read it
    COUNTER_BURST = "counter-burst"  # more responses at the counter than it can serve
    REPEAT_CLIENT = "repeat-client"  # many from one browser session or one address at a counter
    OUT_OF_HOURS = "out-of-hours"  # form opened outside the agency's opening hours
    KIOSK_GAP = "kiosk-gap"  # tapped on a kiosk sooner after the previous answer than a person


LABELS = {
    Flag.TOO_FAST: _l("Sent too fast to have been read"),
    Flag.COUNTER_BURST: _l("More responses at the counter than it can serve"),
    Flag.REPEAT_CLIENT: _l("Many responses from one browser or one address at the counter"),
    Flag.OUT_OF_HOURS: _l("Form opened outside opening hours"),
    Flag.KIOSK_GAP: _l("Tapped on the kiosk too soon after the previous answer"),
}


def encode_flags(flags: list[Flag]) -> str | None:
    """Return the stored form of `flags`: codes joined by commas, in a fixed order; None if none."""
    return ",".join(f.value for f in Flag if f in flags) or None


def decode_flags(stored: str | None) -> list[Flag]:
    """Return the flags of a stored `Response.flags` value (unknown codes are skipped)."""
    known = {f.value: f for f in Flag}
    return [known[code] for code in (stored or "").split(",") if code in known]
