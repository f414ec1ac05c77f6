"""Run scripted persona conversations against the real Rasa and action servers and check what
each applicant reached: the booking in the slot store, a hand-off row, the replies.

A conversation (one item of a ``*.yml`` list in this folder)::

    id: book-kapital            # unique
    persona: "Pak Hendra 45 th, HP kapital tiap kata"
    goal: book                  # book | book_group | check | cancel | reschedule | ask | handoff | other_errand
    setup:                      # optional, created straight in the slot store before the chat
      booking: {date: 2026-12-03, time: "09:00", service_type: baru, passport_type: biasa,
                applicants: [{name: .., born: 1980-01-02, nik: ..}], other_number: false}
      rescheduled_to: {date: .., time: ..}   # the one reschedule already used
      full: [{date: 2026-12-16}, {date: 2026-12-10, time: "09:00"}]   # capacity 0
    turns: ["user message", ...]            # "{code}" is replaced by the setup booking's code
                                            # ("{code_spaced}": lower case, a space for the dash)
    expect:
      booking: none | {date, time, count, service_type, passport_type, names, birth_dates,
                       niks, reschedule_count}   # a list for date/time/type = any of them
      handoff: true
      understood: true          # not a single not-understood reply in this conversation
      replies_contain: ["Rp350.000", ["halte", "TransJakarta"]]   # a list = any of them
      replies_exclude: [...]
      actions_include: [...]
      actions_exclude: [...]
      turn_checks:              # on the replies to one user message (0-based)
        - {turn: 2, contain: [...], exclude: [...], actions_include: [...],
           offers_dates: {include: [..], first: [..], sorted: true, asked: 2026-12-05},
           offers_times: {include: ["08:30", "09:30"]}}

Without ``booking`` in ``expect`` the setup booking must be unchanged, and without a setup a
conversation whose goal is not a booking must leave no booking behind.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from antrean.clock import OFFICE_TZ, FixedClock
from antrean.codes import display_code
from antrean.config import load_config
from antrean.model import Applicant, BookingRequest
from antrean.outcomes import Rescheduled, Reserved
from antrean.service import BookingService
from antrean.store.engine import create_store_engine
from antrean.store.repository import SqlStore

HERE = Path(__file__).resolve().parent
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=OFFICE_TZ)  # Monday 30 November 2026
GOALS = {"book", "book_group", "check", "cancel", "reschedule", "ask", "handoff", "other_errand"}
BOOKING_GOALS = {"book", "book_group"}

NOT_UNDERSTOOD_RESPONSES = {"utter_default", "utter_fallback_menu"}
NOT_UNDERSTOOD_TEXT = re.compile(
    r"belum\s+(saya\s+)?(paham|pahami|kenali|mengerti|ngerti)|tidak\s+(saya\s+)?(paham|pahami|mengerti)",
    re.IGNORECASE,
)
MONTHS = {"jan": 1, "januari": 1, "feb": 2, "februari": 2, "nov": 11, "nop": 11, "november": 11,
          "des": 12, "desember": 12}
TEXT_DATE = re.compile(r"\b(\d{1,2})\s+(januari|jan|februari|feb|november|nov|nop|desember|des)\b",
                       re.IGNORECASE)
ISO_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
ISO_TIME = re.compile(r"\"time\"\s*:\s*\"(\d\d:\d\d)\"")
TEXT_TIME = re.compile(r"(?<![\d.:])([01]?\d|2[0-3])[.:]([0-5]\d)(?![\d.:])")


# --- loading ---------------------------------------------------------------------------
def load_conversations(folder: Path = HERE) -> list[dict[str, Any]]:
    conversations: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if isinstance(data, dict):
            data = data.get("conversations", [])
        for conv in data:
            conv["_file"] = path.name
            conversations.append(conv)
    return conversations


def sender_ids(conversations: list[dict[str, Any]]) -> dict[str, str]:
    """A stable WhatsApp-like number per conversation id ("62813" + 7 digits)."""
    taken: set[str] = set()
    senders = {}
    for conv in conversations:
        number = int(hashlib.sha1(conv["id"].encode()).hexdigest(), 16) % 10_000_000
        while f"62813{number:07d}" in taken:
            number = (number + 1) % 10_000_000
        senders[conv["id"]] = f"62813{number:07d}"
        taken.add(senders[conv["id"]])
    return senders


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def as_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int):  # YAML reads 09:00 unquoted as sexagesimal minutes
        return dt.time(value // 60, value % 60)
    return dt.time.fromisoformat(str(value))


def any_of(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- the slot store ----------------------------------------------------------------------
class Store:
    """The slot store of the running servers, read and prepared through the booking core."""

    def __init__(self, url: str) -> None:
        self.store = SqlStore(create_store_engine(url))
        self.service = BookingService(load_config(), self.store, FixedClock(NOW))

    def dispose(self) -> None:
        self.store.dispose()

    def prepare(self, setup: dict[str, Any] | None, sender: str) -> str | None:
        """Create what the conversation needs first; the setup booking's code, if any."""
        if not setup:
            return None
        for full in setup.get("full", []):
            time = as_time(full["time"]) if full.get("time") is not None else None
            self.service.set_capacity(as_date(full["date"]), time, 0)
        booking = setup.get("booking")
        if not booking:
            return None
        phone = other_number(sender) if booking.get("other_number") else sender
        request = BookingRequest(
            phone=phone,
            date=as_date(booking["date"]),
            time=as_time(booking["time"]),
            service_type=booking["service_type"],
            passport_type=booking["passport_type"],
            applicants=tuple(Applicant(a["name"], as_date(a["born"]), str(a["nik"]))
                             for a in booking["applicants"]),
        )
        outcome = self.service.reserve(request)
        if not isinstance(outcome, Reserved):
            raise RuntimeError(f"setup booking refused: {outcome!r}")
        code = outcome.booking.code
        moved = setup.get("rescheduled_to")
        if moved:
            result = self.service.reschedule(code, as_date(moved["date"]), as_time(moved["time"]))
            if not isinstance(result, Rescheduled):
                raise RuntimeError(f"setup reschedule refused: {result!r}")
        return code


