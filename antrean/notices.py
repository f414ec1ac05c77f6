"""Messages the office sends first: the reminder the day before, the closure notice.

The outbox (``notice_outbox``, through ``StoreSession.outbox``) holds one row per booking,
kind and booked date, so queueing is idempotent: a scheduler that runs twice, in two
processes, or again after a crash queues nothing twice. A sender claims a due row with a
lease, sends it and records the outcome under the lease's token; a row whose sender died
is claimed again once its lease ran out. A failure is tried again with a doubling pause,
up to ``max_attempts`` tries; Meta's codes for a number not on WhatsApp and a paused or
unusable template are final at once and shown to staff.

When a reminder is due (``queue_due_reminders``): from ``reminder_time`` (office time) the
day before the booked date, for the active bookings of that date made before that moment,
whose number did not ask to stop reminders ("BERHENTI"). A closure notice is queued when
staff close a date with active bookings, with the three nearest free slots for the whole
group on other days; reopening the date before they went cancels them.

Which wording goes out is the office configuration's (``antrean.notice_config``); this
module gives the values: code, day, date, time, people, reason, options.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from antrean import codes
from antrean.indonesian import (
    DAY_NAMES,
    MONTH_NAMES,
    format_date_short,
    join_names,
)
from antrean.masking import mask_code, mask_phone
from antrean.model import (
    Booking,
    BookingStatus,
    Notice,
    NoticeKind,
    NoticeState,
    OwnerNotice,
    SlotRef,
    StaffBooking,
)
from antrean.notice_config import NoticeConfig, Template
from antrean.outcomes import BookingNotFound, Refusal, Rescheduled
from antrean.service import BookingService
from antrean.store.repository import StoreSession

log = logging.getLogger(__name__)

# Meta's codes that no retry can fix: the number is not on WhatsApp (131026); the template
# is paused (132015) or disabled (132016), does not exist in that language (132001), or
# its parameters do not match it (132000, 132005, 132012); the recipient is not allowed
# (131030, test numbers), the account is restricted (131031).
FINAL_ERROR_CODES = frozenset({131026, 132015, 132016, 132001, 132000, 132005, 132012,
                               131030, 131031})
ERROR_LABELS = {131026: "nomor tidak terdaftar di WhatsApp", 132015: "templat dijeda Meta",
                132016: "templat dinonaktifkan Meta", 132001: "templat tidak ada"}
WINDOW = dt.timedelta(hours=24)  # WhatsApp's customer-service window
CLAIM_LEASE_S = 60.0

# What the buttons carry back. The reschedule and cancel payloads are the conversation's own
# intents; "attend" and "move" are answered by the WhatsApp channel before the bot.
RESCHEDULE_PAYLOAD = "/reschedule_booking"
CANCEL_PAYLOAD = "/cancel_booking"
HUMAN_PAYLOAD = "/request_human"
# Who did it, in the owner notices' words ("diubah …", "dibatalkan …").
BY_OTHER_NUMBER = "dari nomor WhatsApp lain"
BY_STAFF = "oleh petugas kantor (NIK dilepas setelah pemeriksaan identitas)"
ATTEND_PREFIX = "notice:attend:"
MOVE_PREFIX = "notice:move:"


@dataclass(frozen=True)
class Button:
    label: str  # the template's approved label, or a date inside the 24-hour window
    payload: str


@dataclass(frozen=True)
class OutboundNotice:
    """A claimed notice, ready to be sent."""

    notice: Notice
    template: Template
    values: dict[str, str]  # parameter name → text
    buttons: tuple[Button, ...]  # in the template's button order
    as_text: bool  # inside the 24-hour window: free text with buttons instead

    @property
    def text(self) -> str:
        return self.template.render(self.values)


def long_date(day: dt.date) -> str:
    """``7 Desember 2026`` (the day's name is a parameter of its own)."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def slot_label(slot: SlotRef) -> str:
    """``Sen 7 Des 09.00`` — a reply button's title holds at most 20 characters."""
    return f"{format_date_short(slot.date)} {slot.time:%H.%M}"


def move_payload(code: str, slot: SlotRef) -> str:
    return f"{MOVE_PREFIX}{code}:{slot.date.isoformat()}:{slot.time:%H:%M}"


def parse_move(payload: str) -> tuple[str, SlotRef] | None:
    try:
        code, day, time = payload[len(MOVE_PREFIX):].split(":", 2)
        return code, SlotRef(dt.date.fromisoformat(day), dt.time.fromisoformat(time))
    except ValueError:
        return None


class NoticeOutbox:
    """The outbox on one booking service (its store, office configuration and clock)."""

    def __init__(self, service: BookingService) -> None:
        if service.config.notices is None:
            raise ValueError("the office configuration has no 'notices' section")
        self.service = service
        self.config: NoticeConfig = service.config.notices

    # --- queueing ----------------------------------------------------------------------
    def reminder_moment(self, service_date: dt.date) -> dt.datetime:
        """When the reminder of a booked date is due: the day before at the set hour."""
        return dt.datetime.combine(service_date - dt.timedelta(days=1),
                                   self.config.reminder_time, tzinfo=self.service.tz)

    def queue_due_reminders(self) -> int:
        """Queue tomorrow's reminders once their hour has come; returns how many were new."""
        now = self.service.now()
        day = now.date() + dt.timedelta(days=1)
        due_at = self.reminder_moment(day)
        if now < due_at:
            return 0
        with self.service.store.transaction() as tx:
            if day in tx.staff_closures(day, day):
                return 0  # its bookings were sent a closure notice instead
            candidates = [b for b in tx.staff.bookings_on(day)
                          if b.status is BookingStatus.ACTIVE and b.created_at_before(due_at)]
            off = tx.outbox.reminders_off(b.phone for b in candidates)
            rows = [self._row(NoticeKind.REMINDER, b, self.booking_values(b))
                    for b in candidates if b.phone not in off]
            added = tx.outbox.queue(rows, now)
        if added:
            log.info("queued %d reminder(s) for %s", added, day)
        return added

    def queue_closure(self, day: dt.date, reason: str) -> int:
        """Queue a closure notice to every active booking of a date staff just closed."""
        now = self.service.now()
        with self.service.store.transaction() as tx:
            affected = [b for b in tx.staff.bookings_on(day) if b.status is BookingStatus.ACTIVE]
        rows = []
        for booking in affected:
            options = self.service.alternatives(day, booking.slot.time, places=booking.size,
                                                limit=3, distinct_days=True)
            values = {**self.booking_values(booking), "reason": reason}
            for index, option in enumerate(options, start=1):
                values[f"option{index}"] = f"{DAY_NAMES[option.slot.date.weekday()]} " \
                    f"{long_date(option.slot.date)} {option.slot.time:%H.%M}"
                values[f"slot{index}"] = f"{option.slot.date.isoformat()}T" \
                    f"{option.slot.time:%H:%M}"
            rows.append(self._row(NoticeKind.CLOSURE, booking, values))
        with self.service.store.transaction() as tx:
            added = tx.outbox.queue(rows, now)
        log.info("queued %d closure notice(s) for %s", added, day)
        return added

    def cancel_closure(self, day: dt.date) -> int:
        """The date was reopened: closure notices not yet sent are not sent."""
        with self.service.store.transaction() as tx:
            return tx.outbox.cancel_pending(NoticeKind.CLOSURE, day, "date_reopened")

    def queue_owner_notice(self, tx: StoreSession, notice: OwnerNotice, booking: Booking,
                           previous: SlotRef | None) -> bool:
        """Queue the WhatsApp message telling a booking's own number what was done elsewhere.

        Runs in the caller's transaction, so the record for staff (``owner_notices``) and
        the message to send are written together; sending it marks the record told.
        """
        booking_id = tx.booking_id(booking.code)
        if booking_id is None:
            return False
        kind = NoticeKind.OWNER_CHANGED if previous is not None else NoticeKind.OWNER_CANCELLED
        values = {**self._schedule_values(booking.code, booking.slot),
                  "by": BY_OTHER_NUMBER if notice.by_phone else BY_STAFF,
                  "owner_notice_id": str(notice.id)}
        if previous is not None:
            values.update({"old_day": DAY_NAMES[previous.date.weekday()],
                           "old_date": long_date(previous.date),
                           "old_time": f"{previous.time:%H.%M}"})
        row = {"booking_id": booking_id, "kind": kind.value, "service_date": booking.slot.date,
               "phone": booking.phone, "parameters": values}
        return tx.outbox.queue([row], self.service.now()) == 1

    def _schedule_values(self, code: str, slot: SlotRef) -> dict[str, str]:
        return {
            "code": codes.display_code(code),
            "day": DAY_NAMES[slot.date.weekday()],
            "date": long_date(slot.date),
            "time": f"{slot.time:%H.%M}",
            "raw_code": code,
            "slot_time": f"{slot.time:%H:%M}",
        }

    def booking_values(self, booking: StaffBooking) -> dict[str, str]:
        return {
            **self._schedule_values(booking.code, booking.slot),
            "people": join_names(a.name for a in booking.applicants),
            "arrive_minutes": str(self.service.config.booking.arrive_early_minutes),
        }

    @staticmethod
    def _row(kind: NoticeKind, booking: StaffBooking, values: dict[str, str]) -> dict:
        return {"booking_id": booking.id, "kind": kind.value,
                "service_date": booking.slot.date, "phone": booking.phone,
                "parameters": values}

    # --- sending -------------------------------------------------------------------------
    def claim(self, limit: int = 1, lease_s: float = CLAIM_LEASE_S) -> list[OutboundNotice]:
        """Lease due notices to the caller, ready to send.

        Notices no longer due are closed on the way: the booking was cancelled or moved,
        the date reopened, or the number stopped reminders (closure notices still go); so
        is one tried ``max_attempts`` times already (its sender kept dying).
        """
        now = self.service.now()
        ready: list[OutboundNotice] = []
        with self.service.store.transaction() as tx:
            for notice in tx.outbox.claim(now, lease_s, limit):
                assert notice.lease_token is not None
                why = self._not_due(tx, notice)
                if why:
                    tx.outbox.cancel_claimed(notice.id, notice.lease_token, why)
                    continue
                if notice.attempts > self.config.max_attempts:
                    tx.outbox.mark_failed(notice.id, notice.lease_token, None,
                                          "interrupted too often", None)
                    continue
                last_inbound, _off = tx.outbox.contact(notice.phone)
                as_text = last_inbound is not None and now - last_inbound < WINDOW
                ready.append(self._outbound(notice, as_text))
        return ready

    def _not_due(self, tx: StoreSession, notice: Notice) -> str | None:
        if notice.kind.for_owner:
            return None  # about something already done: the booking's state now is moot
        state = tx.outbox.booking_state(notice.booking_id)
        if state is None or state[0] != BookingStatus.ACTIVE.value:
            return "booking_cancelled"
        if state[1] != notice.service_date:
            return "booking_moved"
        if notice.kind is NoticeKind.REMINDER:
            if tx.outbox.reminders_off([notice.phone]):
                return "opted_out"
            if notice.service_date <= self.service.today():
                return "too_late"
        elif notice.service_date not in tx.staff_closures(notice.service_date,
                                                          notice.service_date):
            return "date_reopened"
        return None

    def pending_due(self) -> list[OutboundNotice]:
        """The pending notices due now, as they would go out as templates (a preview)."""
        now = self.service.now()
        with self.service.store.transaction() as tx:
            found = tx.outbox.notices(self.service.today(),
                                      self.service.today() + dt.timedelta(days=31))
        return [self._outbound(n, as_text=False) for n in found
                if n.state is NoticeState.PENDING and n.next_attempt_at <= now]

    def _outbound(self, notice: Notice, as_text: bool) -> OutboundNotice:
        template = self.config.templates[notice.kind.value]
        values = {k: str(v) for k, v in notice.parameters.items()}
        buttons = []
        for button in template.buttons:
            label, payload = button.text, _action_payload(button.action, values)
            if as_text and button.action.startswith("option"):
                slot = _slot_of(values.get("slot" + button.action[len("option"):]))
                if slot is None:
                    continue  # fewer free days than buttons
                label = slot_label(slot)
            buttons.append(Button(label, payload))
        return OutboundNotice(notice, template, values, tuple(buttons), as_text)

    def sent(self, item: OutboundNotice, wamid: str | None) -> bool:
        notice = item.notice
        assert notice.lease_token is not None
        with self.service.store.transaction() as tx:
            done = tx.outbox.mark_sent(notice.id, notice.lease_token, self.service.now(),
                                       wamid, "text" if item.as_text else "template")
            owner_notice = notice.parameters.get("owner_notice_id")
            if done and owner_notice:
                tx.access.mark_notice_sent(int(owner_notice), "whatsapp", self.service.now())
        log.info("%s of %s sent to %s as %s", notice.kind.value,
                 mask_code(notice.parameters.get("raw_code")), mask_phone(notice.phone),
                 "text" if item.as_text else "template")
        return done

    def failed(self, item: OutboundNotice, code: int | None, title: str | None,
               retryable: bool) -> bool:
        """Record a failed send: tried again later, or failed for good."""
        notice = item.notice
        assert notice.lease_token is not None
        final = (not retryable or code in FINAL_ERROR_CODES
                 or notice.attempts >= self.config.max_attempts)
        retry_at = None if final else self.service.now() + dt.timedelta(
            seconds=self.config.retry_backoff_s * 2 ** (notice.attempts - 1))
        with self.service.store.transaction() as tx:
            done = tx.outbox.mark_failed(notice.id, notice.lease_token, code, title, retry_at)
        log.warning("%s of %s to %s failed (code %s)%s", notice.kind.value,
                    mask_code(notice.parameters.get("raw_code")), mask_phone(notice.phone),
                    code, "; given up" if final else f"; again at {retry_at:%H:%M:%S}")
        return done

    # --- what comes back ---------------------------------------------------------------------
    def record_delivery(self, wamid: str, status: str, at: dt.datetime | None) -> bool:
        with self.service.store.transaction() as tx:
            return tx.outbox.record_delivery(wamid, status, at or self.service.now())

    def touch_inbound(self, phone: str) -> None:
        with self.service.store.transaction() as tx:
            tx.outbox.touch_inbound(phone, self.service.now())

    def set_reminders(self, phone: str, on: bool) -> None:
        with self.service.store.transaction() as tx:
            tx.outbox.set_reminders_off(phone, None if on else self.service.now())
        log.info("reminders %s for %s", "on" if on else "off", mask_phone(phone))

    def confirm_attendance(self, raw_code: str, phone: str) -> bool:
        """"Saya datang" from the booking's own number; False if no such active booking."""
        code = codes.normalise_code(raw_code)
        with self.service.store.transaction() as tx:
            booking = tx.by_code(code)
            booking_id = tx.booking_id(code)
            if booking is None or booking_id is None or booking.phone != phone \
                    or not booking.is_active:
                return False
            tx.outbox.confirm_attendance(booking_id, self.service.now())
        log.info("attendance confirmed for %s", mask_code(code))
        return True

    def move(self, payload: str, phone: str) -> Rescheduled | Refusal:
        """A tap on a closure notice's option: move without using the one reschedule."""
        parsed = parse_move(payload)
        if parsed is None:
            return BookingNotFound()
        code, slot = parsed
        booking = self.service.find_by_code(code)
        if booking is None or booking.phone != phone:
            return BookingNotFound()
        return self.service.move_for_closure(code, slot.date, slot.time)

    def notices_of(self, booking_ids: list[int]) -> dict[int, list[Notice]]:
        with self.service.store.transaction() as tx:
            found = tx.outbox.notices(booking_ids=booking_ids) if booking_ids else []
        by_booking: dict[int, list[Notice]] = {}
        for notice in found:
            by_booking.setdefault(notice.booking_id, []).append(notice)
        return by_booking

    def notices_between(self, first: dt.date, last: dt.date) -> list[Notice]:
        with self.service.store.transaction() as tx:
            return tx.outbox.notices(first, last)


def notice_label(notice: Notice) -> str:
    """How staff see a notice's fate: ``terkirim, dibaca``, ``gagal: nomor tidak …``."""
    if notice.state.value == "sent":
        seen = {"sent": "terkirim", "delivered": "sampai", "read": "dibaca",
                "failed": "gagal sampai"}.get(notice.delivery or "", "dikirim")
        return seen + (" (teks)" if notice.sent_as == "text" else "")
    if notice.state.value == "failed":
        why = ERROR_LABELS.get(notice.error_code or 0) or notice.error_title or "gagal"
        return f"gagal: {why}" + (f" ({notice.error_code})" if notice.error_code else "")
    if notice.state.value == "cancelled":
        return {"opted_out": "tidak dikirim (BERHENTI)", "date_reopened": "batal (dibuka)",
                }.get(notice.cancel_reason or "", "tidak dikirim")
    return f"menunggu (percobaan {notice.attempts})" if notice.attempts else "menunggu"


def _action_payload(action: str, values: dict[str, str]) -> str:
    code = values.get("raw_code", "")
    if action == "attend":
        return ATTEND_PREFIX + code
    if action == "reschedule":
        return RESCHEDULE_PAYLOAD
    if action == "cancel":
        return CANCEL_PAYLOAD
    if action == "human":
        return HUMAN_PAYLOAD
    slot = _slot_of(values.get("slot" + action[len("option"):]))
    return move_payload(code, slot) if slot else RESCHEDULE_PAYLOAD


def _slot_of(raw: str | None) -> SlotRef | None:
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return SlotRef(moment.date(), moment.time())
