"""The state of a booking in progress, read from the tracker.

People, places, the last message, and whether the form is looking at a fresh answer.
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions.reading import Message
from actions.reading_replies import says_no, says_yes

SCHEDULE_SLOTS = ("service_type", "passport_type", "applicant_count", "booking_date",
                  "booking_time")
PERSON_SLOTS = ("person_name", "birth_date", "nik")
BOOKING_SLOTS = (*SCHEDULE_SLOTS, *PERSON_SLOTS, "applicants", "confirmed",
                 "skip_next_question")

# Intents with which an unreadable reply is still an attempt to answer the question; with
# any other intent (a question, "batal", "cek antrean") the rules take the message.
FRESH_ANSWER_INTENTS = frozenset({"inform", "nlu_fallback", "affirm", "book_queue", "greet",
                                  "thank", ""})
# Actions that may run between the applicant's message and the form without the message
# having been answered by something else.
_BEFORE_THE_FORM = frozenset({"action_listen", "action_start_booking", "action_start_reschedule",
                              "action_extract_slots", "action_change_booking", "booking_form",
                              "reschedule_form", "action_fallback", "action_respond_affirm"})
_QUESTION_START = re.compile(
    r"^\s*(?:apa|apakah|apkh|berapa|brp|bagaimana|gimana|gmn|kapan|kpn|dimana|di mana|dmn"
    r"|kenapa|knp|mengapa|boleh|bisakah|bisa gak|bisa ga|bisa nggak|bisa tidak|harus|perlu"
    r"|kalau|kalo|klo|how|what|when|where|why|can|is|are|do|does)(?!\w)", re.I)


# "gak jadi", "batal", "ga usah": the applicant stops what is going on.
STOP = re.compile(r"(?<!\w)(?:(?:tidak|tdk|gak|ga|gk|nggak|enggak|engga|g)\s*(?:jadi|usah)"
                   r"|batal\w*|cancel\w*|gajadi|gak\s*mau|ga\s*mau)(?!\w)", re.I)


def latest(tracker: Tracker) -> Message:
    """The latest applicant message with its intent and entities."""
    parsed = tracker.latest_message or {}
    intent = parsed.get("intent") or {}
    return Message(text=parsed.get("text") or "", intent=intent.get("name") or "",
                   confidence=float(intent.get("confidence") or 0.0),
                   entities=tuple(parsed.get("entities") or ()))


_QUESTION_END = re.compile(r"(?<!\w)(?:apa|apa aja|apa saja|gimana|gmn|bagaimana|berapa|brp"
                           r"|kapan|dimana|di mana|mana|ya\?|kah)\s*[?!.]*\s*$", re.I)


def looks_like_question(message: Message) -> bool:
    """A question about something else, not an answer ("bisa diwakilkan?", "bedanya apa")."""
    if message.is_payload:
        return False
    text = message.text.strip()
    return (text.endswith("?") or bool(_QUESTION_START.match(text))
            or bool(_QUESTION_END.search(text)))


# Intents of a question about something else; with a question's form ("…?", "apa aja"),
# such a message is answered (by the rules) before anything is read from it.
QUESTION_INTENTS = frozenset({"ask_requirements", "ask_fee", "ask_office_hours", "ask_location",
                              "ask_passport_status", "request_human", "bot_challenge",
                              "check_booking", "out_of_scope"})
# Intents which no name can carry, when the model is sure of them.
_NOT_A_NAME_INTENTS = frozenset({"ask_availability", "ask_requirements", "ask_fee",
                                 "ask_office_hours", "ask_location", "ask_passport_status",
                                 "request_human", "check_booking", "cancel_booking",
                                 "reschedule_booking"})


def is_side_question(message: Message) -> bool:
    """A question about something else ("dokumen lainnya apa aja?", "beda harga brp?").

    Even when it names a value, it is answered first, and nothing is taken from it.
    """
    return (looks_like_question(message) and message.intent in QUESTION_INTENTS
            and message.confidence >= 0.6)


def is_side_remark(message: Message) -> bool:
    """A question, a yes/no or a greeting, which no name can be ("perlu bawa apa aja")."""
    if message.is_payload or message.is_legacy:
        return False
    confident = message.intent in _NOT_A_NAME_INTENTS and message.confidence >= 0.9
    return looks_like_question(message) or says_yes(message) or says_no(message) or confident


def is_fresh_answer(tracker: Tracker, form: str) -> bool:
    """Whether the latest message is still unanswered, i.e. meant for this form.

    After a side question was answered the form runs again to ask its question anew; the
    question itself must not be read as a value then.
    """
    since_user = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        since_user.append(event)
    return not any(event.get("event") == "action"
                   and event.get("name") not in _BEFORE_THE_FORM | {form}
                   for event in since_user)


def applicants_of(tracker: Tracker) -> list[dict[str, str]]:
    """People already complete in this booking (name, ISO birth date, NIK)."""
    return list(tracker.get_slot("applicants") or [])


def group_size(tracker: Tracker) -> int:
    """Places the booking needs: the stated count, else one."""
    count: Any = tracker.get_slot("applicant_count")
    try:
        return max(int(count), 1) if count is not None else 1
    except (TypeError, ValueError, OverflowError):
        return 1


def places_for(tracker: Tracker) -> int:
    """Places the date and time must have free: the group's, or the moved booking's."""
    if tracker.active_loop_name == "reschedule_form":
        return int(tracker.get_slot("reschedule_places") or 1)
    return group_size(tracker)


def last_bot_response(tracker: Tracker) -> str | None:
    """The response name of the assistant's last message before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            return (event.get("metadata") or {}).get("utter_action")
    return None