def other_number(sender: str) -> str:
    return "62899" + sender[5:]


# --- one conversation ------------------------------------------------------------------
@dataclass
class BotMessage:
    text: str
    buttons: list[dict[str, str]]
    response: str | None

    @property
    def not_understood(self) -> bool:
        name = self.response or ""
        return (name in NOT_UNDERSTOOD_RESPONSES or name.startswith("utter_invalid_")
                or bool(NOT_UNDERSTOOD_TEXT.search(self.text)))


@dataclass
class Turn:
    user: str
    intent: str = ""
    actions: list[str] = field(default_factory=list)
    bot: list[BotMessage] = field(default_factory=list)
    replied: bool = True

    @property
    def not_understood(self) -> int:
        return sum(1 for m in self.bot if m.not_understood)

    def text(self) -> str:
        parts = []
        for m in self.bot:
            parts.append(m.text)
            parts.extend(f"{b.get('title', '')} {b.get('payload', '')}" for b in m.buttons)
        return "\n".join(parts)


@dataclass
class Result:
    conv: dict[str, Any]
    sender: str
    turns: list[Turn] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wrong_booking: str | None = None
    error: str | None = None

    @property
    def reached(self) -> bool:
        return not self.failures and self.error is None

    @property
    def not_understood(self) -> int:
        return sum(t.not_understood for t in self.turns)

    def transcript(self) -> str:
        lines = [f"== {self.conv['id']} ({self.conv['goal']}; {self.conv.get('persona', '')}) "
                 f"sender {self.sender}"]
        for i, turn in enumerate(self.turns):
            lines.append(f"  [{i}] user: {turn.user}    ({turn.intent})")
            for m in turn.bot:
                flag = "  <-- not understood" if m.not_understood else ""
                text = m.text.replace("\n", "\n         ")
                lines.append(f"      bot: {text}   [{m.response or '-'}]{flag}")
                if m.buttons:
                    titles = " | ".join(b.get("title", "") for b in m.buttons)
                    lines.append(f"           buttons: {titles}")
            if not turn.bot:
                lines.append("      bot: (no reply)")
            lines.append(f"      actions: {', '.join(turn.actions)}")
        return "\n".join(lines)


