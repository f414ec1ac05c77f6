"""Who may see and change a booking, in the slot store (SQLite and PostgreSQL): failed code
look-ups per number and their window, notices owed to a booking's number, released NIKs."""
from __future__ import annotations

import datetime as dt

from antrean.access import CANCELLED, UNKNOWN_CODE, WRONG_BIRTH_DATE, BookingAccess, LookupLimit
from antrean.clock import FixedClock
from antrean.model import BookingRequest, BookingStatus
from antrean.outcomes import Reserved
from antrean.service import BookingService
from tests.conftest import NOW, person

PHONE, OTHER = "6281200000001", "6281999999999"


def at(service: BookingService, moment: dt.datetime) -> BookingAccess:
    return BookingAccess(BookingService(service.config, service.store, FixedClock(moment)),
                         LookupLimit(failures=3, window=dt.timedelta(hours=1)))


def reserve(service: BookingService, phone: str = PHONE, *people):
    outcome = service.reserve(BookingRequest(phone, dt.date(2026, 12, 7), dt.time(9), "baru",
                                             "elektronik", tuple(people or [person()])))
    assert isinstance(outcome, Reserved), outcome
    return outcome.booking


def test_failed_look_ups_block_a_number_until_the_oldest_leaves_the_window(service):
    minutes = [0, 10, 20]
    for minute in minutes:
        at(service, NOW + dt.timedelta(minutes=minute)).record_failure(OTHER, UNKNOWN_CODE)
    later = at(service, NOW + dt.timedelta(minutes=30))
    assert later.blocked_until(OTHER) == NOW + dt.timedelta(hours=1)
    assert later.blocked_until(PHONE) is None  # per number
    # an hour after the first failure only two are left in the window
    assert at(service, NOW + dt.timedelta(minutes=60)).blocked_until(OTHER) is None
    at(service, NOW + dt.timedelta(minutes=61)).record_failure(OTHER, WRONG_BIRTH_DATE)
    assert at(service, NOW + dt.timedelta(minutes=62)).blocked_until(OTHER) == (
        NOW + dt.timedelta(minutes=70))


def test_old_failures_are_forgotten_as_new_ones_come(service):
    at(service, NOW).record_failure(OTHER, UNKNOWN_CODE)
    at(service, NOW + dt.timedelta(hours=2)).record_failure(PHONE, UNKNOWN_CODE)
    with service.store.transaction() as tx:
        assert tx.access.lookup_failures_since(OTHER, NOW - dt.timedelta(days=1)) == []


def test_a_notice_is_owed_until_marked_told(service):
    access = BookingAccess(service)
    booking = reserve(service)
    notice = access.notify_owner(booking, CANCELLED, OTHER)
    [pending] = access.owner_notices()
    assert pending == notice
    assert (pending.phone, pending.by_phone, pending.slot) == (PHONE, OTHER, booking.slot)
    assert access.mark_notice_sent(notice.id, "whatsapp")
    assert not access.mark_notice_sent(notice.id, "whatsapp")  # once
    assert access.owner_notices() == []
    [told] = access.owner_notices(include_sent=True)
    assert told.sent_by == "whatsapp" and told.sent_at == NOW


def test_releasing_a_nik_cancels_its_booking_records_why_and_owes_a_notice(service):
    squatter = reserve(service, OTHER, person(), person("Siti", dt.date(1992, 4, 12), True, 2))
    access = BookingAccess(service)
    booking, release = access.release_nik("3171 0112 0390 0001", "pemilik datang, e-KTP cocok",
                                          "rina")
    assert booking.code == squatter.code and booking.status is BookingStatus.CANCELLED
    assert release.nik_masked == "************0001" and release.released_by == "rina"
    assert access.nik_releases() == [release]
    [notice] = access.owner_notices()
    assert (notice.phone, notice.event, notice.by_phone) == (OTHER, "released", None)
    # the NIK is free: its owner books it from their own number
    assert reserve(service, PHONE, person()).applicants[0].nik == "3171011203900001"
    assert access.release_nik("3171011203900002", "x", "rina") is None  # holds nothing


def test_staff_release_a_booking_whose_slot_has_started(service):
    reserve(service, OTHER)
    started = BookingService(service.config, service.store,
                             FixedClock(dt.datetime(2026, 12, 7, 9, 30, tzinfo=NOW.tzinfo)))
    released = BookingAccess(started).release_nik("3171011203900001", "di loket", "rina")
    assert released is not None and released[0].status is BookingStatus.CANCELLED
