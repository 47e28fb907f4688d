"""Business calendar: working hours, Chinese public holidays and 调休, working-time arithmetic.

This is the one place where business time is computed. Every function takes and returns
timezone-aware UTC datetimes; the calendar converts to its local time zone internally. Working
time is real elapsed time (a working hour across a DST change is still 3600 s). Intervals are
half-open ``[start, end)``: 18:00 is not working time on a 09:00-18:00 day, yet a deadline may
land exactly on 18:00.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from kefu.core.clock import ensure_utc

__all__ = [
    "BusinessCalendar",
    "Holiday",
    "HolidayTable",
    "HolidayYear",
    "TimeRange",
    "WeeklyHours",
    "cn_holidays",
]

_DAY_SECONDS = 86_400
# A calendar without a single working minute in ~10 years is treated as empty (no infinite loops).
_MAX_IDLE_DAYS = 3_700
_SPAN_CACHE_LIMIT = 8_192

Span = tuple[datetime, datetime]


def _parse_clock(text: str) -> int:
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"bad time of day {text!r}: expected HH:MM or HH:MM:SS")
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"bad time of day {text!r}")
    return hours * 3600 + minutes * 60 + seconds


def _format_clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


@dataclass(frozen=True, order=True)
class TimeRange:
    """Local wall-clock interval ``[start, end)`` within a day, in seconds after midnight.

    ``end`` may be 86400 (24:00). Build one with ``TimeRange.parse("09:00-18:00")``.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= _DAY_SECONDS:
            raise ValueError(f"bad time range {self.start}..{self.end}: need start < end <= 24h")

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """Parse ``"HH:MM-HH:MM"`` (``"00:00-24:00"`` is the whole day)."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(f"bad time range {text!r}: expected HH:MM-HH:MM")
        return cls(_parse_clock(start), _parse_clock(end))

    @classmethod
    def between(cls, start: time, end: time | None) -> TimeRange:
        """From two local times; ``end=None`` means midnight at the end of the day."""
        first = start.hour * 3600 + start.minute * 60 + start.second
        last = _DAY_SECONDS if end is None else end.hour * 3600 + end.minute * 60 + end.second
        return cls(first, last)

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.end - self.start)

    def __str__(self) -> str:
        return f"{_format_clock(self.start)}-{_format_clock(self.end)}"


def _as_range(value: str | TimeRange) -> TimeRange:
    return value if isinstance(value, TimeRange) else TimeRange.parse(value)


def _normalise_day(ranges: Iterable[str | TimeRange]) -> tuple[TimeRange, ...]:
    """Sort, refuse overlaps, merge ranges that touch (12:00-13:00 + 13:00-14:00)."""
    merged: list[TimeRange] = []
    for item in sorted(_as_range(r) for r in ranges):
        if merged and item.start < merged[-1].end:
            raise ValueError(f"overlapping working hours {merged[-1]} and {item}")
        if merged and item.start == merged[-1].end:
            merged[-1] = TimeRange(merged[-1].start, item.end)
        else:
            merged.append(item)
    return tuple(merged)


@dataclass(frozen=True)
class WeeklyHours:
    """Working intervals for each weekday, Monday (0) to Sunday (6); several per day allowed."""

    days: tuple[tuple[TimeRange, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("WeeklyHours needs exactly 7 days (Monday..Sunday)")
        object.__setattr__(self, "days", tuple(_normalise_day(day) for day in self.days))

    @classmethod
    def of(cls, schedule: Mapping[int, Iterable[str | TimeRange]]) -> WeeklyHours:
        """``{0: ["09:00-12:00", "13:00-18:00"], 5: ["09:00-12:00"]}``; missing days are off."""
        if any(not 0 <= weekday <= 6 for weekday in schedule):
            raise ValueError("weekday keys are 0 (Monday) .. 6 (Sunday)")
        return cls(tuple(_normalise_day(schedule.get(weekday, ())) for weekday in range(7)))

    @classmethod
    def weekdays(cls, *ranges: str | TimeRange) -> WeeklyHours:
        """The same intervals Monday to Friday, weekends off."""
        if not ranges:
            raise ValueError("give at least one interval, e.g. '09:00-18:00'")
        return cls.of({weekday: ranges for weekday in range(5)})

    @classmethod
    def every_day(cls, *ranges: str | TimeRange) -> WeeklyHours:
        """The same intervals on all seven days."""
        if not ranges:
            raise ValueError("give at least one interval, e.g. '08:00-22:00'")
        return cls.of({weekday: ranges for weekday in range(7)})

    @classmethod
    def always(cls) -> WeeklyHours:
        """24x7."""
        return cls.every_day(TimeRange(0, _DAY_SECONDS))

    def on(self, weekday: int) -> tuple[TimeRange, ...]:
        return self.days[weekday]


@dataclass(frozen=True)
class Holiday:
    """One public holiday period (inclusive dates, weekends included as announced)."""

    name_zh: str
    name_en: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"holiday {self.name_en} ends before it starts")

    def name(self, lang: str = "zh") -> str:
        return self.name_en if lang.lower().startswith("en") else self.name_zh

    def dates(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class HolidayYear:
    """One year's official arrangement: holiday periods and make-up workdays (调休上班)."""

    year: int
    source: str
    holidays: tuple[Holiday, ...]
    makeup_workdays: tuple[tuple[date, str], ...]  # (date, holiday it makes up for)
    provisional: bool = False
    note: str = ""