def split_tracker(events: list[dict[str, Any]], user_texts: list[str]) -> list[Turn]:
    """The actions and bot messages that followed each user message."""
    turns: list[Turn] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            turns.append(Turn(user=event.get("text") or "",
                              intent=((event.get("parse_data") or {}).get("intent") or {})
                              .get("name") or ""))
        elif not turns:
            continue
        elif kind == "action" and event.get("name") != "action_listen":
            turns[-1].actions.append(event["name"])
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            data = event.get("data") or {}
            turns[-1].bot.append(BotMessage(
                text=event.get("text") or "",
                buttons=list(data.get("buttons") or []),
                response=metadata.get("utter_action") or metadata.get("template"),
            ))
    # Show what the applicant typed even if the tracker lost a message.
    for turn, typed in zip(turns, user_texts):
        turn.user = typed
    return turns


def run_conversation(bot: Any, store: Store, conv: dict[str, Any], sender: str) -> Result:
    result = Result(conv, sender)
    try:
        code = store.prepare(conv.get("setup"), sender)
        texts = [fill(t, code) for t in conv["turns"]]
        silent = []
        for index, text in enumerate(texts):
            if not bot.say(sender, text):
                silent.append(index)
        result.turns = split_tracker(bot.tracker(sender)["events"], texts)
        if len(result.turns) != len(texts):
            result.failures.append(
                f"the tracker holds {len(result.turns)} user messages, {len(texts)} were sent")
        for index in silent:
            if index < len(result.turns):
                result.turns[index].replied = False
            result.failures.append(f"no reply to turn {index} ({texts[index]!r})")
        check(result, store, code)
    except Exception as exc:  # noqa: BLE001 - reported with the conversation
        result.error = f"{exc.__class__.__name__}: {exc}"
    return result


def fill(text: str, code: str | None) -> str:
    """``{code}`` → ``KM7Q-2PXA``; ``{code_spaced}`` → ``km7q 2pxa`` (as some people type it)."""
    if not code:
        return text
    shown = display_code(code)
    return (text.replace("{code}", shown)
            .replace("{code_spaced}", shown.lower().replace("-", " ")))


# --- the checks ------------------------------------------------------------------------
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"rp\s*\.?\s*(?=\d)", "rp", text)


def contains(haystack: str, item: Any, code: str | None = None) -> bool:
    return any(normalise(fill(str(option), code)) in haystack for option in any_of(item))


def check(result: Result, store: Store, code: str | None) -> None:
    conv, expect = result.conv, result.conv.get("expect") or {}
    fail = result.failures.append
    everything = normalise("\n".join(t.text() for t in result.turns))
    actions = [a for t in result.turns for a in t.actions]

    check_booking(result, store, code)

    if "handoff" in expect:
        rows = [h for h in store.service.handoffs(include_resolved=True)
                if h.phone == result.sender]
        if bool(rows) != bool(expect["handoff"]):
            fail(f"hand-off: expected {expect['handoff']}, found {len(rows)} request(s)")
    if expect.get("understood") and result.not_understood:
        fail(f"{result.not_understood} not-understood replies in a conversation that needs none")
    for item in expect.get("replies_contain", []):
        if not contains(everything, item, code):
            fail(f"no reply contains {fill(str(item), code)!r}")
    for item in expect.get("replies_exclude", []):
        if contains(everything, item, code):
            fail(f"a reply contains {item!r}")
    for name in expect.get("actions_include", []):
        if not any(a in actions for a in any_of(name)):
            fail(f"action {name} never ran")
    for name in expect.get("actions_exclude", []):
        if name in actions:
            fail(f"action {name} ran")
    for tc in expect.get("turn_checks", []):
        check_turn(result, tc, code)


