"""Every booking operation against real SQLite and PostgreSQL stores."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from antrean.model import BookingRequest, BookingStatus, SlotRef
from antrean.outcomes import (
    BookingNotFound,
    CancelTooLate,
    Cancelled,
    ClosureReason,
    DateInPast,
    DayClosed,
    InvalidNik,
    NikBirthDateMismatch,
    NikHasBooking,
    NotASlot,
    NumberHasBooking,
    OutsideWindow,
    RescheduleNotAllowed,
    RescheduleProblem,
    Rescheduled,
    Reserved,
    SlotFull,
    TooManyApplicants,
)
from antrean.store.tables import applicants, bookings, slot_usage
from tests.conftest import person

D, T = dt.date, dt.time
MONDAY = D(2026, 12, 7)


def request(phone="6281200000001", day=MONDAY, time=T(9), people=None, service="baru"):
    return BookingRequest(phone, day, time, service, "elektronik", tuple(people or [person()]))


def row_counts(service):
    with service.store.transaction() as tx:
        return tuple(
            tx.conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (bookings, applicants)
        ) + (tx.conn.execute(select(func.coalesce(func.sum(slot_usage.c.taken), 0))).scalar_one(),)


def taken(service, day=MONDAY, time=T(9)):
    return next(s.taken for s in service.availability(day, day) if s.slot.time == time)


def test_reserve_then_find_by_number_and_code(service):
    outcome = service.reserve(request(people=[person(), person("Ani", D(1992, 5, 4), True, 2)]))
    assert isinstance(outcome, Reserved)
    booking = outcome.booking
    assert booking.slot == SlotRef(MONDAY, T(9)) and booking.size == 2
    assert booking.status is BookingStatus.ACTIVE
    assert booking.created_at.tzinfo is not None
    assert service.active_booking("6281200000001") == booking
    assert service.find_by_code(booking.code.lower()) == booking
    assert taken(service) == 2


def test_availability_over_a_range_skips_closed_days(service):
    slots = service.availability(D(2026, 12, 4), D(2026, 12, 8))  # Fri, Sat, Sun, Mon, Tue
    assert {s.slot.date for s in slots} == {D(2026, 12, 4), D(2026, 12, 7), D(2026, 12, 8)}
    assert len(slots) == 3 * 14 and all(s.free == 25 for s in slots)


def test_capacity_overrides_per_date_and_slot(service):
    service.set_capacity(MONDAY, None, 10)
    service.set_capacity(MONDAY, T(9), 2)
    by_time = {s.slot.time: s.capacity for s in service.availability(MONDAY, MONDAY)}
    assert by_time[T(9)] == 2 and by_time[T(10)] == 10
    service.set_capacity(MONDAY, T(9), 4)  # replaces, not adds
    assert {s.slot.time: s.capacity for s in service.availability(MONDAY, MONDAY)}[T(9)] == 4
    with pytest.raises(ValueError):
        service.set_capacity(MONDAY, T(9, 15), 4)


def test_full_slot_offers_nearest_alternatives_and_writes_nothing(service):
    service.set_capacity(MONDAY, T(9), 1)
    assert isinstance(service.reserve(request()), Reserved)
    before = row_counts(service)
    outcome = service.reserve(request(phone="6281200000002", people=[person("Citra", serial=2)]))
    assert isinstance(outcome, SlotFull) and outcome.free == 0
    # the three nearest free slots, listed in time order
    assert [a.slot for a in outcome.alternatives] == [
        SlotRef(MONDAY, T(8, 0)), SlotRef(MONDAY, T(8, 30)), SlotRef(MONDAY, T(9, 30))
    ]
    assert row_counts(service) == before


def test_group_needs_room_for_everybody(service):
    service.set_capacity(MONDAY, T(9), 2)
    group = [person(serial=1), person("B", serial=2), person("C", serial=3)]
    outcome = service.reserve(request(people=group))
    assert isinstance(outcome, SlotFull) and outcome.free == 2
    assert all(a.free >= 3 for a in outcome.alternatives)


@pytest.mark.parametrize(
    "day, time, refusal, detail",
    [
        (D(2026, 12, 25), T(9), DayClosed, "Natal"),
        (D(2026, 12, 5), T(9), DayClosed, ""),
        (D(2026, 11, 30), T(9), DateInPast, None),
        (D(2026, 12, 1), T(9), OutsideWindow, None),
        (D(2027, 1, 4), T(9), OutsideWindow, None),
        (MONDAY, T(9, 15), NotASlot, None),
        (MONDAY, T(15, 0), NotASlot, None),
    ],
)
def test_date_and_time_refusals_write_nothing(service, day, time, refusal, detail):
    outcome = service.reserve(request(day=day, time=time))
    assert isinstance(outcome, refusal)
    if detail is not None:
        assert detail in outcome.detail
    if isinstance(outcome, (DayClosed, OutsideWindow)):
        dates = [a.slot.date for a in outcome.alternatives]
        assert dates and len(set(dates)) == len(dates)  # distinct days offered
    assert row_counts(service) == (0, 0, 0)


def test_staff_closure_refuses_with_reason_and_reopens(service):
    service.close_date(D(2026, 12, 24), "Cuti bersama Natal")
    outcome = service.reserve(request(day=D(2026, 12, 24)))
    assert isinstance(outcome, DayClosed) and outcome.reason is ClosureReason.STAFF_CLOSURE
    assert outcome.detail == "Cuti bersama Natal"
    assert service.reopen_date(D(2026, 12, 24))
    assert isinstance(service.reserve(request(day=D(2026, 12, 24))), Reserved)


def test_one_active_booking_per_number(service):
    first = service.reserve(request())
    outcome = service.reserve(request(day=D(2026, 12, 8), people=[person("Other", serial=9)]))
    assert isinstance(outcome, NumberHasBooking) and outcome.code == first.booking.code
    assert row_counts(service)[0] == 1


def test_one_active_booking_per_nik_across_numbers(service):
    service.reserve(request())
    outcome = service.reserve(
        request(phone="6281200000009", people=[person("X", serial=5), person()])
    )
    assert isinstance(outcome, NikHasBooking)
    assert outcome.applicant_index == 1 and outcome.nik_masked.endswith("0001")
    assert "3171" not in outcome.nik_masked


def test_applicant_refusals(service):
    bad = person()
    bad = type(bad)(bad.name, D(1990, 3, 13), bad.nik)
    assert isinstance(service.reserve(request(people=[bad])), NikBirthDateMismatch)
    assert isinstance(service.reserve(request(people=[type(bad)("A", D(1990, 3, 12), "12")])), InvalidNik)
    six = [person(serial=i) for i in range(1, 7)]
    assert isinstance(service.reserve(request(people=six)), TooManyApplicants)
    assert row_counts(service) == (0, 0, 0)


def test_number_and_nik_are_free_again_after_the_service_date(service, clock):
    service.reserve(request(day=D(2026, 12, 2)))
    clock.advance(dt.timedelta(days=2))  # 3 December: the booking's date has passed
    assert service.active_booking("6281200000001") is None
    outcome = service.reserve(request(day=D(2026, 12, 9)))
    assert isinstance(outcome, Reserved)
    with service.store.transaction() as tx:
        statuses = sorted(r.status for r in tx.conn.execute(select(bookings.c.status)))
    assert statuses == ["active", "completed"]


def test_cancel_frees_the_places_at_once(service):
    service.set_capacity(MONDAY, T(9), 1)
    code = service.reserve(request()).booking.code
    outcome = service.cancel(code)
    assert isinstance(outcome, Cancelled) and outcome.booking.status is BookingStatus.CANCELLED
    assert outcome.booking.cancelled_at is not None
    assert taken(service) == 0
    assert service.active_booking("6281200000001") is None
    other = service.reserve(request(phone="6281200000002"))  # same NIK, another number
    assert isinstance(other, Reserved)
    assert isinstance(service.cancel(code), BookingNotFound)  # not twice


def test_cancel_then_rebook_same_number(service):
    code = service.reserve(request()).booking.code
    service.cancel(code)
    assert isinstance(service.reserve(request(day=D(2026, 12, 8))), Reserved)


def test_cancel_until_the_slot_starts(service, clock):
    code = service.reserve(request(day=D(2026, 12, 2), time=T(10))).booking.code
    clock.advance(dt.timedelta(days=1, hours=0, minutes=59))  # 2 Dec 09:59
    assert isinstance(service.cancel(code), Cancelled)
    code = service.reserve(request(phone="62812999", day=D(2026, 12, 3), time=T(8))).booking.code
    clock.advance(dt.timedelta(days=1, minutes=1))  # 3 Dec 10:00 > 08:00
    assert isinstance(service.cancel(code), CancelTooLate)


def test_cancel_unknown_code(service):
    assert isinstance(service.cancel("ZZZZ-ZZZZ"), BookingNotFound)
    assert isinstance(service.cancel("not a code"), BookingNotFound)


def test_reschedule_once_moves_places(service):
    code = service.reserve(request(people=[person(), person("B", serial=2)])).booking.code
    outcome = service.reschedule(code, D(2026, 12, 9), T(13))
    assert isinstance(outcome, Rescheduled)
    assert outcome.previous == SlotRef(MONDAY, T(9))
    assert outcome.booking.slot == SlotRef(D(2026, 12, 9), T(13))
    assert outcome.booking.reschedule_count == 1
    assert taken(service) == 0 and taken(service, D(2026, 12, 9), T(13)) == 2
    again = service.reschedule(code, D(2026, 12, 10), T(13))
    assert isinstance(again, RescheduleNotAllowed)
    assert again.problem is RescheduleProblem.LIMIT_REACHED and again.limit == 1


def test_reschedule_no_later_than_the_day_before(service, clock):
    code = service.reserve(request(day=D(2026, 12, 3))).booking.code
    clock.advance(dt.timedelta(days=1))  # 2 Dec: the day before — still allowed
    assert isinstance(service.reschedule(code, D(2026, 12, 4), T(9)), Rescheduled)
    code2 = service.reserve(request(phone="62811", day=D(2026, 12, 3), people=[person("Z", serial=7)])).booking.code
    clock.advance(dt.timedelta(days=1))  # 3 Dec: the booked day itself
    outcome = service.reschedule(code2, D(2026, 12, 8), T(9))
    assert isinstance(outcome, RescheduleNotAllowed) and outcome.problem is RescheduleProblem.TOO_LATE
    assert outcome.deadline == D(2026, 12, 2)


def test_reschedule_refusals_keep_the_booking(service):
    service.set_capacity(D(2026, 12, 9), T(13), 0)
    code = service.reserve(request()).booking.code
    full = service.reschedule(code, D(2026, 12, 9), T(13))
    assert isinstance(full, SlotFull) and full.alternatives
    assert isinstance(service.reschedule(code, D(2026, 12, 25), T(9)), DayClosed)
    same = service.reschedule(code, MONDAY, T(9))
    assert isinstance(same, RescheduleNotAllowed) and same.problem is RescheduleProblem.SAME_SLOT
    booking = service.find_by_code(code)
    assert booking.slot == SlotRef(MONDAY, T(9)) and booking.reschedule_count == 0
    assert taken(service) == 1


def test_alternatives_are_the_nearest_in_date_order(service):
    alts = service.alternatives(MONDAY, T(14, 30), limit=3)
    assert [a.slot for a in alts] == [
        SlotRef(MONDAY, T(13)), SlotRef(MONDAY, T(13, 30)), SlotRef(MONDAY, T(14))
    ]
    days = service.alternatives(D(2026, 12, 5), T(9), distinct_days=True)  # a Saturday
    assert [a.slot.date for a in days] == [D(2026, 12, 3), D(2026, 12, 4), D(2026, 12, 7)]


def test_hand_off_requests_one_open_per_number_and_resolved_by_staff(service):
    first = service.flag_for_human("6281200000001", "request_human", "mau ngomong sama orang")
    again = service.flag_for_human(
        "6281200000001", "fallback", "nik saya 3171011203900003 kok ditolak"
    )
    other = service.flag_for_human("6281200000002", "request_human", None)

    assert again.id == first.id and again.reason == "request_human"
    assert again.message == "nik saya ************0003 kok ditolak"
    assert [h.phone for h in service.handoffs()] == ["6281200000001", "6281200000002"]

    assert service.resolve_handoff(first.id, "petugas-1")
    assert not service.resolve_handoff(first.id, "petugas-2")  # already closed
    assert [h.id for h in service.handoffs()] == [other.id]
    closed = [h for h in service.handoffs(include_resolved=True) if h.id == first.id][0]
    assert closed.resolved_by == "petugas-1" and closed.resolved_at is not None
    # A new request after the first was resolved opens a new one.
    assert service.flag_for_human("6281200000001", "fallback", "halo?").id not in (first.id,)
