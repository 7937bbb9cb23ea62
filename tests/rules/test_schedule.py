from datetime import UTC, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest

from rules.schedule import (
    ALL_DAYS,
    Recurrence,
    ScheduleError,
    format_recurrence,
    last_due,
    missed,
    next_due,
    occurrences_between,
    parse_recurrence,
)

BERLIN = ZoneInfo("Europe/Berlin")  # spring forward 2026-03-29 02:00 -> 03:00, back 2026-10-25
SHANGHAI = ZoneInfo("Asia/Shanghai")  # no DST, UTC+8
WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
TIME_ERROR = "time must be HH:MM between 00:00 and 23:59"


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


def daily(hour: int, minute: int = 0) -> Recurrence:
    return Recurrence(hour, minute, ALL_DAYS)


# --- parsing and formatting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hour", "minute", "days"),
    [
        ("09:00", 9, 0, ALL_DAYS),
        ("9:00", 9, 0, ALL_DAYS),
        ("00:00", 0, 0, ALL_DAYS),
        ("23:59", 23, 59, ALL_DAYS),
        ("daily 09:00", 9, 0, ALL_DAYS),
        ("  DAILY   7:05 ", 7, 5, ALL_DAYS),
        ("every day 06:00", 6, 0, ALL_DAYS),
        ("weekly mon 09:00", 9, 0, {0}),
        ("Weekly  Sunday 10:00", 10, 0, {6}),
        ("mon 09:00", 9, 0, {0}),
        ("monday 9:00", 9, 0, {0}),
        ("tues 9:00", 9, 0, {1}),
        ("mon,thu 20:00", 20, 0, {0, 3}),
        ("Mon, Thu 20:00", 20, 0, {0, 3}),
        ("mon-fri 08:30", 8, 30, WORKDAYS),
        ("mon - fri 08:30", 8, 30, WORKDAYS),
        ("fri-mon 18:00", 18, 0, {4, 5, 6, 0}),
        ("mon-wed,sat 12:00", 12, 0, {0, 1, 2, 5}),
        ("sat,sun 10:00", 10, 0, WEEKEND),
        ("weekdays 08:30", 8, 30, WORKDAYS),
        ("weekend 10:00", 10, 0, WEEKEND),
        ("每天 09:00", 9, 0, ALL_DAYS),
        ("每日 9:00", 9, 0, ALL_DAYS),
        ("每天09:00", 9, 0, ALL_DAYS),
        ("每周一 09:00", 9, 0, {0}),
        ("周五 20:00", 20, 0, {4}),
        ("星期五 20:00", 20, 0, {4}),
        ("周日 9:30", 9, 30, {6}),
        ("星期天 9:30", 9, 30, {6}),
        ("礼拜三 9:30", 9, 30, {2}),
        ("工作日 08:30", 8, 30, WORKDAYS),
        ("周末 10:00", 10, 0, WEEKEND),
        ("周一至周五 08:30", 8, 30, WORKDAYS),
        ("周一、周四 20:00", 20, 0, {0, 3}),
        ("周二，周六 20:00", 20, 0, {1, 5}),
        ("每周一 09：00", 9, 0, {0}),
    ],
    ids=[
        "hh-mm",
        "h-mm",
        "midnight",
        "last-minute",
        "daily",
        "daily-spaces-upper",
        "every-day",
        "weekly-mon",
        "weekly-sunday",
        "mon",
        "monday",
        "tues",
        "list",
        "list-spaces",
        "range",
        "range-spaces",
        "range-wraps",
        "range-and-day",
        "weekend-list",
        "weekdays",
        "weekend",
        "zh-every-day",
        "zh-every-day-alt",
        "zh-no-space",
        "zh-every-monday",
        "zh-friday",
        "zh-xingqi-friday",
        "zh-sunday",
        "zh-xingqitian",
        "zh-libai",
        "zh-workdays",
        "zh-weekend",
        "zh-range",
        "zh-list",
        "zh-fullwidth-comma",
        "zh-fullwidth-colon",
    ],
)
def test_parse_accepts(text, hour, minute, days):
    assert parse_recurrence(text) == Recurrence(hour, minute, frozenset(days))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", TIME_ERROR),
        ("   ", TIME_ERROR),
        ("9", TIME_ERROR),
        ("0900", TIME_ERROR),
        ("24:00", TIME_ERROR),
        ("23:60", TIME_ERROR),
        ("9:5", TIME_ERROR),
        ("109:00", TIME_ERROR),
        ("mon 9:00 pm", TIME_ERROR),
        ("daily", TIME_ERROR),
        ("-1:00", "unknown day '-'"),
        ("xyz 09:00", "unknown day 'xyz'"),
        ("Funday 09:00", "unknown day 'funday'"),
        ("mon,,thu 09:00", "unknown day ''"),
        ("mon thu 09:00", "unknown day 'mon thu'"),
        ("mon-tue-wed 09:00", "unknown day 'mon-tue-wed'"),
        ("周八 09:00", "unknown day '周八'"),
        ("每周 09:00", "unknown day '每周'"),
        ("weekly 09:00", "weekly needs a day, e.g. 'weekly mon 09:00'"),
    ],
    ids=[
        "empty",
        "blank",
        "hour-only",
        "no-colon",
        "hour-24",
        "minute-60",
        "one-digit-minute",
        "three-digit-hour",
        "am-pm",
        "no-time",
        "negative",
        "unknown-word",
        "unknown-name",
        "empty-list-item",
        "missing-comma",
        "double-range",
        "zh-unknown-day",
        "zh-no-day",
        "weekly-without-day",
    ],
)
def test_parse_rejects_with_reason(text, message):
    with pytest.raises(ScheduleError) as caught:
        parse_recurrence(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("hour", "minute", "days"),
    [
        (24, 0, ALL_DAYS),
        (9, 60, ALL_DAYS),
        (-1, 0, ALL_DAYS),
        (9, 0, frozenset()),
        (9, 0, frozenset({7})),
    ],
    ids=["hour", "minute", "negative", "no-days", "day-seven"],
)
def test_recurrence_rejects_nonsense(hour, minute, days):
    with pytest.raises(ScheduleError):
        Recurrence(hour, minute, days)


