"""Opening hours of an agency's counters, in Vietnam's time: "Mon-Fri 07:00-17:00; Sat 07:30-11:30".

Written by staff (console, imports) and read when a form is issued: a form opened outside them
is flagged for review. Days are Mon Tue Wed Thu Fri Sat Sun (or T2 T3 T4 T5 T6 T7 CN), alone or
as a range; each part of the text gives days and one time span, and parts are joined by ";".
"""

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

DAYS = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("t2", "t3", "t4", "t5", "t6", "t7", "cn"))},
}
_PART = re.compile(
    r"^\s*(?P<first>[a-z0-9]+)(?:\s*-\s*(?P<last>[a-z0-9]+))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True)
class Span:
    """Days of the week (0 = Monday) and minutes after midnight, from start to end."""

    days: frozenset[int]
    start: int
    end: int


def _minutes(text: str) -> int | None:
    hours, minutes = (int(x) for x in text.split(":"))
    return hours * 60 + minutes if hours < 24 and minutes < 60 else None


def parse_hours(text: str) -> tuple[Span, ...]:
    """Return the spans of an opening-hours text, or raise ValueError saying what is wrong."""
    spans = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = _PART.match(part.lower())
        if match is None:
            raise ValueError(
                _("'%(part)s' is not like 'Mon-Fri 07:00-17:00' or 'T7 07:30-11:30'", part=part)
            )
        first, last = match["first"], match["last"] or match["first"]
        if first not in DAYS or last not in DAYS:
            raise ValueError(_("'%(part)s' names an unknown day", part=part))
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if start is None or end is None or start >= end:
            raise ValueError(_("'%(part)s' does not give a time span within one day", part=part))
        day_range = range(DAYS[first], DAYS[last] + 1) if DAYS[first] <= DAYS[last] else ()
        if not day_range:
            raise ValueError(_("'%(part)s' names its days in the wrong order", part=part))
        spans.append(Span(frozenset(day_range), start, end))
    if not spans:
        raise ValueError(_("Opening hours are empty."))
    return tuple(spans)


def is_open(spans: tuple[Span, ...], local: datetime) -> bool:
    """Tell whether `local` (Vietnam's time) falls within the opening hours."""
    minute = local.hour * 60 + local.minute
    return any(local.weekday() in s.days and s.start <= minute < s.end for s in spans)
