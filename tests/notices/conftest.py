"""Fixtures of the notice tests: a date with 5 active bookings, 1 cancelled and 1 whose
number stopped reminders, seen from the day before at the reminder hour."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from antrean.clock import OFFICE_TZ, FixedClock
from antrean.model import Booking, BookingRequest
from antrean.notices import NoticeOutbox
from antrean.outcomes import Reserved
from antrean.service import BookingService
from tests.conftest import NOW, person

DAY = dt.date(2026, 12, 8)  # a Tuesday inside the window seen from NOW
EVE = dt.datetime(2026, 12, 7, 10, 0, tzinfo=OFFICE_TZ)  # the reminder hour the day before
PHONES = [f"62812000011{i:02d}" for i in range(7)]


@dataclass
class Day:
    bookings: list[Booking]  # the 5 that are to be reminded
    cancelled: Booking
    opted_out: Booking


def reserve(service: BookingService, phone: str, serial: int, day: dt.date = DAY,
            time: dt.time = dt.time(9), people: int = 1) -> Booking:
    group = tuple(person(f"Pemohon {serial} {i}", serial=serial * 10 + i) for i in range(people))
    outcome = service.reserve(BookingRequest(phone, day, time, "baru", "elektronik", group))
    assert isinstance(outcome, Reserved), outcome
    return outcome.booking


@pytest.fixture
def booked_day(service: BookingService) -> Day:
    made = [reserve(service, phone, i + 1, time=dt.time(8 + i % 3),
                    people=2 if i == 0 else 1) for i, phone in enumerate(PHONES)]
    service.cancel(made[5].code)
    NoticeOutbox(service).set_reminders(made[6].phone, on=False)
    return Day(made[:5], made[5], made[6])


def at(service: BookingService, moment: dt.datetime) -> BookingService:
    return BookingService(service.config, service.store, FixedClock(moment))


__all__ = ["DAY", "EVE", "NOW", "PHONES", "Day", "at", "reserve"]


# The channel tests' local Graph API (pytest_httpserver on loopback).
from tests.channel.conftest import graph, graph_server  # noqa: E402,F401
