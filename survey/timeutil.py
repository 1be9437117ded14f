"""Times: stored in UTC, shown and grouped in Vietnam's time (Asia/Ho_Chi_Minh)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def to_utc_naive(moment: datetime) -> datetime:
    """Return `moment` as a naive UTC datetime; a naive input is taken as Vietnam's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(UTC).replace(tzinfo=None)


def vietnam_day(moment_utc: datetime) -> int:
    """Return the calendar day in Vietnam (as YYYYMMDD) of a naive UTC datetime."""
    local = moment_utc.replace(tzinfo=UTC).astimezone(VIETNAM)
    return local.year * 10000 + local.month * 100 + local.day


def day_number(day: date) -> int:
    """Return a date as the YYYYMMDD number used to group responses."""
    return day.year * 10000 + day.month * 100 + day.day
