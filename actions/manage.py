"""Cancelling a booking: found by the sender's number or a code, confirmed before it happens."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.presenters import Reply, booking_variables, refusal_reply
from actions.runtime import call, get_service
from antrean.model import Booking
from antrean.outcomes import Cancelled
from antrean.service import BookingService


async def find_booking(service: BookingService, tracker: Tracker) -> Booking | None:
    """The booking named by a code in the message, else the sender's active booking."""
    code = next(tracker.get_latest_entity_values("booking_code"), None)
    if code:
        booking = await call(service.find_by_code, code)
        if booking and booking.is_active:
            return booking
    return await call(service.active_booking, tracker.sender_id)


class ActionAskCancel(Action):
    """Shows the booking about to be cancelled and asks for confirmation."""

    def name(self) -> str:
        return "action_ask_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        booking = await find_booking(service, tracker)
        if booking is None:
            Reply("utter_no_active_booking").send(dispatcher)
            return [SlotSet("booking_code", None)]
        Reply("utter_confirm_cancel", booking_variables(service.config, booking),
              [{"title": "Ya, batalkan", "payload": "/affirm"},
               {"title": "Tidak", "payload": "/deny"}]).send(dispatcher)
        return [SlotSet("booking_code", booking.code)]


class ActionCancelBooking(Action):
    """Cancels the booking shown by ``action_ask_cancel`` after the applicant said yes."""

    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
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
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                SlotSet("booking_date", None), SlotSet("booking_time", None)]


class ActionStartReschedule(Action):
    """Finds the booking to move and checks it may still be moved before asking anything."""

    def name(self) -> str:
        return "action_start_reschedule"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        booking = await find_booking(service, tracker)
        if booking is None:
            Reply("utter_no_active_booking").send(dispatcher)
            return [SlotSet("booking_code", None), SlotSet("reschedule_allowed", False)]
        problem = service.reschedule_problem(booking)
        if problem is not None:
            refusal_reply(service.config, problem).send(dispatcher)
            return [SlotSet("booking_code", None), SlotSet("reschedule_allowed", False)]
        Reply("utter_reschedule_current", booking_variables(service.config, booking)
              ).send(dispatcher)
        return [SlotSet("booking_code", booking.code), SlotSet("reschedule_allowed", True),
                SlotSet("reschedule_places", booking.size)]


class ActionRescheduleBooking(Action):
    """Moves the booking to the chosen date and time."""

    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        import datetime as dt

        from antrean.outcomes import Rescheduled

        service = get_service()
        code, day, time = (tracker.get_slot(n) for n in ("booking_code", "booking_date",
                                                         "booking_time"))
        clear = [SlotSet("booking_date", None), SlotSet("booking_time", None)]
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
