"""Domain values: applicants, bookings and slots, and the staff's view of them.

Plain Python, no ORM: the store (``antrean.store``) maps them to rows.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class BookingStatus(str, enum.Enum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # the service date has passed


@dataclass(frozen=True)
class Applicant:
    """One person served at the counter."""

    name: str
    birth_date: dt.date
    nik: str


@dataclass(frozen=True)
class SlotRef:
    """A place in the grid: a service date and the slot's start time."""

    date: dt.date
    time: dt.time

    def starts_at(self, tz: dt.tzinfo) -> dt.datetime:
        return dt.datetime.combine(self.date, self.time, tzinfo=tz)


@dataclass(frozen=True)
class SlotAvailability:
    """Free places of one slot."""

    slot: SlotRef
    capacity: int
    taken: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(frozen=True)
class BookingRequest:
    """What an applicant asks for, before any rule is checked."""

    phone: str
    date: dt.date
    time: dt.time
    service_type: str
    passport_type: str
    applicants: tuple[Applicant, ...]


@dataclass(frozen=True)
class Booking:
    """A reservation as stored."""

    code: str
    phone: str
    slot: SlotRef
    service_type: str
    passport_type: str
    applicants: tuple[Applicant, ...]
    status: BookingStatus
    reschedule_count: int
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None

    @property
    def size(self) -> int:
        return len(self.applicants)

    @property
    def is_active(self) -> bool:
        return self.status is BookingStatus.ACTIVE


@dataclass(frozen=True)
class HandoffRequest:
    """A conversation flagged for staff: the applicant asked for a person, or the bot failed."""

    id: int
    phone: str
    reason: str
    message: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Attendance(str, enum.Enum):
    """Whether an applicant came to the counter; kept apart from ``BookingStatus``."""

    ARRIVED = "arrived"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class StaffBooking:
    """A booking as the counter sees it: the domain booking plus attendance."""

    id: int
    code: str
    phone: str
    slot: SlotRef
    service_type: str
    passport_type: str
    status: BookingStatus
    reschedule_count: int
    attendance: Attendance | None
    attendance_at: dt.datetime | None
    applicants: tuple[Applicant, ...]
    anonymised_at: dt.datetime | None = None
    applicant_count: int | None = None
    attendance_confirmed_at: dt.datetime | None = None  # tapped "Saya datang"
    created_at: dt.datetime | None = None

    def created_at_before(self, moment: dt.datetime) -> bool:
        return self.created_at is not None and self.created_at < moment

    @property
    def size(self) -> int:
        return (self.applicant_count or 0) if self.anonymised_at else len(self.applicants)

    @property
    def is_cancelled(self) -> bool:
        return self.status is BookingStatus.CANCELLED


@dataclass
class DayCounts:
    """Bookings of one service date, as the reports count them."""

    bookings: int = 0  # not cancelled
    people: int = 0  # applicants of the bookings not cancelled
    cancelled: int = 0
    arrived: int = 0
    no_show: int = 0

    @property
    def unmarked(self) -> int:
        return self.bookings - self.arrived - self.no_show


@dataclass(frozen=True)
class OwnerNotice:
    """Something done to a booking from elsewhere, which its own number is to be told.

    Written when a booking is cancelled or moved from another WhatsApp number (after the
    code and the first applicant's date of birth), or released by staff. ``sent_at`` is set
    once the number was told, by the channel or by staff.
    """

    id: int
    booking_code: str
    phone: str  # the booking's own number, to be told
    event: str  # "cancelled", "rescheduled" or "released"
    slot: SlotRef  # the booking's schedule after the change (the old one when cancelled)
    by_phone: str | None  # the other number that did it; None when staff did
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    sent_by: str | None = None


@dataclass(frozen=True)
class NikRelease:
    """Staff cancelled the active booking holding a NIK, after checking who its owner is."""

    id: int
    booking_code: str
    nik_masked: str
    reason: str
    released_by: str
    released_at: dt.datetime


class NoticeKind(str, enum.Enum):
    """Messages the office sends first (``antrean.notices``)."""

    REMINDER = "reminder"  # the day before the booked date
    CLOSURE = "closure"  # staff closed the booked date
    # The booking's own number is told what was done from elsewhere (antrean.access).
    OWNER_CHANGED = "owner_changed"  # moved from another number
    OWNER_CANCELLED = "owner_cancelled"  # cancelled from another number, or released by staff

    @property
    def for_owner(self) -> bool:
        """A notice about something already done: sent whatever the booking's state now."""
        return self in (NoticeKind.OWNER_CHANGED, NoticeKind.OWNER_CANCELLED)


class NoticeState(str, enum.Enum):
    PENDING = "pending"  # waiting for its time, or for a retry
    SENT = "sent"  # the Graph API accepted it
    FAILED = "failed"  # given up (a permanent error, or too many tries)
    CANCELLED = "cancelled"  # no longer due: booking cancelled or moved, date reopened, opt-out


@dataclass(frozen=True)
class Notice:
    """One row of the outbox: a message owed to a booking's own number."""

    id: int
    booking_id: int
    kind: NoticeKind
    service_date: dt.date
    phone: str
    parameters: dict  # the template's values (code, day, date, time, people, reason, options)
    state: NoticeState
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    lease_token: str | None = None
    sent_at: dt.datetime | None = None
    sent_as: str | None = None  # "template" or "text"
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    delivery: str | None = None  # newest delivery report: sent / delivered / read / failed
    delivery_at: dt.datetime | None = None
    cancel_reason: str | None = None
