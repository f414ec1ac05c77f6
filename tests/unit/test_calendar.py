"""Office calendar rules, table-driven: weekends, holidays, closures, window edges, slots."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean import calendar
from antrean.outcomes import ClosureReason, DateInPast, DayClosed, OutsideWindow

TODAY = dt.date(2026, 12, 1)  # Tuesday
D = dt.date


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2026, 12, 2), None),  # Wednesday, tomorrow: first bookable day
        (D(2026, 12, 4), None),  # Friday
        (D(2026, 12, 5), ClosureReason.WEEKEND),  # Saturday
        (D(2026, 12, 6), ClosureReason.WEEKEND),  # Sunday
        (D(2026, 12, 7), None),  # Monday
        (D(2026, 12, 25), ClosureReason.HOLIDAY),  # Christmas, a Friday
        (D(2026, 12, 24), None),  # ordinary Thursday unless staff close it
        (D(2026, 12, 31), None),  # last day of the window
    ],
)
def test_closure_of_weekdays_and_holidays(office_config, day, expected):
    closure = calendar.closure_of(office_config, day, {})
    assert (closure.reason if closure else None) == expected


@pytest.mark.parametrize(
    "day, name_part",
    [
        (D(2026, 12, 25), "Natal"),
        (D(2027, 1, 1), "Tahun Baru"),
        (D(2026, 8, 17), "Kemerdekaan"),
        (D(2026, 6, 1), "Pancasila"),
        (D(2026, 5, 1), "Buruh"),
    ],
)
def test_holiday_names_are_indonesian(office_config, day, name_part):
    closure = calendar.closure_of(office_config, day, {})
    assert closure and closure.reason is ClosureReason.HOLIDAY
    assert name_part in closure.detail


def test_staff_closure_carries_the_reason(office_config):
    closure = calendar.closure_of(office_config, D(2026, 12, 24), {D(2026, 12, 24): "Cuti bersama Natal"})
    assert closure == calendar.Closure(ClosureReason.STAFF_CLOSURE, "Cuti bersama Natal")


def test_holiday_wins_over_staff_closure(office_config):
    closure = calendar.closure_of(office_config, D(2026, 12, 25), {D(2026, 12, 25): "acara"})
    assert closure and closure.reason is ClosureReason.HOLIDAY


@pytest.mark.parametrize(
    "day, refusal",
    [
        (D(2026, 11, 30), DateInPast),  # yesterday
        (D(2025, 12, 2), DateInPast),
        (D(2026, 12, 1), OutsideWindow),  # today: bookable from tomorrow
        (D(2026, 12, 2), None),  # tomorrow
        (D(2026, 12, 31), None),  # today + 30
        (D(2027, 1, 1), OutsideWindow),  # today + 31 (also a holiday: window wins)
        (D(2027, 1, 4), OutsideWindow),
        (D(2026, 12, 5), DayClosed),
        (D(2026, 12, 25), DayClosed),
    ],
)
def test_check_date_window_edges(office_config, day, refusal):
    result = calendar.check_date(office_config, day, TODAY, {})
    if refusal is None:
        assert result is None
    else:
        assert isinstance(result, refusal)


def test_window_reports_its_edges(office_config):
    result = calendar.check_date(office_config, D(2027, 2, 1), TODAY, {})
    assert isinstance(result, OutsideWindow)
    assert (result.earliest, result.latest) == (D(2026, 12, 2), D(2026, 12, 31))


def test_slot_grid_every_30_minutes_from_8_to_1430(office_config):
    times = calendar.slot_times(office_config.schedule)
    assert times[0] == dt.time(8, 0) and times[-1] == dt.time(14, 30)
    assert len(times) == 14
    assert all(
        (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute) == 30 for a, b in zip(times, times[1:])
    )


@pytest.mark.parametrize(
    "overrides, time, expected",
    [
        ({}, dt.time(9), 25),
        ({(D(2026, 12, 2), None): 10}, dt.time(9), 10),
        ({(D(2026, 12, 2), None): 10, (D(2026, 12, 2), dt.time(9)): 3}, dt.time(9), 3),
        ({(D(2026, 12, 2), None): 10, (D(2026, 12, 2), dt.time(9)): 3}, dt.time(10), 10),
        ({(D(2026, 12, 3), None): 0}, dt.time(9), 25),  # another date's override
    ],
)
def test_capacity_override_precedence(office_config, overrides, time, expected):
    assert calendar.capacity_of(office_config, D(2026, 12, 2), time, overrides) == expected
