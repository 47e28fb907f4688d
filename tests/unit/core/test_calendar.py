"""Business calendar: SLA deadlines an operator can check by hand, plus property tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.core.calendar import (
    BusinessCalendar,
    HolidayTable,
    TimeRange,
    WeeklyHours,
    cn_holidays,
)

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)

OFFICE = BusinessCalendar()  # Mon-Fri 09:00-18:00, Asia/Shanghai, national holidays
LUNCH = BusinessCalendar(hours=WeeklyHours.weekdays("09:00-12:00", "13:00-18:00"))


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock moment, as the UTC instant the calendar takes."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


# ------------------------------------------------------------------------ data file


def test_packaged_data_covers_2024_to_2027_with_sources() -> None:
    resource = resources.files("kefu.core").joinpath("data").joinpath("cn_holidays.json")
    raw = json.loads(resource.read_text(encoding="utf-8"))
    table = cn_holidays()
    for year in (2024, 2025, 2026, 2027):
        assert table.covers(year)
        assert table.years[year].source
        assert str(year) in raw["years"]
    assert not any(table.is_provisional(year) for year in (2024, 2025, 2026))
    assert table.is_provisional(2027)
    assert table.years[2027].note


def test_every_makeup_workday_is_a_weekend_day() -> None:
    for schedule in cn_holidays().years.values():
        for day, reason in schedule.makeup_workdays:
            assert day.weekday() >= 5, day
            assert reason


@pytest.mark.parametrize(
    ("year", "working_days"),
    [(2024, 251), (2025, 248), (2026, 248)],
)
def test_working_days_per_year_match_the_official_notices(year: int, working_days: int) -> None:
    measured = OFFICE.working_time_between(sh(year, 1, 1), sh(year + 1, 1, 1))
    assert measured == working_days * 9 * HOUR


def test_spring_festival_lasts_eight_days_from_the_eve_since_2025() -> None:
    table = cn_holidays()
    spring_2025 = table.holiday(date(2025, 1, 28))
    assert spring_2025 is not None
    assert (spring_2025.start, spring_2025.end) == (date(2025, 1, 28), date(2025, 2, 4))
    labour_2025 = table.holiday(date(2025, 5, 1))
    assert labour_2025 is not None
    assert (labour_2025.end - labour_2025.start).days + 1 == 5
    spring_2027 = table.holiday(date(2027, 2, 5))  # 除夕 2027
    assert spring_2027 is not None and spring_2027.name_en == "Spring Festival"
    assert (spring_2027.end - spring_2027.start).days + 1 == 8


# ------------------------------------------------------------------------ working days


def test_spring_festival_2025_with_makeup_sunday_and_saturday() -> None:
    for offset in range(8):
        day = date(2025, 1, 28) + timedelta(days=offset)
        assert not OFFICE.is_working_day(day)
        assert OFFICE.holiday_name(day) == "春节"
        assert OFFICE.holiday_name(day, "en") == "Spring Festival"
    assert OFFICE.is_working_day(date(2025, 1, 26))  # Sunday, 调休
    assert OFFICE.is_working_day(date(2025, 2, 8))  # Saturday, 调休
    assert OFFICE.is_makeup_workday(date(2025, 2, 8))
    assert OFFICE.is_working_day(date(2025, 2, 5))
    assert not OFFICE.is_working_day(date(2025, 2, 9))  # ordinary Sunday


def test_national_day_2025_makeup_saturdays_are_working_days() -> None:
    assert OFFICE.is_working_day(date(2025, 9, 28))
    assert OFFICE.is_working_day(date(2025, 10, 11))
    assert not OFFICE.is_working_day(date(2025, 9, 27))
    assert OFFICE.holiday_name(date(2025, 10, 6)) == "国庆节、中秋节"
    assert OFFICE.is_working_time(sh(2025, 10, 11, 10, 0))
    # make-up days use Monday's hours, including the lunch gap
    assert LUNCH.hours_on(date(2025, 10, 11)) == LUNCH.hours.on(0)
    assert not LUNCH.is_working_time(sh(2025, 10, 11, 12, 30))


def test_spring_festival_2026_range() -> None:
    for offset in range(9):
        assert not OFFICE.is_working_day(date(2026, 2, 15) + timedelta(days=offset))
    assert OFFICE.is_working_day(date(2026, 2, 14))
    assert OFFICE.is_working_day(date(2026, 2, 28))
    assert OFFICE.is_working_day(date(2026, 2, 24))
    # Friday 17:00 + 4 h is due on the 调休 Saturday; Saturday 17:00 + 4 h after the holiday
    assert OFFICE.add_working_time(sh(2026, 2, 13, 17, 0), 4 * HOUR) == sh(2026, 2, 14, 12, 0)
    assert OFFICE.add_working_time(sh(2026, 2, 14, 17, 0), 4 * HOUR) == sh(2026, 2, 24, 12, 0)


def test_is_working_day_accepts_an_aware_moment_and_uses_the_local_date() -> None:
    # 2025-09-27 20:00 UTC is already Sunday 28 Sep (a make-up day) in Shanghai
    assert OFFICE.is_working_day(datetime(2025, 9, 27, 20, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        OFFICE.is_working_time(datetime(2025, 9, 28, 10, 0))  # noqa: DTZ001


def test_national_holidays_can_be_turned_off() -> None:
    plain = BusinessCalendar(national=None)
    assert plain.is_working_day(date(2025, 10, 2))
    assert not plain.is_working_day(date(2025, 10, 11))
    assert plain.holiday_name(date(2025, 10, 2)) is None


def test_tenant_custom_holiday_and_custom_workday() -> None:
    tenant = BusinessCalendar(
        custom_holidays={date(2025, 3, 18): "公司周年庆"},
        custom_workdays=frozenset({date(2025, 10, 8)}),
    )
    assert not tenant.is_working_day(date(2025, 3, 18))
    assert tenant.holiday_name(date(2025, 3, 18)) == "公司周年庆"
    assert tenant.add_working_time(sh(2025, 3, 17, 17, 0), 4 * HOUR) == sh(2025, 3, 19, 12, 0)
    assert tenant.is_working_day(date(2025, 10, 8))  # tenant works the last holiday day
    assert tenant.holiday_name(date(2025, 10, 8)) == "国庆节、中秋节"
    with pytest.raises(ValueError, match="both"):
        BusinessCalendar(
            custom_holidays={date(2025, 3, 18): "x"}, custom_workdays=frozenset({date(2025, 3, 18)})
        )


def test_operator_can_override_a_year_of_national_data() -> None:
    official_2027 = HolidayTable.from_json(
        {
            "years": {
                "2027": {
                    "source": "test notice",
                    "holidays": [
                        {
                            "name_zh": "春节",
                            "name_en": "Spring Festival",
                            "start": "2027-02-05",
                            "end": "2027-02-13",
                        },
                    ],
                    "makeup_workdays": [{"date": "2027-02-20", "for": "春节"}],
                }
            }
        }
    )
    table = cn_holidays().overridden_by(official_2027)
    assert not table.is_provisional(2027)
    assert table.holiday(date(2027, 10, 1)) is None  # the whole year is replaced
    assert table.holiday(date(2025, 10, 1)) is not None
    calendar = BusinessCalendar(national=table)
    assert not calendar.is_working_day(date(2027, 2, 12))
    assert not calendar.is_working_day(date(2027, 1, 31))


# ------------------------------------------------------------------------ deadlines


def test_friday_1700_plus_4_working_hours_is_monday_1200() -> None:
    friday = sh(2025, 3, 14, 17, 0)
    assert OFFICE.add_working_time(friday, 4 * HOUR) == sh(2025, 3, 17, 12, 0)
    assert LUNCH.add_working_time(friday, 4 * HOUR) == sh(2025, 3, 17, 12, 0)
    assert LUNCH.add_working_time(friday, 5 * HOUR) == sh(2025, 3, 17, 14, 0)


def test_order_opened_the_day_before_national_day_lands_after_the_holiday() -> None:
    assert OFFICE.add_working_time(sh(2025, 9, 30, 17, 0), 4 * HOUR) == sh(2025, 10, 9, 12, 0)
    assert OFFICE.add_working_time(sh(2026, 9, 30, 17, 0), 4 * HOUR) == sh(2026, 10, 8, 12, 0)
    assert OFFICE.add_working_days(sh(2025, 9, 30, 10, 0), 1) == sh(2025, 10, 9, 10, 0)


def test_deadline_that_fills_a_day_exactly_ends_at_closing_time() -> None:
    assert OFFICE.add_working_time(sh(2025, 3, 14, 9, 0), 9 * HOUR) == sh(2025, 3, 14, 18, 0)
    assert not OFFICE.is_working_time(sh(2025, 3, 14, 18, 0))
    assert OFFICE.next_working_moment(sh(2025, 3, 14, 18, 0)) == sh(2025, 3, 17, 9, 0)
    assert OFFICE.next_working_moment(sh(2025, 3, 14, 10, 0)) == sh(2025, 3, 14, 10, 0)


def test_zero_and_negative_durations() -> None:
    saturday = sh(2025, 3, 15, 10, 0)
    assert OFFICE.add_working_time(saturday, timedelta(0)) == sh(2025, 3, 17, 9, 0)
    with pytest.raises(ValueError):
        OFFICE.add_working_time(saturday, -HOUR)
    with pytest.raises(ValueError):
        OFFICE.add_working_days(saturday, -1)


def test_add_working_days_as_an_operator_counts() -> None:
    assert OFFICE.add_working_days(sh(2025, 3, 14, 10, 0), 1) == sh(2025, 3, 17, 10, 0)
    assert OFFICE.add_working_days(sh(2025, 3, 14, 10, 0), 5) == sh(2025, 3, 21, 10, 0)
    # opened after hours / at the weekend: due at the end of the n-th working day
    assert OFFICE.add_working_days(sh(2025, 3, 14, 19, 0), 1) == sh(2025, 3, 17, 18, 0)
    assert OFFICE.add_working_days(sh(2025, 3, 15, 11, 0), 2) == sh(2025, 3, 18, 18, 0)
    # opened at opening time: same time the next working day
    assert OFFICE.add_working_days(sh(2025, 3, 17, 9, 0), 1) == sh(2025, 3, 18, 9, 0)
    # "4 working days" across Spring Festival 2025 counts the 调休 Saturday
    assert OFFICE.add_working_days(sh(2025, 1, 27, 15, 0), 4) == sh(2025, 2, 8, 15, 0)
    # a target day with shorter hours clamps to its closing time
    half_saturday = BusinessCalendar(
        hours=WeeklyHours.of({d: ["09:00-18:00"] for d in range(5)} | {5: ["09:00-12:00"]}),
        national=None,
    )
    assert half_saturday.add_working_days(sh(2025, 3, 14, 16, 0), 1) == sh(2025, 3, 15, 12, 0)


def test_thirty_working_days_and_a_year_are_day_level_fast() -> None:
    start = sh(2025, 9, 1, 10, 0)
    due = OFFICE.add_working_days(start, 30)
    assert OFFICE.working_time_between(start, due) == 30 * 9 * HOUR
    assert OFFICE.add_working_time(start, 30 * 9 * HOUR) == due
    assert due == sh(2025, 10, 17, 10, 0)  # 国庆 weekdays skipped, 调休 9/28 and 10/11 counted


def test_working_time_between_is_negative_when_reversed() -> None:
    a, b = sh(2025, 3, 14, 17, 0), sh(2025, 3, 17, 12, 0)
    assert OFFICE.working_time_between(a, b) == 4 * HOUR
    assert OFFICE.working_time_between(b, a) == -4 * HOUR
    assert OFFICE.working_time_between(a, a) == timedelta(0)


def test_add_calendar_days_keeps_the_local_time() -> None:
    opened = sh(2025, 9, 25, 14, 30)
    assert OFFICE.add_calendar_days(opened, 15) == sh(2025, 10, 10, 14, 30)
    assert OFFICE.add_calendar_days(opened, -1) == sh(2025, 9, 24, 14, 30)


def test_24x7_calendar_counts_elapsed_time() -> None:
    always = BusinessCalendar.always_open()
    start = sh(2025, 9, 30, 17, 0)
    assert always.add_working_time(start, 48 * HOUR) == start + 48 * HOUR
    assert always.working_time_between(start, start + 100 * HOUR) == 100 * HOUR
    assert always.is_working_time(sh(2025, 10, 1, 3, 0))
    assert always.holiday_name(date(2025, 10, 1)) is None
    assert always.add_working_days(start, 2) == start + 48 * HOUR


def test_time_ranges_parse_and_validate() -> None:
    assert str(TimeRange.parse("09:00-24:00")) == "09:00-24:00"
    assert TimeRange.parse("00:00-24:00").duration == 24 * HOUR
    for bad in ("18:00-09:00", "9-18", "24:30-25:00", "09:00"):
        with pytest.raises(ValueError):
            TimeRange.parse(bad)
    with pytest.raises(ValueError, match="overlapping"):
        WeeklyHours.weekdays("09:00-13:00", "12:00-18:00")
    assert WeeklyHours.weekdays("09:00-12:00", "12:00-18:00").on(0) == (
        TimeRange.parse("09:00-18:00"),
    )


# ------------------------------------------------------------------------ DST (Europe/Berlin)

BERLIN_OFFICE = BusinessCalendar(timezone="Europe/Berlin", national=None)
BERLIN_ALWAYS = BusinessCalendar.always_open("Europe/Berlin")


def test_berlin_spring_forward_day_has_23_hours() -> None:
    # EU summer time starts Sunday 2026-03-29 at 02:00 CET -> 03:00 CEST
    elapsed = BERLIN_ALWAYS.working_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30))
    assert elapsed == 23 * HOUR
    elapsed = BERLIN_ALWAYS.working_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert elapsed == 25 * HOUR


def test_berlin_office_deadline_across_the_dst_weekend() -> None:
    friday = berlin(2026, 3, 27, 17, 0)
    due = BERLIN_OFFICE.add_working_time(friday, 4 * HOUR)
    assert due == berlin(2026, 3, 30, 12, 0)
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)  # CEST is UTC+2
    assert BERLIN_OFFICE.add_working_days(berlin(2026, 3, 27, 10, 0), 1) == berlin(2026, 3, 30, 10)


def test_berlin_calendar_days_keep_wall_time_and_skip_the_gap() -> None:
    saturday = berlin(2026, 3, 28, 10, 0)
    assert BERLIN_OFFICE.add_calendar_days(saturday, 1) - saturday == 23 * HOUR
    night = berlin(2026, 3, 28, 2, 30)
    # 02:30 does not exist on 29 March: the result is the jump itself (03:00 CEST)
    assert BERLIN_OFFICE.add_calendar_days(night, 1) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    night_shift = BusinessCalendar(
        hours=WeeklyHours.every_day("01:30-04:00"), timezone="Europe/Berlin", national=None
    )
    ((start, end),) = night_shift.working_intervals(date(2026, 3, 29))
    assert end - start == timedelta(hours=1, minutes=30)


# ------------------------------------------------------------------------ properties

CALENDARS = [
    OFFICE,
    LUNCH,
    BusinessCalendar.always_open(),
    BERLIN_OFFICE,
    BusinessCalendar(
        hours=WeeklyHours.of(
            {
                0: ["08:00-12:00", "13:30-17:30"],
                2: ["22:00-24:00"],
                3: ["00:00-06:00"],
                5: ["01:00-03:30"],
                6: ["02:15-02:45"],
            }
        ),
        timezone="Europe/Berlin",
    ),
]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
FOUR_YEARS_S = 4 * 365 * 86_400

calendars = st.sampled_from(CALENDARS)
moments = st.integers(0, FOUR_YEARS_S * 1000).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
durations = st.integers(0, 120 * 3600 * 1000).map(lambda ms: timedelta(milliseconds=ms))
fast = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def at_interval_end(calendar: BusinessCalendar, moment: datetime) -> bool:
    local_day = calendar.to_local(moment).date()
    return any(
        end == moment
        for day in (local_day - timedelta(days=1), local_day)
        for _, end in calendar.working_intervals(day)
    )


@fast
@given(calendars, moments, durations)
def test_working_time_between_inverts_add_working_time(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = calendar.add_working_time(start, duration)
    assert calendar.working_time_between(start, due) == duration
    assert due.tzinfo is UTC
    assert due >= start
    assert calendar.is_working_time(due) or at_interval_end(calendar, due)


@fast
@given(calendars, moments, durations, durations)
def test_add_working_time_is_monotonic(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    short, long = sorted((first, second))
    assert calendar.add_working_time(start, short) <= calendar.add_working_time(start, long)


@fast
@given(calendars, moments, moments, moments)
def test_working_time_between_is_additive_and_antisymmetric(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    c = min(c, a + timedelta(days=120))
    b = min(b, c)
    ab = calendar.working_time_between(a, b)
    assert ab + calendar.working_time_between(b, c) == calendar.working_time_between(a, c)
    assert calendar.working_time_between(b, a) == -ab
    assert timedelta(0) <= ab <= b - a


@fast
@given(calendars, moments, st.integers(0, 40))
def test_add_working_days_results_are_utc_and_in_working_time(
    calendar: BusinessCalendar, start: datetime, days: int
) -> None:
    due = calendar.add_working_days(start, days)
    assert due.tzinfo is UTC
    assert due >= start
    assert calendar.is_working_time(due) or at_interval_end(calendar, due)
    nxt = calendar.next_working_moment(start)
    assert nxt.tzinfo is UTC and calendar.is_working_time(nxt)
    assert calendar.add_calendar_days(start, days).tzinfo is UTC
