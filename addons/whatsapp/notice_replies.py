"""Answers to the office's notices that the WhatsApp channel gives before the bot.

Why here and not in the conversation: these are not requests the assistant reads — the
intents are fixed — but a channel's business: a tap carrying a payload the notice itself
set, and the keywords WhatsApp users know from every business that writes first.

- "Saya datang" on a reminder (payload ``notice:attend:<code>``) records the confirmation
  on the booking (``antrean daftar`` shows it) and thanks in one line;
- a date on a closure notice (``notice:move:<code>:<date>:<time>``) moves the booking
  without using its one reschedule, and says where to;
- "BERHENTI" (or "stop pengingat", "jangan kirim pengingat lagi") stops reminders for the
  number, "MULAI" starts them again, each confirmed in one line.

"Ubah jadwal" and "Batalkan" carry ``/reschedule_booking`` and ``/cancel_booking`` and go to
the bot, which starts its own flows. Every message also records when its number last wrote
(the 24-hour window). A database failure here never stops the message: it goes to the bot.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from addons.whatsapp.payload import InboundMessage, MessageKind, StatusUpdate
from addons.whatsapp.privacy import mask_phone
from antrean.codes import display_code
from antrean.indonesian import DAY_NAMES
from antrean.notices import ATTEND_PREFIX, MOVE_PREFIX, NoticeOutbox, long_date
from antrean.outcomes import Rescheduled

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z]+")
REMINDER_WORDS = frozenset({"pengingat", "reminder", "notifikasi", "notif", "pemberitahuan"})
STOP_WORDS = frozenset({"stop", "berhenti", "hentikan", "jangan", "matikan", "unsubscribe"})
START_WORDS = frozenset({"mulai", "aktifkan", "nyalakan", "hidupkan", "start"})


def reminder_command(text: str) -> bool | None:
    """False for "stop reminders", True for "start them again", None for anything else."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > 6:
        return None
    if words == ["berhenti"]:
        return False
    if words == ["mulai"]:
        return True
    if not REMINDER_WORDS & set(words):
        return None
    if STOP_WORDS & set(words):
        return False
    if START_WORDS & set(words):
        return True
    return None


class NoticeDesk:
    """The channel's side of the notices, on the slot store (built when first needed).

    Args:
        outbox: Builds the outbox; called once, on first use, on a worker thread.
        timeout_s: How long a message waits for the desk before going to the bot.
    """

    def __init__(self, outbox: Callable[[], NoticeOutbox | None],
                 timeout_s: float = 3.0) -> None:
        self._factory = outbox
        self._outbox: NoticeOutbox | None = None
        self._built = False
        self._lock = threading.Lock()
        self.timeout_s = timeout_s

    @classmethod
    def from_env(cls, database_url: str | None, timeout_s: float = 3.0) -> NoticeDesk:
        """On ``database_url`` (the channel's database) and the environment's settings."""
        def build() -> NoticeOutbox | None:
            from antrean.bootstrap import build_service
            from antrean.settings import Settings

            settings = Settings.from_env()
            if database_url:
                settings = replace(settings, database_url=database_url)
            service = build_service(settings)
            return NoticeOutbox(service) if service.config.notices else None

        return cls(build, timeout_s)

    def _ready(self) -> NoticeOutbox | None:
        with self._lock:
            if not self._built:
                self._outbox = self._factory()
                self._built = True
            return self._outbox

    async def answer(self, message: InboundMessage) -> str | None:
        """Record the message's time; the one-line answer if it is the desk's, else None."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._answer, message),
                                          self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - the bot answers instead
            logger.warning("Notice desk unavailable for %s (%s).", message.message_id,
                           type(exc).__name__)
            return None

    def _answer(self, message: InboundMessage) -> str | None:
        outbox = self._ready()
        if outbox is None:
            return None
        phone, text = message.sender_id, message.text or ""
        outbox.touch_inbound(phone)
        replies = outbox.config.replies
        if message.kind is MessageKind.REPLY and text.startswith(ATTEND_PREFIX):
            done = outbox.confirm_attendance(text[len(ATTEND_PREFIX):], phone)
            return replies["attend"] if done else replies["attend_unknown"]
        if message.kind is MessageKind.REPLY and text.startswith(MOVE_PREFIX):
            moved = outbox.move(text, phone)
            if not isinstance(moved, Rescheduled):
                return replies["move_refused"]
            slot = moved.booking.slot
            return replies["moved"].format(
                code=display_code(moved.booking.code),
                day=DAY_NAMES[slot.date.weekday()], date=long_date(slot.date),
                time=f"{slot.time:%H.%M}")
        if message.kind is MessageKind.TEXT:
            command = reminder_command(text)
            if command is not None:
                outbox.set_reminders(phone, on=command)
                logger.info("Reminders %s for %s.", "on" if command else "off",
                            mask_phone(phone))
                return replies["opt_in" if command else "opt_out"]
        return None

    async def record_statuses(self, statuses: Sequence[StatusUpdate]) -> None:
        """Attach delivery reports to the notices they are about (others are not ours)."""
        def record() -> None:
            outbox = self._ready()
            if outbox is None:
                return
            for status in statuses:
                outbox.record_delivery(status.message_id, status.status,
                                       status.timestamp or dt.datetime.now(dt.timezone.utc))

        try:
            await asyncio.wait_for(asyncio.to_thread(record), self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - reports are informative only
            logger.warning("Notice delivery reports not stored (%s).", type(exc).__name__)
