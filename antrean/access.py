"""Who may see and change a booking (SPEC "Who may see and change a booking").

From the booking's own number everything is allowed. From another number a code shows only
that it is valid and its day and time; cancelling or moving it needs the code plus the first
applicant's date of birth. Failed code look-ups (a code that names no active booking, a wrong
date of birth) are limited per number: after ``LookupLimit.failures`` of them within
``LookupLimit.window`` the number may look up no code until the oldest one leaves the window.
What is done to a booking from elsewhere (another number, or staff releasing a NIK) is
written down as a notice owed to the booking's own number.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from antrean.masking import mask_code, mask_phone
from antrean.model import Booking, NikRelease, OwnerNotice, SlotRef
from antrean.nik import mask_nik, normalise_nik
from antrean.notices import NoticeOutbox
from antrean.outcomes import BookingNotFound, Cancelled, CancelOutcome
from antrean.service import BookingService

log = logging.getLogger(__name__)

UNKNOWN_CODE = "unknown_code"
WRONG_BIRTH_DATE = "wrong_birth_date"
CANCELLED, RESCHEDULED, RELEASED = "cancelled", "rescheduled", "released"


@dataclass(frozen=True)
class LookupLimit:
    """How many failed code look-ups a number may make, and within how long."""

    failures: int = 5
    window: dt.timedelta = dt.timedelta(hours=1)


class BookingAccess:
    """The checks and records around a booking touched by someone other than its number."""

    def __init__(self, service: BookingService, limit: LookupLimit | None = None) -> None:
        self.service = service
        self.limit = limit or LookupLimit()

    # --- failed look-ups ----------------------------------------------------------------
    def blocked_until(self, phone: str) -> dt.datetime | None:
        """Until when ``phone`` may look up no code (office time), or None if it may."""
        now = self.service.now()
        with self.service.store.transaction() as tx:
            failures = tx.access.lookup_failures_since(phone, now - self.limit.window)
        if len(failures) < self.limit.failures:
            return None
        # Free again once enough of them have left the window.
        oldest_that_counts = failures[len(failures) - self.limit.failures]
        return (oldest_that_counts + self.limit.window).astimezone(self.service.tz)

    def record_failure(self, phone: str, kind: str) -> None:
        now = self.service.now()
        with self.service.store.transaction() as tx:
            tx.access.add_lookup_failure(phone, kind, now, now - self.limit.window)
        log.info("failed code look-up (%s) from %s", kind, mask_phone(phone))

    # --- the owner's proof ----------------------------------------------------------------
    @staticmethod
    def is_owner_birth_date(booking: Booking, born: dt.date) -> bool:
        """Whether ``born`` is the first applicant's date of birth."""
        return bool(booking.applicants) and booking.applicants[0].birth_date == born

    # --- notices to the booking's own number ------------------------------------------------
    def notify_owner(self, booking: Booking, event: str, by_phone: str | None,
                     previous: SlotRef | None = None) -> OwnerNotice:
        """Write down that ``booking`` was changed from elsewhere, for its own number.

        Where the office sends notices (``notices`` in office.yml), the WhatsApp message
        telling the number is queued with it, for ``law-notices`` to send (``previous``: the
        schedule before a move). Staff see the record until the number was told.
        """
        outbox = NoticeOutbox(self.service) if self.service.config.notices else None
        with self.service.store.transaction() as tx:
            notice = tx.access.add_owner_notice(booking.code, booking.phone, event,
                                                booking.slot, by_phone, self.service.now())
            if outbox is not None:
                outbox.queue_owner_notice(tx, notice, booking, previous)
        log.info("owner notice %d: %s %s for %s", notice.id, mask_code(booking.code), event,
                 mask_phone(booking.phone))
        return notice

    def owner_notices(self, include_sent: bool = False) -> list[OwnerNotice]:
        with self.service.store.transaction() as tx:
            return tx.access.owner_notices(include_sent)

    def mark_notice_sent(self, notice_id: int, by: str) -> bool:
        """The owner was told (by the channel or by staff); False if unknown or done."""
        with self.service.store.transaction() as tx:
            return tx.access.mark_notice_sent(notice_id, by[:64], self.service.now())

    # --- NIK squatting ------------------------------------------------------------------
    def release_nik(self, raw_nik: str, reason: str, staff: str
                    ) -> tuple[Booking, NikRelease] | None:
        """Cancel the active booking holding a NIK, after staff checked its owner's identity.

        The release is recorded with its reason, and the booking's number gets a notice.
        Returns None when no active booking holds the NIK.
        """
        nik = normalise_nik(raw_nik)
        with self.service.store.transaction() as tx:
            holder = tx.active_by_nik(nik)
        if holder is None:
            return None
        outcome: CancelOutcome = self.service.cancel(holder.code, allow_started=True)
        if not isinstance(outcome, Cancelled):
            assert isinstance(outcome, BookingNotFound)
            return None  # cancelled meanwhile
        with self.service.store.transaction() as tx:
            release = tx.access.add_nik_release(outcome.booking.code, mask_nik(nik),
                                                reason.strip(), staff[:64],
                                                self.service.now())
        self.notify_owner(outcome.booking, RELEASED, None)
        return outcome.booking, release

    def nik_releases(self) -> list[NikRelease]:
        with self.service.store.transaction() as tx:
            return tx.access.nik_releases()
