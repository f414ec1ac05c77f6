"""Check, cancel and reschedule: the booking is found by the sender's number or a code.

From the booking's own number everything is allowed. A code typed from another number
shows only that the code is valid and its day and time (SPEC "Who may see and change a
booking"); cancelling or moving it from there needs the first applicant's date of birth too
(``actions.owner_check``), and the booking's own number is then owed a notice
(``antrean.access``). Failed code look-ups are limited per number.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import labels
from actions.form_state import latest
from actions.owner_check import (
    CANCEL,
    OWNER_SLOTS,
    RESCHEDULE,
    Found,
    ask_owner_birth_date,
    find_by_code,
    may_change,
    not_found_reply,
    owner_check_answered,
    settle_owner_check,
)
from actions.presenters import Reply, booking_variables, refusal_reply
from actions.reading import booking_code
from actions.runtime import call
from actions.runtime import service as booking_service
from antrean.access import CANCELLED, RESCHEDULED, BookingAccess
from antrean.codes import display_code
from antrean.indonesian import format_date, format_time
from antrean.model import Booking, SlotRef
from antrean.outcomes import Cancelled, Rescheduled
from antrean.service import BookingService


async def find_booking(service: BookingService, tracker: Tracker) -> Found:
    """The active booking named by a code in the message, else the sender's own."""
    code = booking_code(latest(tracker))  # also "erkd q6uq", typed with a space
    if code:
        return await find_by_code(service, tracker.sender_id, code)
    return Found(await call(service.active_booking, tracker.sender_id))


def schedule_of(booking: Booking) -> dict[str, str]:
    return {"date_text": format_date(booking.slot.date),
            "time_text": format_time(booking.slot.time)}


def stranger_view(booking: Booking) -> Reply:
    """What a code shows to another number: valid, day and time, nothing personal."""
    return Reply("utter_booking_status_other_number", schedule_of(booking))


def stranger_variables(booking: Booking) -> dict[str, str]:
    """What another number that proved the date of birth is shown: code, day and time."""
    return {"code": display_code(booking.code), **schedule_of(booking)}


def variables_for(service: BookingService, booking: Booking, sender: str) -> dict[str, Any]:
    if booking.phone == sender:
        return booking_variables(service.config, booking)
    return stranger_variables(booking)


def confirm_cancel(service: BookingService, booking: Booking, sender: str) -> Reply:
    """The question before cancelling; another number sees no names."""
    buttons = [{"title": labels.YES_CANCEL, "payload": "/affirm"},
               {"title": labels.NO_KEEP, "payload": "/deny"}]
    if booking.phone == sender:
        return Reply("utter_confirm_cancel", booking_variables(service.config, booking), buttons)
    return Reply("utter_confirm_cancel_other_number", stranger_variables(booking), buttons)


async def tell_owner(service: BookingService, booking: Booking, event: str,
                     tracker: Tracker, previous: SlotRef | None = None) -> list[EventType]:
    """Done from another number: a notice for the booking's own number."""
    if booking.phone == tracker.sender_id:
        return []
    await call(BookingAccess(service).notify_owner, booking, event, tracker.sender_id,
               previous)
    return [SlotSet("owner_verified", None)]


class ActionCheckBooking(Action):
    """Shows the active booking of the sender's number, or the one a code names."""

    def name(self) -> str:
        return "action_check_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        found = await find_booking(service, tracker)
        if found.booking is None:
            not_found_reply(found).send(dispatcher)
        elif not found.owned_by(tracker.sender_id):
            stranger_view(found.booking).send(dispatcher)
        else:
            Reply("utter_booking_status", booking_variables(service.config, found.booking)
                  ).send(dispatcher)
        return []


class ActionAskCancel(Action):
    """Shows the booking about to be cancelled and asks for confirmation.

    For another number's booking it first asks for the first applicant's date of birth
    (``owner_check_form``), and runs again when it has been given.
    """

    def name(self) -> str:
        return "action_ask_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        if owner_check_answered(tracker, CANCEL):
            settled = await settle_owner_check(service, tracker)
            if settled.booking is None:
                assert settled.refusal is not None
                settled.refusal.send(dispatcher)
            else:
                confirm_cancel(service, settled.booking, tracker.sender_id).send(dispatcher)
            return settled.events
        found = await find_booking(service, tracker)
        if found.booking is None:
            not_found_reply(found).send(dispatcher)
            return [SlotSet("booking_code", None)]
        if not found.owned_by(tracker.sender_id):
            return ask_owner_birth_date(found.booking, CANCEL)
        confirm_cancel(service, found.booking, tracker.sender_id).send(dispatcher)
        return [SlotSet("booking_code", found.booking.code)]