def check_turn(result: Result, tc: dict[str, Any], code: str | None = None) -> None:
    index = tc["turn"]
    fail = result.failures.append
    if index >= len(result.turns):
        fail(f"turn {index}: missing")
        return
    turn = result.turns[index]
    text = normalise(turn.text())
    where = f"turn {index} ({turn.user!r})"
    for item in tc.get("contain", []):
        if not contains(text, item, code):
            fail(f"{where}: reply lacks {item!r}")
    for item in tc.get("exclude", []):
        if contains(text, item, code):
            fail(f"{where}: reply has {item!r}")
    for name in tc.get("actions_include", []):
        if not any(a in turn.actions for a in any_of(name)):
            fail(f"{where}: action {name} did not run")
    for name in tc.get("actions_exclude", []):
        if name in turn.actions:
            fail(f"{where}: action {name} ran")
    if tc.get("understood") and turn.not_understood:
        fail(f"{where}: answered with a not-understood reply")
    offers = tc.get("offers_dates")
    if offers:
        asked = as_date(offers["asked"]) if offers.get("asked") else None
        dates = [d for d in offered_dates(turn) if d != asked]
        wanted = [as_date(d) for d in offers.get("include", [])]
        missing = [d.isoformat() for d in wanted if d not in dates]
        shown = ", ".join(d.isoformat() for d in dates) or "none"
        if missing:
            fail(f"{where}: offered dates lack {missing} (offered: {shown})")
        first = [as_date(d) for d in offers.get("first", [])]
        if first and dates[: len(first)] != first:
            fail(f"{where}: first offered dates should be "
                 f"{[d.isoformat() for d in first]} (offered: {shown})")
        if offers.get("sorted") and dates != sorted(dates):
            fail(f"{where}: offered dates not in date order ({shown})")
    times = tc.get("offers_times")
    if times:
        offered = offered_times(turn)
        missing = [t for t in times.get("include", []) if t not in offered]
        if missing:
            fail(f"{where}: offered times lack {missing} (offered: {', '.join(offered) or 'none'})")


def offered_dates(turn: Turn) -> list[dt.date]:
    """Dates offered as choices by the first message of the turn that offers any: from its
    button payloads, else from its text ("4 Des"); a question asked again after it does not
    count."""
    for m in turn.bot:
        found = [dt.date.fromisoformat(iso) for b in m.buttons
                 for iso in ISO_DATE.findall(b.get("payload", ""))]
        if not found:
            for day, month in TEXT_DATE.findall(m.text):
                number = MONTHS[month.lower()]
                try:
                    found.append(dt.date(2026 if number >= 11 else 2027, number, int(day)))
                except ValueError:
                    continue
        if found:
            return list(dict.fromkeys(found))
    return []


def offered_times(turn: Turn) -> list[str]:
    found: list[str] = []
    for m in turn.bot:
        for b in m.buttons:
            found += ISO_TIME.findall(b.get("payload", ""))
            found += [f"{int(h):02d}:{mi}" for h, mi in TEXT_TIME.findall(b.get("title", ""))]
        found += [f"{int(h):02d}:{mi}" for h, mi in TEXT_TIME.findall(m.text)]
    return list(dict.fromkeys(found))


def expected_booking(conv: dict[str, Any]) -> Any:
    """What the sender's booking must be at the end: None, or a dict of fields."""
    expect = conv.get("expect") or {}
    if "booking" in expect:
        wanted = expect["booking"]
        return None if wanted in (None, "none", False) else wanted
    setup = (conv.get("setup") or {}).get("booking")
    if setup and not setup.get("other_number"):
        moved = (conv.get("setup") or {}).get("rescheduled_to") or {}
        return {
            "date": moved.get("date", setup["date"]),
            "time": moved.get("time", setup["time"]),
            "service_type": setup["service_type"],
            "passport_type": setup["passport_type"],
            "names": [a["name"] for a in setup["applicants"]],
        }
    if conv["goal"] in BOOKING_GOALS:
        raise ValueError(f"{conv['id']}: a booking goal needs expect.booking")
    return None


