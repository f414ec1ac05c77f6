"""A booking of another number: the code plus the first applicant's date of birth.

From another number a code shows only that it is valid and its day and time. To cancel or
move that booking, ``action_ask_cancel`` / ``action_start_reschedule`` remember the code
(``booking_code``) and what is wanted (``owner_check``: ``cancel`` or ``reschedule``), and go on
with ``cancel_check_form`` / ``reschedule_check_form``, whose one question is the first
applicant's date of birth (``owner_birth_date``). A follow-up action starts the form rather than
a rule on a slot: a slot that steered the rules would have to appear in every existing rule of
these two actions. When the form ends the same action runs again and settles it with
:func:`settle_owner_check`: the right date lets the change go on (``owner_verified`` holds the
code for the rest of it), a wrong one is refused without a word about the booking and counts
as a failed look-up of the number (``antrean.access``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import reading
from actions.booking_form import checked_birth_date
from actions.form_state import FRESH_ANSWER_INTENTS, is_fresh_answer, latest, looks_like_question
from actions.presenters import Reply
from actions.runtime import call, today
from antrean.access import UNKNOWN_CODE, WRONG_BIRTH_DATE, BookingAccess
from antrean.indonesian import format_time
from antrean.model import Booking
from antrean.service import BookingService

CANCEL, RESCHEDULE = "cancel", "reschedule"
FORMS = {CANCEL: "cancel_check_form", RESCHEDULE: "reschedule_check_form"}
OWNER_SLOTS = ("owner_check", "owner_birth_date", "owner_verified")


@dataclass(frozen=True)
class Found:
    """The booking a message is about, and whether the sender may look codes up."""

    booking: Booking | None
    code_named: bool = False
    blocked_until: dt.datetime | None = None

    def owned_by(self, sender: str) -> bool:
        return self.booking is not None and self.booking.phone == sender


def limited_reply(until: dt.datetime) -> Reply:
    """Too many failed look-ups from this number: when it may try again."""
    return Reply("utter_lookup_limited", {"retry_time": format_time(until.time())})


def not_found_reply(found: Found) -> Reply:
    if found.blocked_until is not None:
        return limited_reply(found.blocked_until)
    return Reply("utter_code_not_found" if found.code_named else "utter_no_active_booking")


async def find_by_code(service: BookingService, sender: str, code: str) -> Found:
    """The active booking a code names, counting a miss against the number's limit."""
    access = BookingAccess(service)
    blocked = await call(access.blocked_until, sender)
    if blocked is not None:
        return Found(None, code_named=True, blocked_until=blocked)
    booking = await call(service.find_by_code, code)
    if booking is None or not booking.is_active:
        await call(access.record_failure, sender, UNKNOWN_CODE)
        return Found(None, code_named=True)
    return Found(booking, code_named=True)


def may_change(booking: Booking, tracker: Tracker) -> bool:
    """The sender owns the booking, or proved it with its code and date of birth."""
    return booking.phone == tracker.sender_id or tracker.get_slot("owner_verified") == booking.code


def ask_owner_birth_date(booking: Booking, wanted: str) -> list[EventType]:
    """Remember the code and what is wanted, and ask for the date of birth (the form)."""
    return [SlotSet("booking_code", booking.code), SlotSet("owner_check", wanted),
            SlotSet("owner_birth_date", None), SlotSet("owner_verified", None),
            SlotSet("requested_slot", None), FollowupAction(FORMS[wanted])]


def owner_check_answered(tracker: Tracker, wanted: str) -> bool:
    """The date-of-birth form of this change just ended with an answer."""
    return (tracker.get_slot("owner_check") == wanted
            and bool(tracker.get_slot("owner_birth_date"))
            and bool(tracker.get_slot("booking_code")))


@dataclass(frozen=True)
class Settled:
    """The outcome of the date-of-birth check: the booking when right, else the reply."""

    booking: Booking | None
    refusal: Reply | None
    events: list[EventType]


async def settle_owner_check(service: BookingService, tracker: Tracker) -> Settled:
    """Compare the date of birth given with the first applicant's, once."""
    code = tracker.get_slot("booking_code")
    born = dt.date.fromisoformat(tracker.get_slot("owner_birth_date"))
    done: list[EventType] = [SlotSet("owner_check", None), SlotSet("owner_birth_date", None)]
    refused = [*done, SlotSet("booking_code", None), SlotSet("owner_verified", None)]
    access = BookingAccess(service)
    blocked = await call(access.blocked_until, tracker.sender_id)
    if blocked is not None:
        return Settled(None, limited_reply(blocked), refused)
    booking = await call(service.find_by_code, code)
    if booking is None or not booking.is_active:  # cancelled meanwhile
        return Settled(None, Reply("utter_code_not_found"), refused)
    if not access.is_owner_birth_date(booking, born):
        await call(access.record_failure, tracker.sender_id, WRONG_BIRTH_DATE)
        return Settled(None, Reply("utter_owner_check_failed"), refused)
    return Settled(booking, None, [*done, SlotSet("booking_code", booking.code),
                                   SlotSet("owner_verified", booking.code)])


class ValidateCancelCheckForm(FormValidationAction):
    """Reads the first applicant's date of birth, the one question of ``cancel_check_form``.

    A message that is no date and no attempt at one (a question, "gak jadi") is left to the
    rules, like the booking form does.
    """

    def name(self) -> str:
        return "validate_cancel_check_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        return ["owner_birth_date"]

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        if (tracker.get_slot("requested_slot") != "owner_birth_date"
                or not is_fresh_answer(tracker, self.form_name())):
            return []
        message = latest(tracker)
        born = reading.birth_date(message, today(), asked=True)
        if born is not None:
            return [SlotSet("owner_birth_date", born.isoformat())]
        if message.intent not in FRESH_ANSWER_INTENTS or looks_like_question(message):
            return []
        dispatcher.utter_message(response="utter_invalid_birth_date")
        return [SlotSet("owner_birth_date", None)]

    def validate_owner_birth_date(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return {"owner_birth_date": checked_birth_date(value, dispatcher)}


class ValidateRescheduleCheckForm(ValidateCancelCheckForm):
    """The same question before moving another number's booking (``reschedule_check_form``)."""

    def name(self) -> str:
        return "validate_reschedule_check_form"


__all__ = ["CANCEL", "OWNER_SLOTS", "RESCHEDULE", "Found", "ValidateCancelCheckForm",
           "ValidateRescheduleCheckForm",
           "ask_owner_birth_date", "find_by_code", "may_change", "not_found_reply",
           "owner_check_answered", "settle_owner_check"]
