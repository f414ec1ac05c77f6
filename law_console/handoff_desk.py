"""The hand-off inbox's data: requests, their conversations and takeovers, as pages show them.

Built per request by ``law_console/handoff.py`` (the pages): a request found by its id, the
conversation read from Rasa's tracker store and masked (``law_console/conversation.py``) unless
this session revealed it, the active takeover of the number, the state of WhatsApp's 24-hour
window. :class:`Desk` holds what the console keeps between requests: the tracker store's
engine, the Rasa and WhatsApp clients (``law_console/takeover.py``) and which sessions revealed
which request (in memory, for ``REVEAL_MINUTES``; a restart masks everything again).
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from antrean.masking import mask_phone
from antrean.model import HandoffRequest
from antrean.staff.common import StaffError
from antrean.store.takeover_queries import Takeover, TakeoverQueries, personal_values
from antrean.store.tracker_queries import TrackerEvents
from law_console.auth import Page
from law_console.conversation import Line, Masker, lines
from law_console.takeover import (
    MAX_REPLY_CHARS,
    RasaConversations,
    WhatsAppReplies,
    window_open,
)

POLL_MS = 3000
REVEAL_MINUTES = 30
INBOX_LINES = 3
CONVERSATION_LINES = 40
REASONS = {"request_human": "minta petugas", "fallback": "asisten tidak paham"}
TRACKER_UNREADABLE = ("Percakapan tidak dapat dibaca dari penyimpanan Rasa ({why}); "
                      "permintaan tetap ditampilkan.")


class Desk:
    """The hand-off inbox's connections, built once per console (``app.state.handoff_desk``).

    Args:
        tracker: Rasa's tracker store, read.
        rasa: Rasa's HTTP API, for pausing, resuming and recording staff replies.
        whatsapp: Sends staff replies to applicants.
    """

    def __init__(self, tracker: TrackerEvents, rasa: RasaConversations,
                 whatsapp: WhatsAppReplies) -> None:
        self.tracker = tracker
        self.rasa = rasa
        self.whatsapp = whatsapp
        self._reveals: dict[tuple[int, int], dt.datetime] = {}
        self._lock = threading.Lock()

    def reveal(self, session_id: int, handoff_id: int, now: dt.datetime) -> None:
        with self._lock:
            self._reveals = {key: until for key, until in self._reveals.items() if until > now}
            self._reveals[(session_id, handoff_id)] = now + dt.timedelta(minutes=REVEAL_MINUTES)

    def revealed(self, session_id: int, handoff_id: int, now: dt.datetime) -> bool:
        with self._lock:
            until = self._reveals.get((session_id, handoff_id))
        return until is not None and until > now


_desk_lock = threading.Lock()


def desk_of(p: Page) -> Desk:
    state = p.request.app.state
    with _desk_lock:
        desk = getattr(state, "handoff_desk", None)
        if desk is None:
            settings = p.console.settings
            desk = Desk(TrackerEvents(settings.tracker_url),
                        RasaConversations(settings.rasa_url, settings.rasa_token),
                        WhatsAppReplies())
            state.handoff_desk = desk
        return desk


@dataclass(frozen=True)
class Card:
    """A hand-off request as the inbox and the conversation page show it."""

    id: int
    created: str
    phone: str  # masked unless revealed
    reason: str
    message: str
    resolved: str  # "" while open, else "selesai 14.05 (petugas)"
    takeover: Takeover | None
    lines: list[Line]
    note: str  # why the conversation could not be read, if it could not


def find_request(p: Page, handoff_id: int) -> HandoffRequest:
    found = [r for r in p.service.handoffs(include_resolved=True) if r.id == handoff_id]
    if not found:
        raise StaffError(f"Permintaan {handoff_id} tidak ada.", 2)
    return found[0]


def handoff_id_of(p: Page) -> int:
    raw = str(p.request.path_params.get("handoff_id", ""))
    if not raw.isdigit():
        raise StaffError("Nomor permintaan tidak dikenal.", 2)
    return int(raw)


def masker_for(p: Page, desk: Desk, request: HandoffRequest) -> Masker:
    if desk.revealed(p.session.id, request.id, p.console.now()):
        return Masker.none()
    try:
        known = personal_values(desk.tracker, request.phone)
    except Exception:  # noqa: BLE001 - the numbers, dates and codes are masked all the same
        known = set()
    return Masker(known, p.service.today().year,
                  public=[p.service.config.office.contact_phone])


def card_for(p: Page, desk: Desk, request: HandoffRequest, takeover: Takeover | None,
             limit: int, revealed: bool) -> Card:
    tz = p.service.tz
    masker = Masker.none() if revealed else masker_for(p, desk, request)
    note, shown = "", []
    try:
        shown = lines(desk.tracker.conversation(request.phone, limit), masker, tz,
                      p.service.today())
    except Exception as exc:  # noqa: BLE001 - the inbox works without Rasa's store
        note = TRACKER_UNREADABLE.format(why=type(exc).__name__)
    resolved = ""
    if request.resolved_at is not None:
        resolved = (f"selesai {request.resolved_at.astimezone(tz):%d-%m %H.%M}"
                    f" ({request.resolved_by or '-'})")
    return Card(
        id=request.id, created=f"{request.created_at.astimezone(tz):%d-%m-%Y %H.%M}",
        phone=request.phone if revealed else mask_phone(request.phone),
        reason=REASONS.get(request.reason, request.reason), message=masker(request.message),
        resolved=resolved, takeover=takeover, lines=shown, note=note)


def active_takeovers(p: Page) -> dict[str, Takeover]:
    with p.service.store.transaction() as tx:
        return TakeoverQueries(tx.conn).all_active()


def conversation_context(p: Page, handoff_id: int) -> dict[str, Any]:
    desk = desk_of(p)
    request = find_request(p, handoff_id)
    takeover = active_takeover(p, request.phone)
    now = p.console.now()
    revealed = desk.revealed(p.session.id, request.id, now)
    card = card_for(p, desk, request, takeover, CONVERSATION_LINES, revealed)
    window = ""
    try:
        last = desk.tracker.last_user_message_at(request.phone)
    except Exception:  # noqa: BLE001 - the card says the store cannot be read
        last = None
    if last is not None:
        closes = (last + dt.timedelta(hours=24)).astimezone(p.service.tz)
        window = (f"Balasan bebas bisa dikirim sampai {closes:%d-%m %H.%M}."
                  if window_open(last, now) else
                  "Jendela 24 jam WhatsApp sudah tertutup: balasan bebas tidak dapat dikirim "
                  "(perlu templat yang disetujui Meta).")
    return {"card": card, "revealed": revealed, "window": window, "open": request.is_open,
            "last_id": card.lines[-1].id if card.lines else 0, "poll_ms": POLL_MS,
            "max_reply": MAX_REPLY_CHARS}


def audit_target(request: HandoffRequest) -> str:
    return f"permintaan {request.id} ({mask_phone(request.phone)})"


def active_takeover(p: Page, phone: str) -> Takeover | None:
    with p.service.store.transaction() as tx:
        return TakeoverQueries(tx.conn).active(phone)
