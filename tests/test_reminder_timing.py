"""Reminder timing: parsing the settings, DST, far zones, quiet hours, drops and merges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reminder_times import (
    READ_RETRIES,
    Planned,
    QuietHours,
    parse_offsets,
    parse_quiet_hours,
    plan_after_visit,
    plan_reminders,
    read_retry,
)

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
H = timedelta(hours=1)
M = timedelta(minutes=1)
DEFAULTS = (24 * H, 2 * H)
NIGHT = QuietHours(time(22, 0), time(8, 0))
LUNCH = QuietHours(time(13, 0), time(14, 0))
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def plan(
    start: datetime,
    offsets: tuple[timedelta, ...] = DEFAULTS,
    *,
    tz: ZoneInfo = BERLIN,
    quiet: QuietHours | None = None,
    now: datetime = LONG_AGO,
) -> list[tuple[timedelta, datetime]]:
    return [(p.offset, p.due) for p in plan_reminders(start, offsets, tz, quiet, now)]


# Parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h,2h", (24 * H, 2 * H)),
        ("2h,24h", (24 * H, 2 * H)),
        ("30m", (30 * M,)),
        ("1d", (24 * H,)),
        ("90m", (90 * M,)),
        ("1h30m", (90 * M,)),
        (" 1H 30M , 2D ", (48 * H, 90 * M)),
        ("1d2h", (26 * H,)),
        ("24h, 1d, 1440m", (24 * H,)),
        ("90m,1h30m,2h", (2 * H, 90 * M)),
        ("", ()),
        ("   ", ()),
    ],
)
def test_parse_offsets(text: str, expected: tuple[timedelta, ...]) -> None:
    assert parse_offsets(text) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("24h,2x", "'2x'"),
        ("24", "'24'"),
        ("h", "'h'"),
        ("2h30", "'2h30'"),
        ("30m2h", "'30m2h'"),
        ("2.5h", "'2.5h'"),
        ("1w", "'1w'"),
        ("-2h", "'-2h'"),
        ("0h", "'0h'"),
        ("24h,0m", "'0m'"),
        ("99999999999999d", "'99999999999999d'"),
        ("24h,,2h", "empty"),
        ("24h,", "empty"),
        ("٢h", "'٢h'"),
    ],
)
def test_parse_offsets_rejects_with_the_bad_part_and_the_form(text: str, shown: str) -> None:
    with pytest.raises(ValueError, match="24h,2h") as raised:
        parse_offsets(text)
    assert shown in str(raised.value)


def test_offset_errors_read_well_after_the_variable_name() -> None:
    with pytest.raises(ValueError) as raised:
        parse_offsets("24h,2x")
    assert f"REMINDER_OFFSETS: {raised.value}" == (
        "REMINDER_OFFSETS: '2x' is not an offset; "
        "expected a comma-separated list such as 24h,2h (units d, h, m: 1d, 90m, 1h30m)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-08:00", NIGHT),
        ("22-8", NIGHT),
        (" 22 - 08 ", NIGHT),
        ("22:30–07:15", QuietHours(time(22, 30), time(7, 15))),
        ("13:00-14:00", LUNCH),
        ("0-6", QuietHours(time(0), time(6))),
        ("20:00-24:00", QuietHours(time(20), time(0))),
        ("", None),
        ("off", None),
        ("OFF", None),
        (" None ", None),
    ],
)
def test_parse_quiet_hours(text: str, expected: QuietHours | None) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("22:00", "'22:00' is not a time range"),
        ("22:00-", "'22:00-' is not a time range"),
        ("10pm-8am", "'10pm-8am' is not a time range"),
        ("22:0-08:00", "'22:0-08:00' is not a time range"),
        ("yes", "'yes' is not a time range"),
        ("25:00-08:00", "'25:00' is not a time of day"),
        ("22:00-08:60", "'08:60' is not a time of day"),
        ("24:30-08:00", "'24:30' is not a time of day"),
        ("22:00-22:00", "'22:00-22:00' starts and ends at the same time"),
        ("0-24", "'0-24' starts and ends at the same time"),
    ],
)
def test_parse_quiet_hours_rejects_with_the_bad_part_and_the_form(text: str, shown: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_quiet_hours(text)
    message = str(raised.value)
    assert shown in message
    assert "22:00-08:00" in message or "off" in message


def test_quiet_hours_must_have_length() -> None:
    with pytest.raises(ValueError, match="same time"):
        QuietHours(time(22), time(22))
    with pytest.raises(ValueError, match="whole minutes"):
        QuietHours(time(22, 0, 30), time(8))


@pytest.mark.parametrize(
    ("quiet", "inside", "outside"),
    [
        (NIGHT, [time(22), time(23, 59), time(0), time(6, 30), time(7, 59)], [time(8), time(21)]),
        (LUNCH, [time(13), time(13, 59)], [time(12, 59), time(14), time(0), time(23)]),
    ],
)
def test_quiet_hours_contains(quiet: QuietHours, inside: list[time], outside: list[time]) -> None:
    assert all(quiet.contains(t) for t in inside)
    assert not any(quiet.contains(t) for t in outside)


# Ordinary days and defaults


def test_defaults_on_an_ordinary_berlin_day() -> None:
    # Wednesday 10 June 2026, 15:00 CEST (UTC+2).
    planned = plan_reminders(berlin(2026, 6, 10, 15, 0), DEFAULTS, BERLIN, NIGHT, LONG_AGO)
    assert planned == [
        Planned(24 * H, utc(2026, 6, 9, 13, 0)),
        Planned(2 * H, utc(2026, 6, 10, 11, 0)),
    ]
    assert all(p.due.tzinfo is UTC for p in planned)


def test_start_and_now_may_be_in_any_zone() -> None:
    in_tokyo = berlin(2026, 6, 10, 15, 0).astimezone(TOKYO)
    now_in_berlin = berlin(2026, 6, 9, 12, 0)
    assert plan(in_tokyo, now=now_in_berlin) == plan(berlin(2026, 6, 10, 15, 0), now=LONG_AGO)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="start"):
        plan_reminders(datetime(2026, 6, 10, 15), DEFAULTS, BERLIN, None, LONG_AGO)
    with pytest.raises(ValueError, match="now"):
        plan_reminders(berlin(2026, 6, 10, 15), DEFAULTS, BERLIN, None, datetime(2026, 6, 1))
    with pytest.raises(ValueError, match="end"):
        plan_after_visit(datetime(2026, 6, 10, 15), BERLIN, None)


def test_non_positive_offsets_are_refused() -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        plan(berlin(2026, 6, 10, 15), (2 * H, timedelta(0)))


# DST in Berlin: clocks go back 03:00 -> 02:00 on 2026-10-25 and forward 02:00 -> 03:00 on
# 2026-03-29.


def test_autumn_whole_day_offset_keeps_the_wall_clock_time() -> None:
    # Sunday 25 October, 10:00 CET; the 24h reminder is Saturday 10:00 CEST, 25 real hours before.
    start = berlin(2026, 10, 25, 10, 0)
    assert plan(start) == [(24 * H, utc(2026, 10, 24, 8, 0)), (2 * H, utc(2026, 10, 25, 7, 0))]
    assert start - utc(2026, 10, 24, 8, 0) == 25 * H


def test_autumn_monday_appointment() -> None:
    # Monday 26 October 10:00 CET: the reminders are at 10:00 on Sunday and 08:00 on Monday.
    planned = plan(berlin(2026, 10, 26, 10, 0), (48 * H, 24 * H, 2 * H))
    assert [due.astimezone(BERLIN).replace(tzinfo=None) for _, due in planned] == [
        datetime(2026, 10, 24, 10, 0),
        datetime(2026, 10, 25, 10, 0),
        datetime(2026, 10, 26, 8, 0),
    ]
    # Saturday 10:00 is still summer time: 49 real hours for the 48h reminder.
    assert planned[0][1] == utc(2026, 10, 24, 8, 0)


def test_autumn_exact_offsets_count_real_hours() -> None:
    # 04:00 CET on the change night is 03:00 UTC; 3h earlier is 00:00 UTC, the first 02:00
    # (CEST), not the wall-clock 01:00.
    planned = plan(berlin(2026, 10, 25, 4, 0), (3 * H,))
    assert planned == [(3 * H, utc(2026, 10, 25, 0, 0))]
    local = planned[0][1].astimezone(BERLIN)
    assert (local.hour, local.utcoffset()) == (2, 2 * H)
    # 23h is exact, 1d is wall-clock: across the change they are two hours apart.
    start = berlin(2026, 10, 25, 10, 0)
    assert plan(start, (timedelta(days=1), 23 * H)) == [
        (24 * H, utc(2026, 10, 24, 8, 0)),
        (23 * H, utc(2026, 10, 24, 10, 0)),
    ]


def test_autumn_repeated_wall_clock_time_takes_the_first() -> None:
    # Monday 02:30 CET minus a day is Sunday 02:30, which happens twice: the first (CEST) is used.
    assert plan(berlin(2026, 10, 26, 2, 30), (24 * H,)) == [(24 * H, utc(2026, 10, 25, 0, 30))]


def test_spring_whole_day_offset_keeps_the_wall_clock_time() -> None:
    # Sunday 29 March, 10:00 CEST; the 24h reminder is Saturday 10:00 CET, 23 real hours before.
    start = berlin(2026, 3, 29, 10, 0)
    assert plan(start) == [(24 * H, utc(2026, 3, 28, 9, 0)), (2 * H, utc(2026, 3, 29, 6, 0))]
    assert start - utc(2026, 3, 28, 9, 0) == 23 * H
    # Monday 30 March 10:00 CEST: Sunday 10:00 CEST.
    assert plan(berlin(2026, 3, 30, 10, 0), (24 * H,)) == [(24 * H, utc(2026, 3, 29, 8, 0))]


def test_spring_exact_offsets_count_real_hours() -> None:
    # 03:30 CEST is 01:30 UTC; 2h earlier is 23:30 UTC, 00:30 CET, not the wall-clock 01:30.
    planned = plan(berlin(2026, 3, 29, 3, 30), (2 * H,))
    assert planned == [(2 * H, utc(2026, 3, 28, 23, 30))]
    assert planned[0][1].astimezone(BERLIN).time() == time(0, 30)


def test_spring_missing_wall_clock_time_moves_forward_by_the_gap() -> None:
    # Monday 02:30 CEST minus a day is Sunday 02:30, which does not exist: 03:30 CEST instead.
    planned = plan(berlin(2026, 3, 30, 2, 30), (24 * H,))
    assert planned == [(24 * H, utc(2026, 3, 29, 1, 30))]
    assert planned[0][1].astimezone(BERLIN).time() == time(3, 30)


# Zones far from UTC, `now` in UTC


def test_los_angeles_with_now_in_utc() -> None:
    # Wednesday 10 June 09:00 PDT is 16:00 UTC; the reminders are 09:00 and 07:00 PDT.
    start = datetime(2026, 6, 10, 9, 0, tzinfo=LOS_ANGELES)
    assert plan(start, tz=LOS_ANGELES, now=utc(2026, 6, 9, 15, 59)) == [
        (24 * H, utc(2026, 6, 9, 16, 0)),
        (2 * H, utc(2026, 6, 10, 14, 0)),
    ]
    # One minute later the day-before reminder has passed.
    assert plan(start, tz=LOS_ANGELES, now=utc(2026, 6, 9, 16, 0)) == [
        (2 * H, utc(2026, 6, 10, 14, 0))
    ]


def test_los_angeles_quiet_hours_are_local_not_utc() -> None:
    # 07:00 PDT (14:00 UTC) is quiet in Los Angeles: it moves to 21:30 PDT the evening before,
    # which is already the next day in UTC. 09:00 PDT the day before is not quiet.
    start = datetime(2026, 6, 10, 9, 0, tzinfo=LOS_ANGELES)
    assert plan(start, tz=LOS_ANGELES, quiet=NIGHT, now=utc(2026, 6, 9, 12, 0)) == [
        (24 * H, utc(2026, 6, 9, 16, 0)),
        (2 * H, utc(2026, 6, 10, 4, 30)),
    ]


def test_tokyo_with_now_in_utc() -> None:
    # Thursday 11 June 10:00 JST is 01:00 UTC; "now" is late on the 9th in UTC, the 10th in Tokyo.
    start = datetime(2026, 6, 11, 10, 0, tzinfo=TOKYO)
    assert plan(start, tz=TOKYO, quiet=NIGHT, now=utc(2026, 6, 9, 23, 30)) == [
        (24 * H, utc(2026, 6, 10, 1, 0)),
        (2 * H, utc(2026, 6, 10, 23, 0)),
    ]


# Quiet hours


def test_early_morning_reminder_moves_to_the_evening_before() -> None:
    # 2h before 08:30 is 06:30: sent at 21:30 the evening before instead.
    assert plan(berlin(2026, 6, 10, 8, 30), (2 * H,), quiet=NIGHT) == [
        (2 * H, berlin(2026, 6, 9, 21, 30).astimezone(UTC))
    ]


def test_late_evening_reminder_moves_earlier_the_same_evening() -> None:
    # 10h before 09:10 is 23:10: sent at 21:30 the same evening.
    assert plan(berlin(2026, 6, 10, 9, 10), (10 * H,), quiet=NIGHT) == [
        (10 * H, berlin(2026, 6, 9, 21, 30).astimezone(UTC))
    ]


def test_quiet_hours_edges() -> None:
    start = berlin(2026, 6, 10, 10, 0)
    # 22:00 is quiet (moved), 08:00 is not (kept).
    assert plan(start, (12 * H, 2 * H), quiet=NIGHT) == [
        (12 * H, berlin(2026, 6, 9, 21, 30).astimezone(UTC)),
        (2 * H, berlin(2026, 6, 10, 8, 0).astimezone(UTC)),
    ]


def test_quiet_hours_not_wrapping_midnight() -> None:
    # Lunch 13:00-14:00: 13:20 moves to 12:30, 14:00 and 12:59 stay.
    start = berlin(2026, 6, 10, 16, 0)
    offsets = (2 * H + 40 * M, 2 * H, 3 * H + M)
    assert plan(start, offsets, quiet=LUNCH) == [
        (2 * H + 40 * M, berlin(2026, 6, 10, 12, 30).astimezone(UTC)),
        (3 * H + M, berlin(2026, 6, 10, 12, 59).astimezone(UTC)),
        (2 * H, berlin(2026, 6, 10, 14, 0).astimezone(UTC)),
    ]


def test_quiet_hours_on_the_autumn_night() -> None:
    # 2h before Sunday 09:00 CET is 07:00 CET, quiet: 21:30 CEST on Saturday.
    assert plan(berlin(2026, 10, 25, 9, 0), (2 * H,), quiet=NIGHT) == [
        (2 * H, utc(2026, 10, 24, 19, 30))
    ]


def test_quiet_hours_whose_lead_time_does_not_exist() -> None:
    # Quiet from 02:30: 30 minutes before is 02:00, which the spring change skips. Going forward
    # by the gap would land at 03:00, inside quiet hours; the last free minute is used instead.
    quiet = QuietHours(time(2, 30), time(8, 0))
    planned = plan(berlin(2026, 3, 29, 9, 0), (2 * H,), quiet=quiet)
    assert planned == [(2 * H, utc(2026, 3, 29, 0, 59))]
    assert planned[0][1].astimezone(BERLIN).time() == time(1, 59)


# Dropped and merged


def test_reminders_already_past_at_booking_are_dropped() -> None:
    start = berlin(2026, 6, 10, 15, 0)
    # Booked three hours ahead: the day-before reminder is never sent.
    assert plan(start, now=berlin(2026, 6, 10, 12, 0)) == [
        (2 * H, berlin(2026, 6, 10, 13, 0).astimezone(UTC))
    ]
    # Exactly at the due time counts as passed; an hour ahead, nothing is left.
    assert plan(start, now=berlin(2026, 6, 10, 13, 0)) == []
    assert plan(start, now=berlin(2026, 6, 10, 14, 0)) == []


def test_reminder_moved_out_of_quiet_hours_into_the_past_waits_for_the_morning() -> None:
    # Booked at 23:00 for 08:30: 21:30 has already passed, so the 2h one goes out at 08:00.
    assert plan(berlin(2026, 6, 10, 8, 30), quiet=NIGHT, now=berlin(2026, 6, 9, 23, 0)) == [
        (2 * H, berlin(2026, 6, 10, 8, 0).astimezone(UTC))
    ]


def test_a_visit_in_the_night_is_reminded_at_its_own_time() -> None:
    # Booked at 23:00 for 23:30 the same night: the client is up, the 3 minutes stand.
    assert plan(
        berlin(2026, 6, 9, 23, 30), (3 * M,), quiet=NIGHT, now=berlin(2026, 6, 9, 23, 0)
    ) == [(3 * M, berlin(2026, 6, 9, 23, 27).astimezone(UTC))]


def test_quiet_hours_right_before_the_appointment() -> None:
    # Quiet 08:00-10:00 and a 10:00 appointment: 09:00 and 09:59 both move to 07:30 and merge.
    quiet = QuietHours(time(8), time(10))
    assert plan(berlin(2026, 6, 10, 10, 0), (H, M), quiet=quiet) == [
        (M, berlin(2026, 6, 10, 7, 30).astimezone(UTC))
    ]


def test_equal_offsets_merge() -> None:
    assert plan(berlin(2026, 6, 10, 15, 0), (24 * H, timedelta(days=1), 2 * H, 120 * M)) == [
        (24 * H, utc(2026, 6, 9, 13, 0)),
        (2 * H, utc(2026, 6, 10, 11, 0)),
    ]


def test_reminders_moved_to_the_same_evening_merge_keeping_the_smallest_offset() -> None:
    # 3h and 2h before 08:30 are 05:30 and 06:30; both move to 21:30, kept once as the 2h one.
    assert plan(berlin(2026, 6, 10, 8, 30), (3 * H, 2 * H), quiet=NIGHT) == [
        (2 * H, berlin(2026, 6, 9, 21, 30).astimezone(UTC))
    ]


# After the visit


@pytest.mark.parametrize(
    ("end", "quiet", "expected"),
    [
        (berlin(2026, 6, 10, 15, 0), NIGHT, berlin(2026, 6, 10, 17, 0)),
        (berlin(2026, 6, 10, 19, 59), NIGHT, berlin(2026, 6, 10, 21, 59)),
        (berlin(2026, 6, 10, 20, 0), NIGHT, berlin(2026, 6, 11, 8, 0)),
        (berlin(2026, 6, 10, 21, 0), NIGHT, berlin(2026, 6, 11, 8, 0)),
        (berlin(2026, 6, 11, 0, 30), NIGHT, berlin(2026, 6, 11, 8, 0)),
        (berlin(2026, 6, 11, 6, 0), NIGHT, berlin(2026, 6, 11, 8, 0)),
        (berlin(2026, 6, 10, 11, 30), LUNCH, berlin(2026, 6, 10, 14, 0)),
        (berlin(2026, 6, 10, 21, 0), None, berlin(2026, 6, 10, 23, 0)),
        # Saturday evening before the autumn change: Sunday 08:00 is already winter time.
        (berlin(2026, 10, 24, 21, 30), NIGHT, utc(2026, 10, 25, 7, 0)),
    ],
)
def test_after_visit(end: datetime, quiet: QuietHours | None, expected: datetime) -> None:
    due = plan_after_visit(end, BERLIN, quiet)
    assert due == expected
    assert due.tzinfo is UTC


def test_after_visit_delay() -> None:
    end = berlin(2026, 6, 10, 15, 0)
    assert plan_after_visit(end, BERLIN, NIGHT, delay=timedelta(0)) == end
    assert plan_after_visit(end, BERLIN, NIGHT, delay=7 * H) == berlin(2026, 6, 11, 8, 0)
    with pytest.raises(ValueError, match="negative"):
        plan_after_visit(end, BERLIN, NIGHT, delay=-H)


def test_after_visit_in_los_angeles() -> None:
    # 20:30 PDT (03:30 UTC) + 2h is quiet; 08:00 PDT the next morning is 15:00 UTC.
    end = utc(2026, 6, 11, 3, 30)
    assert plan_after_visit(end, LOS_ANGELES, NIGHT) == utc(2026, 6, 11, 15, 0)


# Properties

ZONES = [
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Almaty",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "America/Santiago",  # changes at midnight
    "Australia/Lord_Howe",  # changes by 30 minutes
    "UTC",
]

zones = st.sampled_from(ZONES).map(ZoneInfo)
minutes_of_day = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))
quiet_hours = st.none() | st.tuples(minutes_of_day, minutes_of_day).filter(
    lambda pair: pair[0] != pair[1]
).map(lambda pair: QuietHours(*pair))
starts = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=zones,
)
offset_lists = st.lists(st.integers(1, 14 * 24 * 60).map(lambda m: m * M), max_size=6) | (
    st.lists(st.integers(1, 7).map(lambda d: timedelta(days=d)), max_size=3)
)
lead_times = st.integers(-2 * 24 * 60, 20 * 24 * 60).map(lambda m: m * M)

EXAMPLES = settings(max_examples=400, deadline=None, derandomize=True, database=None)


@EXAMPLES
@given(starts, offset_lists, zones, quiet_hours, lead_times)
def test_planned_reminders_are_between_now_and_start_and_outside_quiet_hours(
    start: datetime,
    offsets: list[timedelta],
    tz: ZoneInfo,
    quiet: QuietHours | None,
    lead: timedelta,
) -> None:
    now = start.astimezone(UTC) - lead
    planned = plan_reminders(start, offsets, tz, quiet, now)
    dues = [p.due for p in planned]
    assert dues == sorted(set(dues))
    for reminder in planned:
        assert reminder.due.tzinfo is UTC
        assert now < reminder.due < start
        assert reminder.offset in offsets
        if quiet is not None and quiet.contains(reminder.due.astimezone(tz).time()):
            # Only a visit inside the night itself is reminded inside it.
            assert plan_after_visit(reminder.due, tz, quiet, timedelta(0)) >= start


@EXAMPLES
@given(starts, offset_lists, zones)
def test_without_quiet_hours_each_offset_is_planned_by_its_rule(
    start: datetime, offsets: list[timedelta], tz: ZoneInfo
) -> None:
    planned = plan_reminders(start, offsets, tz, None, LONG_AGO - timedelta(days=400))
    by_due = {p.due: p.offset for p in planned}
    local_start = start.astimezone(tz).replace(tzinfo=None)
    for offset in offsets:
        if offset % timedelta(days=1):
            due = start.astimezone(UTC) - offset
        else:
            # The same wall-clock time, or later by a DST gap that swallowed it (at most an hour).
            due = next(
                d for d in by_due if d.astimezone(tz).date() == (local_start - offset).date()
            )
            shift = due.astimezone(tz).replace(tzinfo=None) - (local_start - offset)
            assert timedelta(0) <= shift <= timedelta(hours=1)
        assert by_due[due] <= offset


@EXAMPLES
@given(starts, zones, quiet_hours, st.integers(0, 24 * 60).map(lambda m: m * M))
def test_after_visit_is_never_early_nor_quiet(
    end: datetime, tz: ZoneInfo, quiet: QuietHours | None, delay: timedelta
) -> None:
    # In UTC: aware arithmetic in a ZoneInfo zone is wall-clock arithmetic.
    earliest = end.astimezone(UTC) + delay
    due = plan_after_visit(end, tz, quiet, delay)
    assert due.tzinfo is UTC
    assert due >= earliest
    if quiet is None or not quiet.contains(earliest.astimezone(tz).time()):
        assert due == earliest
    else:
        assert not quiet.contains(due.astimezone(tz).time())
        assert due - earliest <= timedelta(days=1, hours=1)


# --- reading an appointment again before its reminder ---------------------------------------


def _retries(start: datetime, due: datetime, quiet: QuietHours | None = None) -> list[datetime]:
    """The times a reminder due at `due` reads its appointment again while every read fails."""
    tries = []
    now = due
    attempts = 0
    while True:
        again = read_retry(
            attempts, now, start, since=due, before_visit=True, tz=BERLIN, quiet=quiet
        )
        if again is None:
            return tries
        tries.append(again)
        now, attempts = again, attempts + 1


def test_a_day_ahead_reminder_waits_an_hour_at_most_for_a_read() -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)
    due = start - timedelta(hours=24)
    tries = _retries(start, due)
    gaps = [b - a for a, b in zip([due, *tries], tries, strict=False)]
    assert gaps == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert tries[-1] - due <= timedelta(hours=1)


def test_a_two_hour_reminder_waits_a_quarter_of_an_hour_at_most() -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)
    tries = _retries(start, start - timedelta(hours=2))
    assert tries and tries[-1] - (start - timedelta(hours=2)) <= timedelta(minutes=15)


def test_a_reminder_close_to_the_visit_goes_out_at_once() -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)
    assert _retries(start, start - timedelta(minutes=30)) == []


def test_a_retry_never_falls_in_quiet_hours() -> None:
    quiet = QuietHours(time(22), time(8))
    start = datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)
    due = datetime(2026, 11, 27, 21, 58, tzinfo=BERLIN)
    assert all(not quiet.contains(t.astimezone(BERLIN).time()) for t in _retries(start, due, quiet))


def test_an_after_visit_message_gives_up_after_six_reads() -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)
    now = start + timedelta(hours=3)
    attempts = 0
    while (
        again := read_retry(
            attempts, now, start, since=now, before_visit=False, tz=BERLIN, quiet=None
        )
    ) is not None:
        now, attempts = again, attempts + 1
    assert attempts == READ_RETRIES