class ActionCancelBooking(Action):
    """Cancels the booking shown by ``action_ask_cancel`` after the applicant said yes."""

    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        code = tracker.get_slot("booking_code")
        booking = await call(service.find_by_code, code) if code else None
        if booking is None:
            Reply("utter_no_active_booking").send(dispatcher)
            return []
        if not may_change(booking, tracker):
            Reply("utter_change_from_other_number").send(dispatcher)
            return [SlotSet("booking_code", None)]
        outcome = await call(service.cancel, booking.code)
        if isinstance(outcome, Cancelled):
            Reply("utter_cancelled", variables_for(service, outcome.booking, tracker.sender_id)
                  ).send(dispatcher)
            told = await tell_owner(service, outcome.booking, CANCELLED, tracker)
            return [SlotSet("booking_code", None), *told]
        refusal_reply(service.config, outcome).send(dispatcher)
        return [SlotSet("booking_refusal", outcome.kind)]


class ActionKeepBooking(Action):
    def name(self) -> str:
        return "action_keep_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancel_kept")
        # Also ends a reschedule or a date-of-birth check stopped half-way; the rules expect
        # it in every case.
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("confirmed", None),
                SlotSet("booking_date", None), SlotSet("booking_time", None),
                *(SlotSet(name, None) for name in OWNER_SLOTS)]


class ActionStartReschedule(Action):
    """Finds the booking to move and checks it may still be moved before asking anything.

    For another number's booking it first asks for the first applicant's date of birth
    (``owner_check_form``), and runs again when it has been given.
    """

    def name(self) -> str:
        return "action_start_reschedule"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        refused: list[EventType] = [SlotSet("booking_code", None),
                                    SlotSet("reschedule_allowed", False)]
        proved: list[EventType] = []
        if owner_check_answered(tracker, RESCHEDULE):
            settled = await settle_owner_check(service, tracker)
            if settled.booking is None:
                assert settled.refusal is not None
                settled.refusal.send(dispatcher)
                return [*settled.events, *refused]
            booking, proved = settled.booking, settled.events
        else:
            found = await find_booking(service, tracker)
            if found.booking is None:
                not_found_reply(found).send(dispatcher)
                return refused
            if not found.owned_by(tracker.sender_id):
                return [*refused, *ask_owner_birth_date(found.booking, RESCHEDULE)]
            booking = found.booking
        problem = service.reschedule_problem(booking)
        if problem is not None:
            refusal_reply(service.config, problem).send(dispatcher)
            return [*proved, *refused, SlotSet("owner_verified", None)]
        Reply("utter_reschedule_current", stranger_variables(booking)).send(dispatcher)
        return [*proved, SlotSet("booking_code", booking.code),
                SlotSet("reschedule_allowed", True), SlotSet("reschedule_places", booking.size),
                SlotSet("confirmed", None), SlotSet("booking_date", None),
                SlotSet("booking_time", None)]


class ActionRescheduleBooking(Action):
    """Moves the booking to the chosen date and time, once the applicant confirmed."""

    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        code, day, time = (tracker.get_slot(n) for n in ("booking_code", "booking_date",
                                                         "booking_time"))
        clear = [SlotSet("booking_date", None), SlotSet("booking_time", None),
                 SlotSet("confirmed", None)]
        booking = await call(service.find_by_code, code) if code else None
        if not (booking and day and time):
            Reply("utter_no_active_booking").send(dispatcher)
            return clear
        if not may_change(booking, tracker):
            Reply("utter_change_from_other_number").send(dispatcher)
            return [*clear, SlotSet("booking_code", None)]
        outcome = await call(service.reschedule, booking.code, dt.date.fromisoformat(day),
                             dt.time.fromisoformat(time))
        if isinstance(outcome, Rescheduled):
            Reply("utter_rescheduled", variables_for(service, outcome.booking, tracker.sender_id)
                  ).send(dispatcher)
            return [*clear, *await tell_owner(service, outcome.booking, RESCHEDULED, tracker,
                                              outcome.previous)]
        refusal_reply(service.config, outcome).send(dispatcher)
        return [*clear, SlotSet("booking_refusal", outcome.kind)]