@pytest.mark.parametrize(
    ("days", "hour", "minute", "text"),
    [
        (ALL_DAYS, 9, 0, "daily 09:00"),
        ({0, 3}, 20, 0, "mon,thu 20:00"),
        (WORKDAYS, 8, 30, "mon-fri 08:30"),
        (WEEKEND, 10, 0, "sat,sun 10:00"),
        ({0, 1, 2, 4, 5, 6}, 7, 0, "mon-wed,fri-sun 07:00"),
        ({6}, 0, 5, "sun 00:05"),
        ({0, 2, 4}, 23, 59, "mon,wed,fri 23:59"),
        ({0, 1}, 12, 0, "mon,tue 12:00"),
    ],
    ids=["daily", "two-days", "workdays", "weekend", "two-ranges", "one-day", "alternate", "pair"],
)
def test_format_recurrence(days, hour, minute, text):
    r = Recurrence(hour, minute, frozenset(days))
    assert format_recurrence(r) == text
    assert r.is_daily is (text.startswith("daily"))


def test_format_parses_back_for_every_day_set():
    for size in range(1, 8):
        for days in combinations(range(7), size):
            r = Recurrence(6, 45, frozenset(days))
            assert parse_recurrence(format_recurrence(r)) == r


# --- when it is due --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "now", "tz", "last", "next_"),
    [
        (
            daily(23, 30),
            at(SHANGHAI, 2026, 3, 10, 0, 10),
            SHANGHAI,
            at(SHANGHAI, 2026, 3, 9, 23, 30),
            at(SHANGHAI, 2026, 3, 10, 23, 30),
        ),
        (
            daily(0, 15),
            at(SHANGHAI, 2026, 3, 9, 23, 50),
            SHANGHAI,
            at(SHANGHAI, 2026, 3, 9, 0, 15),
            at(SHANGHAI, 2026, 3, 10, 0, 15),
        ),
        # now in UTC is already the next local day in Shanghai
        (
            daily(8, 0),
            at(UTC, 2026, 3, 9, 23, 0),
            SHANGHAI,
            at(SHANGHAI, 2026, 3, 9, 8, 0),
            at(SHANGHAI, 2026, 3, 10, 8, 0),
        ),
        (
            daily(9, 0),
            at(SHANGHAI, 2026, 3, 9, 9, 0),
            SHANGHAI,
            at(SHANGHAI, 2026, 3, 9, 9, 0),
            at(SHANGHAI, 2026, 3, 10, 9, 0),
        ),
        (
            parse_recurrence("mon 09:00"),
            at(BERLIN, 2026, 3, 29, 20, 0),
            BERLIN,
            at(BERLIN, 2026, 3, 23, 9, 0),
            at(BERLIN, 2026, 3, 30, 9, 0),
        ),
        (
            parse_recurrence("sun 10:00"),
            at(BERLIN, 2026, 3, 30, 8, 0),
            BERLIN,
            at(BERLIN, 2026, 3, 29, 10, 0),
            at(BERLIN, 2026, 4, 5, 10, 0),
        ),
        (
            parse_recurrence("fri 18:00"),
            at(SHANGHAI, 2026, 1, 1, 12, 0),
            SHANGHAI,
            at(SHANGHAI, 2025, 12, 26, 18, 0),
            at(SHANGHAI, 2026, 1, 2, 18, 0),
        ),
        (
            parse_recurrence("mon-fri 08:30"),
            at(SHANGHAI, 2026, 3, 7, 12, 0),
            SHANGHAI,
            at(SHANGHAI, 2026, 3, 6, 8, 30),
            at(SHANGHAI, 2026, 3, 9, 8, 30),
        ),
    ],
    ids=[
        "after-midnight",
        "before-midnight",
        "utc-now-next-local-day",
        "exactly-at",
        "sunday-to-monday",
        "monday-back-to-sunday",
        "year-end",
        "weekend-skipped",
    ],
)
def test_last_and_next_due(r, now, tz, last, next_):
    assert last_due(r, now, tz) == last
    assert next_due(r, now, tz) == next_
    assert last_due(r, now, tz).tzinfo is tz
    assert next_due(r, now, tz).tzinfo is tz


def test_due_times_keep_local_wall_time_across_dst():
    r = parse_recurrence("mon 09:00")
    now = at(BERLIN, 2026, 3, 29, 20, 0)
    assert last_due(r, now, BERLIN).utcoffset() == timedelta(hours=1)
    assert next_due(r, now, BERLIN).utcoffset() == timedelta(hours=2)
    assert next_due(r, now, BERLIN) == at(UTC, 2026, 3, 30, 7, 0)
    nine = daily(9)
    before_nine = at(BERLIN, 2026, 3, 29, 8, 0)
    assert last_due(nine, before_nine, BERLIN) == at(UTC, 2026, 3, 28, 8, 0)
    assert next_due(nine, before_nine, BERLIN) == at(UTC, 2026, 3, 29, 7, 0)


@pytest.mark.parametrize(
    ("now", "last", "next_"),
    [
        (at(BERLIN, 2026, 3, 29, 4, 0), at(UTC, 2026, 3, 29, 1, 30), at(UTC, 2026, 3, 30, 0, 30)),
        (at(BERLIN, 2026, 3, 29, 1, 0), at(UTC, 2026, 3, 28, 1, 30), at(UTC, 2026, 3, 29, 1, 30)),
        (at(UTC, 2026, 3, 29, 1, 30), at(UTC, 2026, 3, 29, 1, 30), at(UTC, 2026, 3, 30, 0, 30)),
        (at(UTC, 2026, 3, 29, 1, 29), at(UTC, 2026, 3, 28, 1, 30), at(UTC, 2026, 3, 29, 1, 30)),
    ],
    ids=["after-gap", "before-gap", "at-moved-time", "just-before-moved-time"],
)
def test_nonexistent_local_time_moves_forward(now, last, next_):
    # 02:30 does not exist in Berlin on 2026-03-29: it runs at 03:30 CEST (01:30 UTC).
    r = daily(2, 30)
    assert last_due(r, now, BERLIN) == last
    assert next_due(r, now, BERLIN) == next_


def test_ambiguous_local_time_runs_once_at_first():
    r = daily(2, 30)
    start, end = at(UTC, 2026, 10, 24, 12, 0), at(UTC, 2026, 10, 25, 12, 0)
    # Compared as text: Python never calls a time in a repeated hour equal to one in another zone.
    found = occurrences_between(r, start, end, BERLIN)
    assert [t.isoformat() for t in found] == ["2026-10-25T02:30:00+02:00"]
    assert found[0].timestamp() == at(UTC, 2026, 10, 25, 0, 30).timestamp()
    assert next_due(r, found[0], BERLIN).isoformat() == "2026-10-26T02:30:00+01:00"
    assert last_due(r, at(UTC, 2026, 10, 25, 1, 45), BERLIN).isoformat() == found[0].isoformat()


def test_occurrences_between_across_dst():
    found = occurrences_between(
        daily(2, 30), at(BERLIN, 2026, 3, 27, 0, 0), at(BERLIN, 2026, 3, 31, 0, 0), BERLIN
    )
    assert [t.isoformat() for t in found] == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_occurrences_between_excludes_start_includes_end():
    r = parse_recurrence("mon,thu 20:00")
    start = at(SHANGHAI, 2026, 3, 2, 20, 0)  # a Monday, on the occurrence
    end = at(UTC, 2026, 3, 12, 12, 0)  # Thursday 20:00 in Shanghai
    assert occurrences_between(r, start, end, SHANGHAI) == [
        at(SHANGHAI, 2026, 3, 5, 20, 0),
        at(SHANGHAI, 2026, 3, 9, 20, 0),
        at(SHANGHAI, 2026, 3, 12, 20, 0),
    ]
    assert occurrences_between(r, end, end, SHANGHAI) == []
    assert occurrences_between(r, end, start, SHANGHAI) == []


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        last_due(daily(9), datetime(2026, 3, 1, 9, 0), BERLIN)


