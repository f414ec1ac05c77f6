"""Typed outcomes of the booking operations.

Every refusal is a distinct class carrying what the conversation needs to explain it in
Indonesian (the holiday's name, the window's edges, the nearest free alternatives…). A
refusal never writes anything. ``kind`` is a stable string for logs, slots and tests.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar

from antrean.model import Booking, SlotAvailability, SlotRef


class Refusal:
    """Base of every refusal; ``kind`` names it."""

    kind: ClassVar[str] = "refusal"


class ClosureReason(str, enum.Enum):
    WEEKEND = "weekend"  # not a service weekday
    HOLIDAY = "holiday"  # national public holiday
    STAFF_CLOSURE = "staff_closure"  # closed by staff (cuti bersama, events)


@dataclass(frozen=True)
class DayClosed(Refusal):
    date: dt.date
    reason: ClosureReason
    detail: str = ""  # the holiday's name or the staff's reason
    alternatives: tuple[SlotAvailability, ...] = ()
    kind: ClassVar[str] = "day_closed"


@dataclass(frozen=True)
class DateInPast(Refusal):
    date: dt.date
    today: dt.date
    kind: ClassVar[str] = "date_in_past"


@dataclass(frozen=True)
class OutsideWindow(Refusal):
    date: dt.date
    earliest: dt.date
    latest: dt.date
    alternatives: tuple[SlotAvailability, ...] = ()
    kind: ClassVar[str] = "outside_window"


@dataclass(frozen=True)
class NotASlot(Refusal):
    """The time is not a start of a slot of the grid."""

    time: dt.time
    slot_times: tuple[dt.time, ...]
    kind: ClassVar[str] = "not_a_slot"


@dataclass(frozen=True)
class SlotFull(Refusal):
    date: dt.date
    time: dt.time
    free: int  # places left, fewer than asked for
    alternatives: tuple[SlotAvailability, ...] = ()
    kind: ClassVar[str] = "slot_full"


@dataclass(frozen=True)
class NumberHasBooking(Refusal):
    code: str
    date: dt.date
    kind: ClassVar[str] = "number_has_booking"


@dataclass(frozen=True)
class NikHasBooking(Refusal):
    nik_masked: str
    applicant_index: int
    kind: ClassVar[str] = "nik_has_booking"


@dataclass(frozen=True)
class InvalidNik(Refusal):
    applicant_index: int
    problem: str  # "format" (not 16 digits) or "birth_date" (embedded date impossible)
    kind: ClassVar[str] = "invalid_nik"


@dataclass(frozen=True)
class NikBirthDateMismatch(Refusal):
    applicant_index: int
    kind: ClassVar[str] = "nik_birth_date_mismatch"


@dataclass(frozen=True)
class DuplicateNik(Refusal):
    """The same NIK appears twice in one group booking."""

    applicant_index: int
    kind: ClassVar[str] = "duplicate_nik"


@dataclass(frozen=True)
class InvalidApplicant(Refusal):
    """A name is empty or a birth date lies in the future."""

    applicant_index: int
    problem: str  # "name" or "birth_date"
    kind: ClassVar[str] = "invalid_applicant"


@dataclass(frozen=True)
class TooManyApplicants(Refusal):
    count: int
    maximum: int
    kind: ClassVar[str] = "too_many_applicants"


@dataclass(frozen=True)
class NoApplicants(Refusal):
    kind: ClassVar[str] = "no_applicants"


@dataclass(frozen=True)
class UnknownService(Refusal):
    field_name: str  # "service_type" or "passport_type"
    value: str
    kind: ClassVar[str] = "unknown_service"


class RescheduleProblem(str, enum.Enum):
    LIMIT_REACHED = "limit_reached"  # already rescheduled as often as allowed
    TOO_LATE = "too_late"  # on or after the deadline day
    SAME_SLOT = "same_slot"


@dataclass(frozen=True)
class RescheduleNotAllowed(Refusal):
    problem: RescheduleProblem
    limit: int
    deadline: dt.date | None = None  # last day a reschedule was possible
    kind: ClassVar[str] = "reschedule_not_allowed"


@dataclass(frozen=True)
class CancelTooLate(Refusal):
    starts_at: dt.datetime
    kind: ClassVar[str] = "cancel_too_late"


@dataclass(frozen=True)
class BookingNotFound(Refusal):
    kind: ClassVar[str] = "booking_not_found"


@dataclass(frozen=True)
class Reserved:
    booking: Booking
    kind: ClassVar[str] = "reserved"


@dataclass(frozen=True)
class Cancelled:
    booking: Booking
    kind: ClassVar[str] = "cancelled"


@dataclass(frozen=True)
class Rescheduled:
    booking: Booking
    previous: SlotRef
    kind: ClassVar[str] = "rescheduled"


DateRefusal = DayClosed | DateInPast | OutsideWindow
ReserveOutcome = Reserved | Refusal
CancelOutcome = Cancelled | Refusal
RescheduleOutcome = Rescheduled | Refusal
