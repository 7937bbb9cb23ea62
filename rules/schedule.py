"""Recurrences for scheduled jobs (digests now, themed events later): parsing what an operator
types, the canonical text form, and when a job is due in the group's time zone.

Pure: `now` is always passed in as an aware datetime; results are aware datetimes in the zone
asked for. DST follows zoneinfo: a local time that does not exist (spring forward) moves
forward by the gap, an ambiguous one (fall back) runs at its first occurrence. Compare results
with <, > or as UTC: Python never calls a time in a repeated hour == one in another zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = frozenset(range(7))
_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EN_DAYS = {
    **{name: i for i, name in enumerate(_NAMES)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_ZH_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_DAY = re.compile(r"^每?(?:周|星期|礼拜)([一二三四五六日天])$")
_DAILY = frozenset({"", "daily", "everyday", "every day", "每天", "每日"})
_GROUPS = {
    "weekdays": frozenset(range(5)),
    "workdays": frozenset(range(5)),
    "工作日": frozenset(range(5)),
    "weekend": frozenset({5, 6}),
    "weekends": frozenset({5, 6}),
    "周末": frozenset({5, 6}),
    "每周末": frozenset({5, 6}),
}
# The time ends the text; the look-behind keeps "109:00" from reading as day "1" at 09:00.
_TIME = re.compile(r"^(.*?)\s*(?<!\d)(\d{1,2})[:：](\d{2})$")
_TIME_ERROR = "time must be HH:MM between 00:00 and 23:59"
# Day lists may be typed with spaces or Chinese punctuation around their separators.
_LIST_SEP = re.compile(r"\s*[,，、]\s*")
_RANGE_SEP = re.compile(r"\s*(?:-|~|～|至|到)\s*")


class ScheduleError(ValueError):
    """The text is not a recurrence; the message says why in a few English words."""


@dataclass(frozen=True)
class Recurrence:
    hour: int
    minute: int
    weekdays: frozenset[int]  # 0 = Monday .. 6 = Sunday; all seven = daily

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ScheduleError(_TIME_ERROR)
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            raise ScheduleError("weekdays must be a non-empty set of 0 (Monday) .. 6 (Sunday)")

    @property
    def is_daily(self) -> bool:
        return self.weekdays == ALL_DAYS


def _day(token: str) -> int:
    if token in _EN_DAYS:
        return _EN_DAYS[token]
    match = _ZH_DAY.match(token)
    if match is None:
        raise ScheduleError(f"unknown day '{token}'")
    return _ZH_DAYS[match.group(1)]


def _days(text: str) -> frozenset[int]:
    text = text.strip()
    if text in _DAILY:
        return ALL_DAYS
    if text.startswith("weekly"):
        text = text.removeprefix("weekly").strip()
        if not text:
            raise ScheduleError("weekly needs a day, e.g. 'weekly mon 09:00'")
    if text in _GROUPS:
        return _GROUPS[text]
    days: set[int] = set()
    for item in _LIST_SEP.split(text):
        ends = _RANGE_SEP.split(item)
        if len(ends) == 1:
            days.add(_day(item))
        elif len(ends) == 2 and all(ends):
            first, last = _day(ends[0]), _day(ends[1])
            # A range may wrap past Sunday: "fri-mon" is Friday to Monday.
            days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise ScheduleError(f"unknown day '{item}'")
    return frozenset(days)


def parse_recurrence(text: str) -> Recurrence:
    """Read '09:00', 'daily 09:00', 'mon,thu 20:00', 'mon-fri 08:30', '每周一 09:00', ...

    Also '工作日 08:30' (Mon-Fri) and '周末 10:00'. Case and extra spaces do not matter; anything
    else raises ScheduleError saying why.
    """
    normal = " ".join(text.lower().split())
    match = _TIME.match(normal)
    if match is None:
        raise ScheduleError(_TIME_ERROR)
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ScheduleError(_TIME_ERROR)
    return Recurrence(hour, minute, _days(match.group(1)))


def format_recurrence(r: Recurrence) -> str:
    """Canonical text that parses back to `r`: 'daily 09:00', 'mon,thu 20:00', 'mon-fri 08:30'."""
    clock = f"{r.hour:02d}:{r.minute:02d}"
    if r.is_daily:
        return f"daily {clock}"
    runs: list[list[int]] = []
    for day in sorted(r.weekdays):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    # Three or more days in a row read better as a range; two stay a list ("sat,sun").
    parts = [
        f"{_NAMES[run[0]]}-{_NAMES[run[-1]]}" if len(run) >= 3 else ",".join(_NAMES[d] for d in run)
        for run in runs
    ]
    return f"{','.join(parts)} {clock}"


def _local(when: datetime, tz: ZoneInfo) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("datetimes passed to the scheduler must be aware")
    return when.astimezone(tz)


def _at(r: Recurrence, day: date, tz: ZoneInfo) -> datetime | None:
    """The occurrence on local `day`, or None when the recurrence skips that weekday."""
    if day.weekday() not in r.weekdays:
        return None
    wall = datetime.combine(day, time(r.hour, r.minute), tzinfo=tz)
    # Via UTC, fold=0 turns a nonexistent wall time into the real instant one gap later and
    # picks the first of two ambiguous ones.
    return wall.astimezone(UTC).astimezone(tz)


def occurrences_between(
    r: Recurrence, start: datetime, end: datetime, tz: ZoneInfo
) -> list[datetime]:
    """Every occurrence t with start < t <= end, in order."""
    first, last = _local(start, tz).date(), _local(end, tz).date()
    found = []
    # One day of margin each side: a DST shift can move an occurrence across local midnight.
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        at = _at(r, day, tz)
        if at is not None and start < at <= end:
            found.append(at)
        day += timedelta(days=1)
    return sorted(set(found))


def _candidates(r: Recurrence, now: datetime, tz: ZoneInfo, days: range) -> list[datetime]:
    today = _local(now, tz).date()
    found = (_at(r, today + timedelta(days=k), tz) for k in days)
    return [at for at in found if at is not None]


def last_due(r: Recurrence, now: datetime, tz: ZoneInfo) -> datetime:
    """The latest occurrence at or before `now`."""
    # Every weekday recurs within seven days; the extra day covers DST shifts across midnight.
    return max(at for at in _candidates(r, now, tz, range(-8, 2)) if at <= now)


def next_due(r: Recurrence, now: datetime, tz: ZoneInfo) -> datetime:
    """The earliest occurrence after `now`."""
    return min(at for at in _candidates(r, now, tz, range(-1, 9)) if at > now)


def missed(
    r: Recurrence,
    last_run: datetime | None,
    now: datetime,
    tz: ZoneInfo,
    grace: timedelta,
    created: datetime,
) -> datetime | None:
    """The occurrence a restart skipped that should still run now, if any.

    That is last_due(now) when it is later than the last run (or than the job's creation, for a
    job that never ran) and no more than `grace` ago; a job is never run for a time before it
    existed, and a stale digest is worse than none.
    """
    due = last_due(r, now, tz)
    since = last_run if last_run is not None else created
    if due > _local(since, tz) and now - due <= grace:
        return due
    return None