# --- catching up after a restart -------------------------------------------------------------

CREATED = at(BERLIN, 2026, 1, 1, 0, 0)
TWO_HOURS = timedelta(hours=2)


@pytest.mark.parametrize(
    ("r", "last_run", "now", "grace", "created", "expected"),
    [
        (
            daily(9),
            at(BERLIN, 2026, 3, 9, 9, 0),
            at(BERLIN, 2026, 3, 10, 10, 0),
            TWO_HOURS,
            CREATED,
            at(BERLIN, 2026, 3, 10, 9, 0),
        ),
        (
            daily(9),
            at(BERLIN, 2026, 3, 9, 9, 0),
            at(BERLIN, 2026, 3, 10, 11, 0),
            TWO_HOURS,
            CREATED,
            at(BERLIN, 2026, 3, 10, 9, 0),
        ),
        (
            daily(9),
            at(BERLIN, 2026, 3, 9, 9, 0),
            at(BERLIN, 2026, 3, 10, 11, 1),
            TWO_HOURS,
            CREATED,
            None,
        ),
        (
            daily(9),
            at(BERLIN, 2026, 3, 10, 9, 0, 5),
            at(BERLIN, 2026, 3, 10, 10, 0),
            TWO_HOURS,
            CREATED,
            None,
        ),
        (
            daily(9),
            at(BERLIN, 2026, 3, 10, 9, 0),
            at(BERLIN, 2026, 3, 10, 10, 0),
            TWO_HOURS,
            CREATED,
            None,
        ),
        (
            daily(9),
            None,
            at(BERLIN, 2026, 3, 10, 9, 30),
            TWO_HOURS,
            at(BERLIN, 2026, 3, 9, 12, 0),
            at(BERLIN, 2026, 3, 10, 9, 0),
        ),
        (
            daily(9),
            None,
            at(BERLIN, 2026, 3, 10, 9, 30),
            TWO_HOURS,
            at(BERLIN, 2026, 3, 10, 9, 10),
            None,
        ),
        (
            daily(9),
            None,
            at(UTC, 2026, 3, 10, 8, 30),
            TWO_HOURS,
            at(UTC, 2026, 3, 10, 7, 59),
            at(BERLIN, 2026, 3, 10, 9, 0),
        ),
        (
            parse_recurrence("mon 09:00"),
            at(UTC, 2026, 3, 23, 8, 0),
            at(BERLIN, 2026, 3, 30, 9, 15),
            TWO_HOURS,
            CREATED,
            at(BERLIN, 2026, 3, 30, 9, 0),
        ),
        (
            parse_recurrence("mon 09:00"),
            at(UTC, 2026, 3, 23, 8, 0),
            at(BERLIN, 2026, 3, 29, 9, 15),
            timedelta(days=7),
            CREATED,
            None,
        ),
        (
            daily(2, 30),
            at(BERLIN, 2026, 3, 28, 2, 30),
            at(BERLIN, 2026, 3, 29, 3, 45),
            timedelta(minutes=30),
            CREATED,
            at(BERLIN, 2026, 3, 29, 3, 30),
        ),
        (
            daily(2, 30),
            at(BERLIN, 2026, 3, 28, 2, 30),
            at(BERLIN, 2026, 3, 29, 4, 1),
            timedelta(minutes=30),
            CREATED,
            None,
        ),
    ],
    ids=[
        "within-grace",
        "at-grace",
        "past-grace",
        "already-ran",
        "ran-exactly-then",
        "never-ran-created-before",
        "never-ran-created-after",
        "created-in-utc",
        "weekly-last-run-in-utc",
        "weekly-nothing-new",
        "dst-moved-time",
        "dst-past-grace",
    ],
)
def test_missed_in_berlin(r, last_run, now, grace, created, expected):
    result = missed(r, last_run, now, BERLIN, grace, created)
    assert result == expected
    if expected is not None:
        assert (result.tzinfo, result.utcoffset()) == (BERLIN, expected.utcoffset())


def test_missed_across_midnight():
    r = daily(23, 30)
    last_run = at(SHANGHAI, 2026, 3, 7, 23, 30)
    hour = timedelta(hours=1)
    now = at(SHANGHAI, 2026, 3, 10, 0, 20)
    assert missed(r, last_run, now, SHANGHAI, hour, CREATED) == at(SHANGHAI, 2026, 3, 9, 23, 30)
    later = at(SHANGHAI, 2026, 3, 10, 0, 31)
    assert missed(r, last_run, later, SHANGHAI, hour, CREATED) is None
