"""A crowd of applicants chatting on WhatsApp with the production topology.

Pieces of ``test_topology_postgres.py``:

- :class:`FakeGraph` — the Graph API on loopback: records every message and read receipt the
  bot sends and wakes the applicant waiting for it;
- :class:`TrackerReader` — reads Rasa's ``events`` table in PostgreSQL, one applicant at a
  time (an applicant's turns are saved one after another, so their event ids only grow);
- :class:`Applicant` — one person booking: sends a message through the signed webhook, waits
  for the bot's reply, waits until the turn is saved, then answers whatever the booking form
  asks next (the form's order may change; the answers stay the same), says "ya" at the
  summary, and stops at the booking or at a refusal.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

APP_SECRET = "prod-test-app-secret"
VERIFY_TOKEN = "prod-test-verify-token"
ACCESS_TOKEN = "EAAG-prod-test-token"
PHONE_NUMBER_ID = "109000000000001"
API_VERSION = "v21.0"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"

BOOKING_DAY = dt.date(2026, 12, 7)  # a Monday inside the booking window of LAW_FIXED_NOW
BOOKING_TIME = dt.time(9, 0)
MAX_TURNS = 14
FIGURES: dict[str, Any] = {}  # of the last crowd run, for the terminal summary
REPLY_TIMEOUT_S = 90.0
# Responses that refuse the wanted day or time and offer alternatives instead.
REFUSALS = frozenset({"utter_day_full", "utter_slot_full_pick_time", "utter_refused_slot_full"})
FIRST_NAMES = ["Budi", "Siti", "Agus", "Dewi", "Rudi", "Sri", "Eko", "Rina", "Joko", "Wati"]
FEMALE = {"Siti", "Dewi", "Sri", "Rina", "Wati"}
LAST_NAMES = ["Santoso", "Aminah", "Wijaya", "Lestari", "Hidayat", "Saputra", "Nugroho"]

_wamids = itertools.count(1)


# --- the Graph API ------------------------------------------------------------------------


@dataclass
class Sent:
    """A message the bot sent to an applicant."""

    kind: str  # "text" or "interactive"
    choice_kind: str | None  # "button" or "list" for interactive messages
    payloads: list[str]  # the ids of its buttons or rows


class FakeGraph:
    """``POST /{version}/{phone_number_id}/messages``, recording what the bot sends."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Sent]] = defaultdict(list)
        self.read_receipts: Counter[str] = Counter()
        self.refused: list[str] = []  # why requests were refused (token, path)
        self._news: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self, port: int) -> str:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            self.refused.append("wrong bearer token")
            return web.json_response({"error": {"code": 190, "message": "bad token"}},
                                     status=401)
        body = await request.json()
        if body.get("status") == "read":
            self.read_receipts[body["message_id"]] += 1
            return web.json_response({"success": True})
        recipient = body["to"]
        self.sent[recipient].append(_describe(body))
        self._news[recipient].set()
        return web.json_response({
            "messaging_product": "whatsapp",
            "contacts": [{"input": recipient, "wa_id": recipient}],
            "messages": [{"id": f"wamid.out.{next(self._ids)}"}],
        })

    async def wait_for_more(self, recipient: str, than: int, timeout: float) -> bool:
        """Wait until more than ``than`` messages went to ``recipient``."""
        deadline = time.monotonic() + timeout
        news = self._news[recipient]
        while len(self.sent[recipient]) <= than:
            news.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(news.wait(), remaining)
            except asyncio.TimeoutError:
                return False
        return True

    def total(self) -> int:
        return sum(len(messages) for messages in self.sent.values())


def _describe(body: dict[str, Any]) -> Sent:
    if body.get("type") != "interactive":
        return Sent(str(body.get("type")), None, [])
    interactive = body["interactive"]
    if interactive.get("type") == "button":
        buttons = interactive["action"]["buttons"]
        return Sent("interactive", "button", [b["reply"]["id"] for b in buttons])
    rows = [row for section in interactive["action"]["sections"] for row in section["rows"]]
    return Sent("interactive", "list", [row["id"] for row in rows])


# --- the webhook ----------------------------------------------------------------------------


def delivery(sender: str, profile_name: str, wamid: str, content: dict[str, Any]) -> bytes:
    """A webhook body as Meta posts it, for one message."""
    message = {"from": sender, "id": wamid, "timestamp": str(int(time.time())), **content}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281299000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": profile_name}, "wa_id": sender}],
        "messages": [message],
    }
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
                                                             "value": value}]}]}
    return json.dumps(body).encode()


def typed(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def tapped(payload: str, kind: str | None) -> dict[str, Any]:
    """A tap on a reply button or a list row whose id is ``payload``."""
    if kind == "list":
        return {"type": "interactive", "interactive": {
            "type": "list_reply", "list_reply": {"id": payload, "title": "Pilihan"}}}
    return {"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": payload, "title": "Pilihan"}}}


def signed_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


# --- the tracker store ----------------------------------------------------------------------


@dataclass
class Event:
    id: int
    type: str
    data: dict[str, Any]