def _year_from_json(year: int, raw: Mapping[str, Any]) -> HolidayYear:
    holidays = tuple(
        Holiday(
            name_zh=str(item["name_zh"]),
            name_en=str(item["name_en"]),
            start=date.fromisoformat(str(item["start"])),
            end=date.fromisoformat(str(item["end"])),
        )
        for item in raw.get("holidays", ())
    )
    makeups = tuple(
        (date.fromisoformat(str(item["date"])), str(item.get("for", "")))
        for item in raw.get("makeup_workdays", ())
    )
    return HolidayYear(
        year=year,
        source=str(raw.get("source", "")),
        holidays=holidays,
        makeup_workdays=makeups,
        provisional=bool(raw.get("provisional", False)),
        note=str(raw.get("note", "")),
    )


@dataclass(frozen=True, eq=False)
class HolidayTable:
    """National holidays and make-up workdays, by year (see ``data/cn_holidays.json``)."""

    years: Mapping[int, HolidayYear]
    _by_day: Mapping[date, Holiday] = field(init=False, repr=False)
    _makeup: Mapping[date, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_day: dict[date, Holiday] = {}
        makeup: dict[date, str] = {}
        for year in sorted(self.years):
            schedule = self.years[year]
            for holiday in schedule.holidays:
                for day in holiday.dates():
                    if day in by_day and by_day[day] is not holiday:
                        raise ValueError(f"{day} is in two holiday periods")
                    by_day[day] = holiday
            for day, reason in schedule.makeup_workdays:
                makeup[day] = reason
        clash = sorted(set(by_day) & set(makeup))
        if clash:
            raise ValueError(f"dates both holiday and make-up workday: {clash}")
        object.__setattr__(self, "years", MappingProxyType(dict(self.years)))
        object.__setattr__(self, "_by_day", MappingProxyType(by_day))
        object.__setattr__(self, "_makeup", MappingProxyType(makeup))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HolidayTable:
        """Build from the JSON layout ``{"years": {"2025": {"holidays": [...], ...}}}``."""
        raw_years = data.get("years", data)
        years = {
            int(key): _year_from_json(int(key), value)
            for key, value in raw_years.items()
            if str(key).isdigit()
        }
        return cls(years)

    @classmethod
    def load(cls, path: str | Path | None = None) -> HolidayTable:
        """Load a JSON file; without ``path``, the packaged ``kefu/core/data/cn_holidays.json``."""
        if path is None:
            resource = resources.files("kefu.core").joinpath("data").joinpath("cn_holidays.json")
            text = resource.read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.from_json(json.loads(text))

    def overridden_by(self, other: HolidayTable) -> HolidayTable:
        """A table where every year present in ``other`` replaces this table's year."""
        return HolidayTable({**self.years, **other.years})

    def holiday(self, day: date) -> Holiday | None:
        return self._by_day.get(day)

    def makeup_reason(self, day: date) -> str | None:
        """Name of the holiday a make-up workday compensates, or None if it is not one."""
        return self._makeup.get(day)

    def is_makeup_workday(self, day: date) -> bool:
        return day in self._makeup

    def covers(self, year: int) -> bool:
        return year in self.years

    def is_provisional(self, year: int) -> bool:
        schedule = self.years.get(year)
        return schedule is not None and schedule.provisional


@cache
def cn_holidays() -> HolidayTable:
    """The packaged Chinese national holiday table (loaded once)."""
    return HolidayTable.load()


def _default_hours() -> WeeklyHours:
    return WeeklyHours.weekdays("09:00-18:00")


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """A tenant's working calendar: time zone, weekly hours, national and custom holidays.

    Precedence for a local date: a custom workday is working; else a custom holiday is off; else
    (when ``national`` is set) a national make-up workday is working and a national holiday is
    off; else the weekday's hours apply. Make-up and custom workdays use the hours of weekday
    ``makeup_weekday`` (Monday by default), whatever day of the week they fall on.
    """

    hours: WeeklyHours = field(default_factory=_default_hours)
    timezone: str = "Asia/Shanghai"
    national: HolidayTable | None = field(default_factory=cn_holidays)
    custom_holidays: Mapping[date, str] = field(default_factory=dict)
    custom_workdays: frozenset[date] = frozenset()
    makeup_weekday: int = 0
    _zone: ZoneInfo = field(init=False, repr=False)
    _spans: dict[date, tuple[Span, ...]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.makeup_weekday <= 6:
            raise ValueError("makeup_weekday is 0 (Monday) .. 6 (Sunday)")
        workdays = frozenset(self.custom_workdays)
        clash = sorted(workdays & set(self.custom_holidays))
        if clash:
            raise ValueError(f"dates both custom holiday and custom workday: {clash}")
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        object.__setattr__(self, "custom_holidays", MappingProxyType(dict(self.custom_holidays)))
        object.__setattr__(self, "custom_workdays", workdays)

    @classmethod
    def always_open(cls, timezone: str = "Asia/Shanghai") -> BusinessCalendar:
        """24x7, no holidays: working time equals elapsed time."""
        return cls(hours=WeeklyHours.always(), timezone=timezone, national=None)

    # ----------------------------------------------------------------- local-time plumbing

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def to_local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's time zone (for display only)."""
        return ensure_utc(moment).astimezone(self._zone)

    def _local_date(self, day: date) -> date:
        if isinstance(day, datetime):
            return ensure_utc(day).astimezone(self._zone).date()
        return day

    def _to_utc(self, day: date, offset: timedelta) -> datetime:
        """The UTC instant of local wall time ``day 00:00 + offset``.

        Ambiguous wall times (DST fall-back) take the first occurrence; wall times skipped by a
        DST jump map to the transition instant, so the mapping stays monotonic.
        """
        midnight = datetime.combine(day, time(0), tzinfo=self._zone)
        local = midnight + offset  # wall-clock arithmetic: same tzinfo, offset recomputed
        moment = local.astimezone(UTC)
        back = moment.astimezone(self._zone)
        if (back.date(), back.time()) == (local.date(), local.time()):
            return moment
        # Skipped wall time: fold=1 reads it with the post-jump offset (an instant before the
        # jump), fold=0 with the pre-jump offset (after it). Bisect for the jump itself.
        low = local.replace(fold=1).astimezone(UTC)
        high = local.replace(fold=0).astimezone(UTC)
        if low > high:
            low, high = high, low
        target = high.astimezone(self._zone).utcoffset()
        while high - low > timedelta(microseconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self._zone).utcoffset() == target:
                high = middle
            else:
                low = middle
        return high

    # ----------------------------------------------------------------- days

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """Working intervals (local wall time) on a local date; empty when it is a day off.

        ``day`` is a local calendar date; an aware datetime is converted to its local date.
        """
        day = self._local_date(day)
        if day in self.custom_workdays:
            return self.hours.on(self.makeup_weekday)
        if day in self.custom_holidays:
            return ()
        if self.national is not None:
            if self.national.is_makeup_workday(day):
                return self.hours.on(self.makeup_weekday)
            if self.national.holiday(day) is not None:
                return ()
        return self.hours.on(day.weekday())

    def is_working_day(self, day: date) -> bool:
        """True if the local date has any working hours (make-up days included)."""
        return bool(self.hours_on(day))

    def is_makeup_workday(self, day: date) -> bool:
        """True for a national 调休 make-up workday (when national holidays are on)."""
        day = self._local_date(day)
        return self.national is not None and self.national.is_makeup_workday(day)

    def holiday_name(self, day: date, lang: str = "zh") -> str | None:
        """Display name of the custom or national holiday on a local date, else None.

        ``lang`` is ``"zh"`` or ``"en"`` for national holidays (custom names are returned as
        given). The name is reported even if a custom workday overrides the holiday.
        """
        day = self._local_date(day)
        custom = self.custom_holidays.get(day)
        if custom is not None:
            return custom
        if self.national is not None:
            holiday = self.national.holiday(day)
            if holiday is not None:
                return holiday.name(lang)
        return None

    def working_intervals(self, day: date) -> tuple[Span, ...]:
        """Working intervals of a local date as ``(start, end)`` UTC datetimes, in order."""
        day = self._local_date(day)
        cached = self._spans.get(day)
        if cached is None:
            spans: list[Span] = []
            for item in self.hours_on(day):
                start = self._to_utc(day, timedelta(seconds=item.start))
                end = self._to_utc(day, timedelta(seconds=item.end))
                if end > start:
                    spans.append((start, end))
            cached = tuple(spans)
            if len(self._spans) >= _SPAN_CACHE_LIMIT:
                self._spans.clear()
            self._spans[day] = cached
        return cached

    def _spans_after(self, moment: datetime) -> Iterator[Span]:
        """Working spans that end after ``moment``, in order (the first may start before it)."""
        day = moment.astimezone(self._zone).date()
        idle = 0
        while True:
            spans = self.working_intervals(day)
            idle = 0 if spans else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError("calendar has no working time in the next ten years")
            for span in spans:
                if span[1] > moment:
                    yield span
            day += timedelta(days=1)

    def _nth_working_day_after(self, day: date, n: int) -> date:
        idle = 0
        while n > 0:
            day += timedelta(days=1)
            if self.working_intervals(day):
                n -= 1
                idle = 0
            else:
                idle += 1
                if idle > _MAX_IDLE_DAYS:
                    raise ValueError("calendar has no working time in the next ten years")
        return day

    def _previous_working_day(self, day: date) -> date:
        for _ in range(_MAX_IDLE_DAYS):
            day -= timedelta(days=1)
            if self.working_intervals(day):
                return day
        raise ValueError("calendar has no working time in the previous ten years")

    # ----------------------------------------------------------------- moments

    def is_working_time(self, moment: datetime) -> bool:
        """True if ``moment`` lies inside a working interval (start included, end excluded)."""
        instant = ensure_utc(moment)
        return any(start <= instant < end for start, end in self.working_intervals(instant))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when it is working time, else the start of the next interval."""
        instant = ensure_utc(moment)
        start, _ = next(self._spans_after(instant))
        return max(start, instant)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The deadline ``duration`` of working time after ``start`` (UTC).

        The clock only runs inside working intervals. When the duration is used up exactly at
        the end of an interval the deadline is that end (Friday 18:00, not Monday 09:00). A zero
        duration returns ``next_working_moment(start)``. A negative duration is a ValueError.
        """
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        instant = ensure_utc(start)
        if not duration:
            return self.next_working_moment(instant)
        remaining = duration
        for span_start, span_end in self._spans_after(instant):
            begin = max(span_start, instant)
            available = span_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _spans_after never ends")  # pragma: no cover

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time ``days`` working days later, as an operator counts days (UTC).

        The count starts at ``next_working_moment(start)`` (an order opened on Saturday starts
        Monday morning). Its local time is then placed on the ``days``-th following working day
        and clamped into that day's hours: before the first interval -> its start; in a gap or
        after the last interval -> the end of the interval before. When ``start`` was outside
        working time and the result is the very start of a day, it moves back to the end of the
        previous working day - the same working time, but what an operator expects (opened
        Friday 19:00 + 1 working day -> Monday 18:00, not Tuesday 09:00; opened Monday 09:00 +
        1 -> Tuesday 09:00). ``days=0`` returns ``next_working_moment(start)``; negative is a
        ValueError.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        anchor = self.next_working_moment(start)
        if days == 0:
            return anchor
        local = anchor.astimezone(self._zone)
        time_of_day = timedelta(
            hours=local.hour,
            minutes=local.minute,
            seconds=local.second,
            microseconds=local.microsecond,
        )
        target_day = self._nth_working_day_after(local.date(), days)
        spans = self.working_intervals(target_day)
        wanted = self._to_utc(target_day, time_of_day)
        result = spans[0][0]
        for span_start, span_end in spans:
            if span_start <= wanted <= span_end:
                result = wanted
                break
            if span_end < wanted:
                result = span_end
        if result == spans[0][0] and anchor > ensure_utc(start):
            # Opened outside working hours: due at the end of the n-th working day rather than
            # at the start of the next one (same working time, what an operator writes down).
            return self.working_intervals(self._previous_working_day(target_day))[-1][1]
        return result

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside ``[start, end]``; negative (antisymmetric) when ``end < start``."""
        first, last = ensure_utc(start), ensure_utc(end)
        if last < first:
            return -self.working_time_between(last, first)
        total = timedelta(0)
        day = first.astimezone(self._zone).date()
        final_day = last.astimezone(self._zone).date()
        while day <= final_day:
            for span_start, span_end in self.working_intervals(day):
                overlap = min(span_end, last) - max(span_start, first)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """The same local wall time ``days`` calendar days later (or earlier if negative), UTC.

        For "within 15 calendar days" rules. The deadline is deliberately the same local time,
        not the end of that day, and it is not moved into working hours; use
        ``next_working_moment`` on the result if the rule requires a working moment. Across a
        DST change the result keeps the wall time, so the elapsed time is 23 h or 25 h per day.
        """
        local = ensure_utc(start).astimezone(self._zone)
        time_of_day = timedelta(
            hours=local.hour,
            minutes=local.minute,
            seconds=local.second,
            microseconds=local.microsecond,
        )
        return self._to_utc(local.date() + timedelta(days=days), time_of_day)
