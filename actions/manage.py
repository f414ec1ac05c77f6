"""Check, cancel and reschedule: the booking is found by the sender's number or a code.

From the booking's own number everything is allowed. A code typed from another number
shows only that the code is valid and its day and time (SPEC "Who may see and change a
booking"); changing or cancelling it from there is refused with where to do it instead.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import labels
from actions.presenters import Reply, booking_variables, refusal_reply
from actions.runtime import call
from actions.runtime import service as booking_service
from antrean.indonesian import format_date, format_time
from antrean.model import Booking
from antrean.outcomes import Cancelled, Rescheduled
from antrean.service import BookingService


@dataclass(frozen=True)
class Found:
    """The booking a message is about, and whether the sender owns it."""

    booking: Booking | None
    code_named: bool = False

    def owned_by(self, sender: str) -> bool:
        return self.booking is not None and self.booking.phone == sender


async def find_booking(service: BookingService, tracker: Tracker) -> Found:
    """The active booking named by a code in the message, else the sender's own."""
    code = next(tracker.get_latest_entity_values("booking_code"), None)
    if code:
        booking = await call(service.find_by_code, code)
        return Found(booking if booking and booking.is_active else None, code_named=True)
    return Found(await call(service.active_booking, tracker.sender_id))


def not_found_reply(found: Found) -> Reply:
    return Reply("utter_code_not_found" if found.code_named else "utter_no_active_booking")


def stranger_view(booking: Booking) -> Reply:
    """What a code shows to another number: valid, day and time, nothing personal."""
    return Reply("utter_booking_status_other_number",
                 {"date_text": format_date(booking.slot.date),
                  "time_text": format_time(booking.slot.time)})


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
    """Shows the booking about to be cancelled and asks for confirmation."""

    def name(self) -> str:
        return "action_ask_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        found = await find_booking(service, tracker)
        if found.booking is None or not found.owned_by(tracker.sender_id):
            if found.booking is None:
                not_found_reply(found).send(dispatcher)
            else:
                Reply("utter_change_from_other_number").send(dispatcher)
            return [SlotSet("booking_code", None)]
        Reply("utter_confirm_cancel", booking_variables(service.config, found.booking),
              [{"title": labels.YES_CANCEL, "payload": "/affirm"},
               {"title": labels.NO_KEEP, "payload": "/deny"}]).send(dispatcher)
        return [SlotSet("booking_code", found.booking.code)]


class ActionCancelBooking(Action):
    """Cancels the booking shown by ``action_ask_cancel`` after the applicant said yes."""

    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        code = tracker.get_slot("booking_code")
        if not code:
            Reply("utter_no_active_booking").send(dispatcher)
            return []
        outcome = await call(service.cancel, code)
        if isinstance(outcome, Cancelled):
            Reply("utter_cancelled", booking_variables(service.config, outcome.booking)
                  ).send(dispatcher)
            return [SlotSet("booking_code", None)]
        refusal_reply(service.config, outcome).send(dispatcher)
        return [SlotSet("booking_refusal", outcome.kind)]


class ActionKeepBooking(Action):
    def name(self) -> str:
        return "action_keep_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancel_kept")
        # Also ends a reschedule stopped half-way; the rules expect it in every case.
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("confirmed", None),
                SlotSet("booking_date", None), SlotSet("booking_time", None)]


class ActionStartReschedule(Action):
    """Finds the booking to move and checks it may still be moved before asking anything."""

    def name(self) -> str:
        return "action_start_reschedule"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        found = await find_booking(service, tracker)
        refused = [SlotSet("booking_code", None), SlotSet("reschedule_allowed", False)]
        if found.booking is None:
            not_found_reply(found).send(dispatcher)
            return refused
        if not found.owned_by(tracker.sender_id):
            Reply("utter_change_from_other_number").send(dispatcher)
            return refused
        problem = service.reschedule_problem(found.booking)
        if problem is not None:
            refusal_reply(service.config, problem).send(dispatcher)
            return refused
        Reply("utter_reschedule_current", booking_variables(service.config, found.booking)
              ).send(dispatcher)
        return [SlotSet("booking_code", found.booking.code), SlotSet("reschedule_allowed", True),
                SlotSet("reschedule_places", found.booking.size), SlotSet("confirmed", None),
                SlotSet("booking_date", None), SlotSet("booking_time", None)]


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
        if not (code and day and time):
            Reply("utter_no_active_booking").send(dispatcher)
            return clear
        outcome = await call(service.reschedule, code, dt.date.fromisoformat(day),
                             dt.time.fromisoformat(time))
        if isinstance(outcome, Rescheduled):
            Reply("utter_rescheduled", booking_variables(service.config, outcome.booking)
                  ).send(dispatcher)
            return clear
        refusal_reply(service.config, outcome).send(dispatcher)
        return [*clear, SlotSet("booking_refusal", outcome.kind)]