class TrackerReader:
    """Rasa's ``events`` table, read directly (never through Rasa, which is under test)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True, pool_size=8, max_overflow=4)

    def events_sync(self, sender: str, after: int = 0) -> list[Event]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, type_name, data FROM events WHERE sender_id = :sender AND id > :after"
                " ORDER BY id"), {"sender": sender, "after": after}).all()
        return [Event(row.id, row.type_name, json.loads(row.data)) for row in rows]

    async def events(self, sender: str, after: int = 0) -> list[Event]:
        return await asyncio.to_thread(self.events_sync, sender, after)

    def dispose(self) -> None:
        self.engine.dispose()


# --- one applicant --------------------------------------------------------------------------


@dataclass
class Turn:
    wamid: str
    actions: list[str]
    responses: list[str]  # names of the bot's responses (utter_…)
    replies: list[Sent] = field(default_factory=list)  # what reached the applicant


@dataclass
class Applicant:
    """One person booking a place for themselves.

    Args:
        index: Position in the crowd (names, numbers and NIKs derive from it).
        duplicate: ``None``, or ``(turn, "together" | "later")``: that turn's message is
            delivered again to every Rasa process, at the same time as the original or after
            the bot answered it — as Meta's at-least-once delivery may do.
        late: Whether the applicant starts only once the day is fully booked.
    """

    index: int
    duplicate: tuple[int, str] | None = None
    late: bool = False  # starts only once every place is taken
    wamids: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    outcome: str | None = None  # "booked" or "refused"
    problem: str | None = None  # what went wrong, if anything
    redeliveries: int = 0
    requested_slot: str | None = None
    active_loop: str | None = None
    last_event_id: int = 0

    @property
    def wa_id(self) -> str:
        return f"62815{self.index:07d}"

    @property
    def name(self) -> str:
        first = FIRST_NAMES[self.index % len(FIRST_NAMES)]
        last = LAST_NAMES[(self.index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        return f"{first} {last}"

    @property
    def female(self) -> bool:
        return self.name.split()[0] in FEMALE

    @property
    def birth_date(self) -> dt.date:
        return dt.date(1970 + self.index % 30, 1 + self.index % 12, 1 + self.index % 28)

    @property
    def nik(self) -> str:
        """16 digits; digits 7–12 are the birth date (DDMMYY, women DD + 40)."""
        born = self.birth_date
        day = born.day + (40 if self.female else 0)
        return f"317101{day:02d}{born.month:02d}{born.year % 100:02d}{self.index + 1:04d}"

    def answer(self, slot: str, last: Sent | None) -> dict[str, Any] | None:
        """What the applicant answers when the form asks for ``slot``."""
        kind = last.choice_kind if last else None
        choices = {
            "service_type": '/inform{"service_type":"baru"}',
            "passport_type": '/inform{"passport_type":"elektronik"}',
            "applicant_count": '/inform{"applicant_count":"1"}',
            "booking_date": '/inform{"date":"%s"}' % BOOKING_DAY.isoformat(),
            "booking_time": '/inform{"time":"%s"}' % BOOKING_TIME.strftime("%H:%M"),
        }
        if slot in choices:
            return tapped(choices[slot], kind)
        typed_answers = {
            "person_name": self.name,
            "birth_date": self.birth_date.strftime("%d-%m-%Y"),
            "nik": self.nik,
            "confirmed": "ya",  # the summary, the form's last question
        }
        return typed(typed_answers[slot]) if slot in typed_answers else None

    def follow(self, events: list[Event], wamid: str) -> Turn:
        """Take in the events of one turn; returns what the bot did in it."""
        actions: list[str] = []
        responses: list[str] = []
        mine = False
        for event in events:
            self.last_event_id = event.id
            if event.type == "user":
                mine = event.data.get("message_id") == wamid
            elif event.type == "slot" and event.data.get("name") == "requested_slot":
                self.requested_slot = event.data.get("value")
            elif event.type == "active_loop":
                self.active_loop = event.data.get("name")
            elif mine and event.type == "action":
                actions.append(event.data.get("name"))
            elif mine and event.type == "bot":
                responses.append((event.data.get("metadata") or {}).get("utter_action") or "")
        return Turn(wamid, actions, responses)


class Crowd:
    """Drives applicants against the front (nginx); duplicates go straight to each Rasa."""

    def __init__(self, front_url: str, rasa_urls: list[str], graph: FakeGraph,
                 tracker: TrackerReader, capacity: int) -> None:
        self.front_url = front_url
        self.rasa_urls = rasa_urls
        self.graph = graph
        self.tracker = tracker
        self.capacity = capacity
        self.session: aiohttp.ClientSession | None = None
        self.webhook_errors: list[str] = []
        self.booked = 0
        self.day_full = asyncio.Event()

    async def run(self, applicants: list[Applicant]) -> None:
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as self.session:
            await asyncio.gather(*(self.chat(a) for a in applicants))

    async def post(self, base_url: str, body: bytes) -> None:
        assert self.session is not None
        async with self.session.post(base_url + WEBHOOK_PATH, data=body,
                                     headers=signed_headers(body)) as response:
            await response.read()
            if response.status != 200:
                self.webhook_errors.append(f"{base_url}: HTTP {response.status}")

    async def chat(self, applicant: Applicant) -> None:
        if applicant.late:
            try:
                await asyncio.wait_for(self.day_full.wait(), 4 * REPLY_TIMEOUT_S)
            except asyncio.TimeoutError:
                pass  # start anyway: the assertions will tell what happened
        await asyncio.sleep(applicant.index * 0.02)  # everyone within a second
        content: dict[str, Any] | None = tapped("/book_queue", None)
        answered: str | None = None
        for turn_number in range(MAX_TURNS):
            assert content is not None
            wamid = f"wamid.in.{applicant.index}.{next(_wamids)}"
            applicant.wamids.append(wamid)
            body = delivery(applicant.wa_id, applicant.name, wamid, content)
            seen = len(self.graph.sent[applicant.wa_id])
            mode = (applicant.duplicate[1] if applicant.duplicate
                    and applicant.duplicate[0] == turn_number else None)
            if mode == "together":
                await asyncio.gather(self.post(self.front_url, body), self.redeliver(applicant,
                                                                                     body))
            else:
                await self.post(self.front_url, body)
            if not await self.graph.wait_for_more(applicant.wa_id, seen, REPLY_TIMEOUT_S):
                applicant.problem = f"no reply to message {turn_number + 1}"
                return
            turn = await self.saved_turn(applicant, wamid)
            if turn is None:
                applicant.problem = f"turn {turn_number + 1} not saved in the tracker store"
                return
            turn.replies = self.graph.sent[applicant.wa_id][seen:]
            applicant.turns.append(turn)
            if mode == "later":
                await self.redeliver(applicant, body)
            if "action_reserve_booking" in turn.actions:
                applicant.outcome = ("booked" if "utter_booking_confirmed" in turn.responses
                                     else "refused" if REFUSALS & set(turn.responses) else None)
                if applicant.outcome is None:
                    applicant.problem = f"reservation answered with {turn.responses}"
                if applicant.outcome == "booked":
                    self.booked += 1
                    if self.booked >= self.capacity:
                        self.day_full.set()
                return
            asked = applicant.requested_slot if applicant.active_loop == "booking_form" else None
            if asked is not None and asked == answered:
                # The value just given was refused; the bot offered alternatives instead.
                if REFUSALS & set(turn.responses):
                    applicant.outcome = "refused"
                else:
                    applicant.problem = f"{asked} asked again after {turn.responses}"
                return
            last = self.graph.sent[applicant.wa_id][-1]
            if asked is not None:
                content, answered = applicant.answer(asked, last), asked
                if content is None:
                    applicant.problem = f"the form asked for an unknown slot {asked!r}"
                    return
            else:
                applicant.problem = (f"unexpected turn {turn_number + 1}: actions "
                                     f"{turn.actions}, responses {turn.responses}")
                return
        applicant.problem = f"no outcome after {MAX_TURNS} messages"

    async def say(self, applicant: Applicant, text_body: str) -> tuple[str, int]:
        """Post one typed message through the front; returns its wamid and the replies so far.

        Returns once the webhook answered (the message is accepted), before the bot replies.
        """
        wamid = f"wamid.in.{applicant.index}.{next(_wamids)}"
        applicant.wamids.append(wamid)
        seen = len(self.graph.sent[applicant.wa_id])
        await self.post(self.front_url, delivery(applicant.wa_id, applicant.name, wamid,
                                                 typed(text_body)))
        return wamid, seen

    async def reply_to(self, applicant: Applicant, wamid: str, seen: int) -> Turn | None:
        """The turn of ``wamid`` once its reply arrived and it was saved (``None``: neither)."""
        if not await self.graph.wait_for_more(applicant.wa_id, seen, REPLY_TIMEOUT_S):
            applicant.problem = f"no reply to {wamid}"
            return None
        turn = await self.saved_turn(applicant, wamid)
        if turn is None:
            applicant.problem = f"{wamid} not saved in the tracker store"
            return None
        turn.replies = self.graph.sent[applicant.wa_id][seen:]
        applicant.turns.append(turn)
        return turn

    async def redeliver(self, applicant: Applicant, body: bytes) -> None:
        await asyncio.gather(*(self.post(url, body) for url in self.rasa_urls))
        applicant.redeliveries += len(self.rasa_urls)

    async def saved_turn(self, applicant: Applicant, wamid: str) -> Turn | None:
        """The turn of ``wamid`` once Rasa saved it (user event, then ``action_listen``)."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        pending: list[Event] = []
        after = applicant.last_event_id
        while time.monotonic() < deadline:
            pending += await self.tracker.events(applicant.wa_id, after)
            if pending:
                after = pending[-1].id
            if _turn_complete(pending, wamid):
                return applicant.follow(pending, wamid)
            await asyncio.sleep(0.1)
        return None


def _turn_complete(events: list[Event], wamid: str) -> bool:
    for position, event in enumerate(events):
        if event.type == "user" and event.data.get("message_id") == wamid:
            return any(e.type == "action" and e.data.get("name") == "action_listen"
                       for e in events[position + 1:])
    return False
