"""Office calendar rules: service days, holidays, staff closures, the slot grid, the window.

Plain functions over the configuration and values passed in; the store supplies the staff
closures and capacity overrides it holds.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

import holidays

from antrean.config import OfficeConfig, ScheduleRules
from antrean.outcomes import ClosureReason, DateInPast, DateRefusal, DayClosed, OutsideWindow

# Capacity overrides: (date, None) applies to every slot of the date, (date, time) to one
# slot and wins over the date-wide value.
CapacityOverrides = Mapping[tuple[dt.date, "dt.time | None"], int]
StaffClosures = Mapping[dt.date, str]


@dataclass(frozen=True)
class Closure:
    reason: ClosureReason
    detail: str


def slot_times(schedule: ScheduleRules) -> tuple[dt.time, ...]:
    """Start times of the day's slots, e.g. 08:00, 08:30 … 14:30."""
    times = []
    current = dt.datetime.combine(dt.date(2000, 1, 1), schedule.first_slot)
    last = dt.datetime.combine(dt.date(2000, 1, 1), schedule.last_slot)
    step = dt.timedelta(minutes=schedule.slot_minutes)
    while current <= last:
        times.append(current.time())
        current += step
    return tuple(times)


@lru_cache(maxsize=64)
def _holidays_of_year(country: str, year: int) -> Mapping[dt.date, str]:
    return dict(holidays.country_holidays(country, years=year, language="id"))


def holiday_name(country: str, day: dt.date) -> str | None:
    """The national holiday's Indonesian name, or None on an ordinary day."""
    return _holidays_of_year(country, day.year).get(day)


def closure_of(config: OfficeConfig, day: dt.date, staff: StaffClosures) -> Closure | None:
    """Why the office is closed on ``day``, or None when it serves."""
    if day.isoweekday() not in config.schedule.service_weekdays:
        return Closure(ClosureReason.WEEKEND, "")
    name = holiday_name(config.schedule.holiday_country, day)
    if name:
        return Closure(ClosureReason.HOLIDAY, name)
    if day in staff:
        return Closure(ClosureReason.STAFF_CLOSURE, staff[day])
    return None


def booking_window(config: OfficeConfig, today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last bookable date seen from ``today``."""
    rules = config.booking
    return (
        today + dt.timedelta(days=rules.min_days_ahead),
        today + dt.timedelta(days=rules.max_days_ahead),
    )


def check_date(
    config: OfficeConfig, day: dt.date, today: dt.date, staff: StaffClosures
) -> DateRefusal | None:
    """The refusal for booking on ``day``, or None when it is bookable."""
    if day < today:
        return DateInPast(date=day, today=today)
    earliest, latest = booking_window(config, today)
    if not earliest <= day <= latest:
        return OutsideWindow(date=day, earliest=earliest, latest=latest)
    closure = closure_of(config, day, staff)
    if closure is not None:
        return DayClosed(date=day, reason=closure.reason, detail=closure.detail)
    return None


def capacity_of(
    config: OfficeConfig, day: dt.date, time: dt.time, overrides: CapacityOverrides
) -> int:
    """Places of one slot: the slot override, else the date override, else the default."""
    if (day, time) in overrides:
        return overrides[(day, time)]
    if (day, None) in overrides:
        return overrides[(day, None)]
    return config.schedule.slot_capacity


def dates_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)