def check_booking(result: Result, store: Store, code: str | None) -> None:
    fail = result.failures.append
    wanted = expected_booking(result.conv)
    booking = store.service.active_booking(result.sender)
    if wanted is None:
        if booking is not None:
            fail(f"a booking exists and should not: {describe(booking)}")
            if code is None or booking.code != code:
                result.wrong_booking = f"booked although none was meant: {describe(booking)}"
        return
    if booking is None:
        fail("no active booking for the sender")
        return
    problems = []
    names = [a.name for a in booking.applicants]
    if "date" in wanted and booking.slot.date not in [as_date(d) for d in any_of(wanted["date"])]:
        problems.append(f"date {booking.slot.date} (expected {wanted['date']})")
    if "time" in wanted and booking.slot.time not in [as_time(t) for t in any_of(wanted["time"])]:
        problems.append(f"time {booking.slot.time:%H:%M} (expected {wanted['time']})")
    count = wanted.get("count", len(wanted.get("names", [])) or None)
    if count is not None and booking.size != count:
        problems.append(f"count {booking.size} (expected {count})")
    for key in ("service_type", "passport_type"):
        if key in wanted and getattr(booking, key) not in any_of(wanted[key]):
            problems.append(f"{key} {getattr(booking, key)} (expected {wanted[key]})")
    if "names" in wanted and names != list(wanted["names"]):
        problems.append(f"names {names} (expected {wanted['names']})")
    wrong = list(problems)  # what the gate calls a wrong booking
    if "birth_dates" in wanted:
        born = [a.birth_date for a in booking.applicants]
        if born != [as_date(d) for d in wanted["birth_dates"]]:
            problems.append(f"birth dates {[d.isoformat() for d in born]}")
    if "niks" in wanted and [a.nik for a in booking.applicants] != [str(n) for n in wanted["niks"]]:
        problems.append(f"NIKs {[a.nik for a in booking.applicants]}")
    if "reschedule_count" in wanted and booking.reschedule_count != wanted["reschedule_count"]:
        problems.append(f"reschedule count {booking.reschedule_count} "
                        f"(expected {wanted['reschedule_count']})")
    if problems:
        fail("booking differs: " + "; ".join(problems))
    setup = (result.conv.get("setup") or {})
    untouched = (code is not None and booking.code == code
                 and booking.reschedule_count == (1 if setup.get("rescheduled_to") else 0))
    if wrong and not untouched:
        result.wrong_booking = "; ".join(wrong)


def describe(booking: Any) -> str:
    names = ", ".join(a.name for a in booking.applicants)
    return (f"{booking.slot.date} {booking.slot.time:%H:%M} {booking.service_type}/"
            f"{booking.passport_type} [{names}]")


# --- the report ----------------------------------------------------------------------------
def figures(results: list[Result]) -> str:
    reached = sum(1 for r in results if r.reached)
    not_understood = sum(r.not_understood for r in results)
    turns = sum(len(r.turns) for r in results)
    return (f"personas: {reached}/{len(results)} goals reached, {not_understood} not-understood "
            f"replies, {turns} turns")


def report(results: list[Result]) -> str:
    wrong = [r for r in results if r.wrong_booking]
    clean = sum(1 for r in results if r.reached and not r.not_understood)
    lines = [figures(results),
             f"wrong bookings: {len(wrong)}; goal reached without a not-understood reply: "
             f"{clean}/{len(results)}"]
    failed = [r for r in results if not r.reached]
    if failed:
        lines.append("")
        lines.append("failed conversations:")
        for r in failed:
            why = [r.error] if r.error else r.failures
            lines.append(f"- {r.conv['id']}: " + " | ".join(why))
    for r in wrong:
        lines.append(f"WRONG BOOKING {r.conv['id']}: {r.wrong_booking}")
    noisy = [r for r in results if r.reached and r.not_understood]
    if noisy:
        lines.append("")
        lines.append("goal reached, but with not-understood replies: " + ", ".join(
            f"{r.conv['id']} ({r.not_understood})" for r in noisy))
    return "\n".join(lines)
