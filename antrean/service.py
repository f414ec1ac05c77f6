"""Booking operations: availability, alternatives, reserve, find, cancel, reschedule.

Each operation takes plain values and returns a typed outcome (``antrean.outcomes``). A
refusal is decided inside the transaction that would have written, and rolls it back, so a
refusal never leaves anything behind.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo

from antrean import calendar, codes, rules
from antrean.clock import Clock
from antrean.config import OfficeConfig
from antrean.masking import mask_code, mask_numbers_in_text, mask_phone
from antrean.model import (
    Booking,
    BookingRequest,
    BookingStatus,
    HandoffRequest,
    SlotAvailability,
    SlotRef,
)
from antrean.nik import mask_nik
from antrean.outcomes import (
    BookingNotFound,
    Cancelled,
    CancelOutcome,
    CancelTooLate,
    DayClosed,
    NikHasBooking,
    NotASlot,
    NumberHasBooking,
    OutsideWindow,
    Refusal,
    Rescheduled,
    RescheduleNotAllowed,
    RescheduleOutcome,
    RescheduleProblem,
    Reserved,
    ReserveOutcome,
    SlotFull,
)
from antrean.store.repository import IntegrityError, SqlStore, StoreSession

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # retries after a unique-constraint race (or a code collision)


class _Rollback(Exception):
    """Raised inside a transaction to undo it and hand a refusal out."""

    def __init__(self, outcome: Refusal) -> None:
        super().__init__(outcome.kind)
        self.outcome = outcome


class BookingService:
    """The booking core on one store, one configuration and one clock."""

    def __init__(self, config: OfficeConfig, store: SqlStore, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.tz = ZoneInfo(config.office.timezone)
        self.slot_times = calendar.slot_times(config.schedule)

    # --- time ----------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.now().astimezone(self.tz)

    def today(self) -> dt.date:
        return self.now().date()

    def window(self) -> tuple[dt.date, dt.date]:
        return calendar.booking_window(self.config, self.today())

    # --- reading -------------------------------------------------------------------
    def availability(
        self, first: dt.date, last: dt.date, tx: StoreSession | None = None
    ) -> list[SlotAvailability]:
        """Every slot of the open days between ``first`` and ``last``, with free places."""
        if tx is None:
            with self.store.transaction() as own:
                return self.availability(first, last, own)
        staff = tx.staff_closures(first, last)
        overrides = tx.capacity_overrides(first, last)
        usage = tx.usage(first, last)
        result = []
        for day in calendar.dates_between(first, last):
            if calendar.closure_of(self.config, day, staff):
                continue
            for time in self.slot_times:
                capacity = calendar.capacity_of(self.config, day, time, overrides)
                result.append(
                    SlotAvailability(SlotRef(day, time), capacity, usage.get((day, time), 0))
                )
        return result

    def bookable_slots(self, places: int = 1) -> list[SlotAvailability]:
        """Slots inside the booking window with at least ``places`` free."""
        first, last = self.window()
        return [s for s in self.availability(first, last) if s.free >= places]

    def free_days(self, places: int = 1) -> list[SlotAvailability]:
        """The first free slot of each bookable day with room for ``places``."""
        days: list[SlotAvailability] = []
        for slot in self.bookable_slots(places):
            if not days or days[-1].slot.date != slot.slot.date:
                days.append(slot)
        return days

    def alternatives(
        self,
        day: dt.date,
        time: dt.time | None,
        places: int = 1,
        limit: int = 3,
        distinct_days: bool = False,
    ) -> tuple[SlotAvailability, ...]:
        """The free slots nearest to the wanted day (and time), in date and time order.

        With ``distinct_days`` at most one slot per day is offered (the one nearest the
        wanted time): the answer to "that day is closed" is other days.
        """
        wanted_minutes = _minutes(time or self.slot_times[0])
        candidates = [
            s for s in self.bookable_slots(places) if s.slot != SlotRef(day, time or dt.time())
        ]
        candidates.sort(
            key=lambda s: (
                abs((s.slot.date - day).days),
                s.slot.date < day,  # on a tie the later day: the applicant meant "from then"
                s.slot.date,
                abs(_minutes(s.slot.time) - wanted_minutes),
                s.slot.time,
            )
        )
        if distinct_days:
            first_per_day: dict[dt.date, SlotAvailability] = {}
            for candidate in candidates:
                first_per_day.setdefault(candidate.slot.date, candidate)
            candidates = list(first_per_day.values())
        # The nearest ones, shown in calendar order (a list read top to bottom).
        return tuple(sorted(candidates[:limit], key=lambda s: (s.slot.date, s.slot.time)))

    def check_slot(self, day: dt.date, time: dt.time | None = None) -> Refusal | None:
        """Why ``day`` (and ``time``) cannot be booked, ignoring capacity; None if it can."""
        with self.store.transaction() as tx:
            staff = tx.staff_closures(day, day)
        refusal = calendar.check_date(self.config, day, self.today(), staff)
        if isinstance(refusal, (DayClosed, OutsideWindow)):
            alternatives = self.alternatives(day, time, distinct_days=True)
            return _with_alternatives(refusal, alternatives)
        if refusal is None and time is not None and time not in self.slot_times:
            return NotASlot(time, self.slot_times)
        return refusal

    def active_booking(self, phone: str) -> Booking | None:
        """The number's active booking whose service date has not passed."""
        with self.store.transaction() as tx:
            booking = tx.active_by_phone(phone)
        if booking and booking.slot.date >= self.today():
            return booking
        return None

    def nik_booking_refusal(self, nik: str) -> NikHasBooking | None:
        """The refusal a reservation would meet because ``nik`` already holds a booking."""
        with self.store.transaction() as tx:
            booking = tx.active_by_nik(nik)
        if booking and booking.slot.date >= self.today():
            return NikHasBooking(nik_masked=mask_nik(nik), applicant_index=0)
        return None

    def find_by_code(self, raw_code: str) -> Booking | None:
        code = codes.normalise_code(raw_code)
        if not codes.is_valid_code(code, self.config.booking.code_length):
            return None
        with self.store.transaction() as tx:
            return tx.by_code(code)

    # --- staff ---------------------------------------------------------------------
    def close_date(self, day: dt.date, reason: str) -> None:
        """Close a date (existing bookings stay; staff contact those applicants)."""
        with self.store.transaction() as tx:
            tx.close_date(day, reason.strip(), self.now())

    def reopen_date(self, day: dt.date) -> bool:
        with self.store.transaction() as tx:
            return tx.reopen_date(day)

    def set_capacity(self, day: dt.date, time: dt.time | None, capacity: int) -> None:
        """Places per slot on ``day`` (every slot when ``time`` is None)."""
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        if time is not None and time not in self.slot_times:
            raise ValueError(f"{time:%H:%M} is not a slot start")
        with self.store.transaction() as tx:
            tx.set_capacity(day, time, capacity, self.now())

    def clear_capacity(self, day: dt.date, time: dt.time | None) -> int | None:
        """Take a capacity override back off ``day``; returns the capacity it set, or None.

        ``time`` None removes the date-wide override, else the one of that slot; the slot
        then has the capacity of the rule below it (the date-wide override, else the
        office's). None is returned when there was no such override.
        """
        if time is not None and time not in self.slot_times:
            raise ValueError(f"{time:%H:%M} is not a slot start")
        with self.store.transaction() as tx:
            return tx.clear_capacity(day, time)

    # --- hand-off to staff -------------------------------------------------------------
    def flag_for_human(self, phone: str, reason: str, message: str | None) -> HandoffRequest:
        """Mark the conversation of ``phone`` for staff; one open request per number.

        A second request while one is open refreshes its message instead of adding a row,
        so staff see each waiting applicant once. Digit runs (NIK, phone) are masked.
        """
        text = mask_numbers_in_text(message)[:500] or None
        with self.store.transaction() as tx:
            existing = tx.open_handoff(phone)
            if existing is not None:
                tx.update_handoff_message(existing.id, text)
                return replace(existing, message=text)
            return tx.add_handoff(phone, reason, text, self.now())

    def handoffs(self, include_resolved: bool = False) -> list[HandoffRequest]:
        with self.store.transaction() as tx:
            return tx.handoffs(include_resolved)

    def resolve_handoff(self, handoff_id: int, staff: str) -> bool:
        """Close a hand-off request; False when it does not exist or is already closed."""
        with self.store.transaction() as tx:
            return tx.resolve_handoff(handoff_id, staff, self.now())

    # --- writing -------------------------------------------------------------------
    def reserve(self, request: BookingRequest) -> ReserveOutcome:
        """Reserve places for the whole group, or refuse without writing anything."""
        today = self.today()
        problem = rules.check_service(request.service_type, request.passport_type)
        problem = problem or rules.check_applicants(self.config, request.applicants, today)
        problem = problem or self.check_slot(request.date, request.time)
        if problem:
            return problem
        people = rules.clean_applicants(request.applicants)
        slot = SlotRef(request.date, request.time)
        for attempt in range(MAX_ATTEMPTS):
            booking = Booking(
                code=codes.new_code(self.config.booking.code_length),
                phone=request.phone,
                slot=slot,
                service_type=request.service_type,
                passport_type=request.passport_type,
                applicants=people,
                status=BookingStatus.ACTIVE,
                reschedule_count=0,
                created_at=self.now(),
            )
            try:
                with self.store.transaction() as tx:
                    self._reserve_in(tx, booking, today)
            except _Rollback as refused:
                return self._explain(refused.outcome, len(people))
            except IntegrityError:
                # Another transaction took the number, a NIK or the code first: look again.
                log.info("reserve race for %s, attempt %d", mask_phone(request.phone), attempt)
                continue
            log.info(
                "reserved %s for %s: %s %s, %d applicant(s)",
                mask_code(booking.code),
                mask_phone(booking.phone),
                slot.date,
                slot.time.strftime("%H:%M"),
                booking.size,
            )
            return Reserved(booking)
        raise RuntimeError("could not reserve after repeated conflicts")

    def _reserve_in(self, tx: StoreSession, booking: Booking, today: dt.date) -> None:
        niks = [a.nik for a in booking.applicants]
        tx.expire_past(today, booking.phone, niks)
        existing = tx.active_by_phone(booking.phone)
        if existing:
            raise _Rollback(NumberHasBooking(code=existing.code, date=existing.slot.date))
        holders = tx.active_nik_holders(niks)
        for index, nik in enumerate(niks):
            if nik in holders:
                raise _Rollback(NikHasBooking(nik_masked=mask_nik(nik), applicant_index=index))
        self._take(tx, booking.slot, booking.size)
        tx.insert_booking(booking)

    def _take(self, tx: StoreSession, slot: SlotRef, count: int) -> None:
        overrides = tx.capacity_overrides(slot.date, slot.date)
        capacity = calendar.capacity_of(self.config, slot.date, slot.time, overrides)
        if not tx.take_places(slot, count, capacity):
            taken = tx.usage(slot.date, slot.date).get((slot.date, slot.time), 0)
            raise _Rollback(SlotFull(slot.date, slot.time, free=max(capacity - taken, 0)))

    def _explain(self, refusal: Refusal, places: int) -> Refusal:
        if isinstance(refusal, SlotFull):
            alternatives = self.alternatives(refusal.date, refusal.time, places)
            return SlotFull(refusal.date, refusal.time, refusal.free, alternatives)
        return refusal

    def cancel(self, code: str, allow_started: bool = False) -> CancelOutcome:
        """Cancel before the slot starts; the places are free for others at once.

        Staff releasing a NIK (``antrean.access``) may cancel a booking whose slot started.
        """
        booking = self.find_by_code(code)
        if booking is None or not booking.is_active:
            return BookingNotFound()
        starts_at = booking.slot.starts_at(self.tz)
        if self.now() >= starts_at and not allow_started:
            return CancelTooLate(starts_at)
        with self.store.transaction() as tx:
            if not tx.mark_cancelled(booking.code, self.now()):
                return BookingNotFound()
            tx.release_places(booking.slot, booking.size)
        log.info("cancelled %s for %s", mask_code(booking.code), mask_phone(booking.phone))
        return Cancelled(self.find_by_code(booking.code) or booking)

    def reschedule_problem(self, booking: Booking) -> RescheduleNotAllowed | None:
        """Why this booking can no longer be moved (limit or deadline), or None."""
        limit = self.config.booking.reschedule_limit
        deadline = booking.slot.date - dt.timedelta(
            days=self.config.booking.reschedule_deadline_days
        )
        if booking.reschedule_count >= limit:
            return RescheduleNotAllowed(RescheduleProblem.LIMIT_REACHED, limit, deadline)
        if self.today() > deadline:
            return RescheduleNotAllowed(RescheduleProblem.TOO_LATE, limit, deadline)
        return None

    def reschedule(self, code: str, day: dt.date, time: dt.time) -> RescheduleOutcome:
        """Move a booking once, no later than the day before its date."""
        booking = self.find_by_code(code)
        if booking is None or not booking.is_active:
            return BookingNotFound()
        not_allowed = self.reschedule_problem(booking)
        if not_allowed:
            return not_allowed
        limit = self.config.booking.reschedule_limit
        target = SlotRef(day, time)
        if target == booking.slot:
            return RescheduleNotAllowed(RescheduleProblem.SAME_SLOT, limit)
        problem = self.check_slot(day, time)
        if problem:
            return problem
        refused = self._move(
            booking, target,
            lambda tx: tx.move_booking(booking.code, target, booking.reschedule_count, self.now()),
            RescheduleNotAllowed(RescheduleProblem.LIMIT_REACHED, limit))
        if refused:
            return refused
        log.info("rescheduled %s for %s", mask_code(booking.code), mask_phone(booking.phone))
        moved = self.find_by_code(booking.code)
        assert moved is not None
        return Rescheduled(moved, previous=booking.slot)

    def _move(self, booking: Booking, target: SlotRef,
              move: Callable[[StoreSession], bool], refusal: Refusal) -> Refusal | None:
        """Take the places at ``target``, move the booking, free its old places.

        One transaction; ``move`` says whether the booking row moved (else ``refusal``).
        """
        try:
            with self.store.transaction() as tx:
                self._take(tx, target, booking.size)
                if not move(tx):
                    raise _Rollback(refusal)
                tx.release_places(booking.slot, booking.size)
        except _Rollback as refused:
            return self._explain(refused.outcome, booking.size)
        return None

    def move_for_closure(self, code: str, day: dt.date, time: dt.time) -> RescheduleOutcome:
        """Move a booking off a date staff closed, keeping its one reschedule.

        Only while the booking's own date is closed by staff (a closure notice offered the
        new slot); the new slot is checked like any other, places included. A booking that
        is not (or no longer) on a staff-closed date is ``BookingNotFound``: the offer no
        longer stands, and the applicant can use the normal reschedule.
        """
        booking = self.find_by_code(code)
        if booking is None or not booking.is_active:
            return BookingNotFound()
        with self.store.transaction() as tx:
            closed = tx.staff_closures(booking.slot.date, booking.slot.date)
        if booking.slot.date not in closed or booking.slot.date < self.today():
            return BookingNotFound()
        target = SlotRef(day, time)
        problem = self.check_slot(day, time)
        if problem:
            return problem
        refused = self._move(
            booking, target,
            lambda tx: tx.move_booking_uncounted(booking.code, booking.slot, target, self.now()),
            BookingNotFound())
        if refused:
            return refused
        log.info("moved %s off a closed date for %s", mask_code(booking.code),
                 mask_phone(booking.phone))
        moved = self.find_by_code(booking.code)
        assert moved is not None
        return Rescheduled(moved, previous=booking.slot)


def _with_alternatives(
    refusal: DayClosed | OutsideWindow, alternatives: tuple[SlotAvailability, ...]
) -> Refusal:
    if isinstance(refusal, DayClosed):
        return DayClosed(refusal.date, refusal.reason, refusal.detail, alternatives)
    return OutsideWindow(refusal.date, refusal.earliest, refusal.latest, alternatives)


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute

