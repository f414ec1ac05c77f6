"""The booking conversation around the form: start, reservation after the summary, stop."""
from __future__ import annotations

import datetime as dt
import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.errands import BOOKING_WORDS, neighbouring_errand, question_topic_reply
from actions.fees import fee_follow_up, fee_reply
from actions.form_state import BOOKING_SLOTS, applicants_of, latest, looks_like_question
from actions.manage import ActionCheckBooking
from actions.presenters import Reply, booking_variables, menu_buttons, refusal_reply
from actions.runtime import call
from actions.runtime import service as booking_service
from antrean.masking import mask_phone
from antrean.model import Applicant, BookingRequest
from antrean.outcomes import NumberHasBooking, Reserved, SlotFull
from antrean.rules import in_priority_group

log = logging.getLogger(__name__)


def draft_incomplete(tracker: Tracker) -> bool:
    """The reservation needs the schedule and at least one complete person."""
    return not applicants_of(tracker) or any(
        tracker.get_slot(name) is None
        for name in ("service_type", "passport_type", "booking_date", "booking_time"))


def clear_booking() -> list[EventType]:
    return [SlotSet(name, None) for name in BOOKING_SLOTS]


_PRICE = re.compile(r"(?<!\w)(?:berapa|brp|brapa|harga\w*|biaya\w*|ongkos|tarif|bayar berapa)"
                    r"(?!\w)(?!\s*(?:orang|org|hari|lama|jam))", re.I)


class ActionStartBooking(Action):
    """The checks before the booking form asks anything.

    A question or a neighbouring errand is answered instead, a code is looked up, and a number
    with an active booking cannot take a second one.
    """

    def name(self) -> str:
        return "action_start_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        message = latest(tracker)
        if message.entity("booking_code"):  # "HJ4T-9WQX": that booking, not a new one
            await ActionCheckBooking().run(dispatcher, tracker, domain)
            return [SlotSet("can_book", False)]
        aside = neighbouring_errand(message.text)
        if aside is None and looks_like_question(message):
            aside = question_topic_reply(message.text, message.intent)
        if aside is None:  # "yg 10 thn?" after the fees
            aside = fee_follow_up(tracker, message.text, service.config)
        if (aside is None and _PRICE.search(message.text)
                and not BOOKING_WORDS.search(message.text)):
            aside = fee_reply(service.config, message.text)  # "bikin paspor biasa brp sih"
        if aside is not None:  # "daftar haji", "bedanya e-paspor apa": answered, no booking
            aside.send(dispatcher)
            return [SlotSet("can_book", False), *clear_booking()]
        booking = await call(service.active_booking, tracker.sender_id)
        if booking is None:
            return [SlotSet("can_book", True)]
        refusal_reply(service.config, NumberHasBooking(booking.code, booking.slot.date)
                      ).send(dispatcher)
        return [SlotSet("can_book", False), *clear_booking()]


async def start_booking(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Starts the booking form from an action, with the same checks as ``action_start_booking``.

    For a need the model did not read as a booking, or "ya" to "mau daftar sekarang?".
    """
    events = await ActionStartBooking().run(dispatcher, tracker, {})
    if any(e.get("name") == "can_book" and e.get("value") is True for e in events):
        return [*events, FollowupAction("booking_form")]
    return events


class ActionChangeBooking(Action):
    """A choice after a refused reservation (someone took the last place meanwhile).

    The form takes it and asks again for what is missing.
    """

    def name(self) -> str:
        return "action_change_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        if not applicants_of(tracker) and tracker.get_slot("service_type") is None:
            # No booking in progress (a choice tapped after the booking was made): offer
            # what the assistant can do instead of starting an empty form.
            dispatcher.utter_message(response="utter_fallback_menu", buttons=menu_buttons())
            return [FollowupAction("action_listen")]
        return [SlotSet("confirmed", None)]


class ActionReserveBooking(Action):
    """Reserves after the applicant confirmed the summary, and confirms it.

    The confirmation holds everything to know (documents for children included, and the
    priority counter where it applies).
    """

    def name(self) -> str:
        return "action_reserve_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        slot = tracker.get_slot
        people = applicants_of(tracker)
        if draft_incomplete(tracker):
            dispatcher.utter_message(response="utter_booking_incomplete")
            return clear_booking()
        request = BookingRequest(
            phone=tracker.sender_id,
            date=dt.date.fromisoformat(slot("booking_date")),
            time=dt.time.fromisoformat(slot("booking_time")),
            service_type=slot("service_type"),
            passport_type=slot("passport_type"),
            applicants=tuple(Applicant(p["name"], dt.date.fromisoformat(p["birth_date"]),
                                       p["nik"]) for p in people),
        )
        outcome = await call(service.reserve, request)
        if isinstance(outcome, Reserved):
            Reply("utter_booking_confirmed", booking_variables(service.config, outcome.booking)
                  ).send(dispatcher)
            if any(in_priority_group(service.config, a.birth_date, request.date)
                   for a in request.applicants):
                Reply("utter_priority_info", {"priority_note": service.config.priority_note}
                      ).send(dispatcher)
            return [SlotSet("booking_code", outcome.booking.code), *clear_booking()]
        log.info("booking refused for %s: %s", mask_phone(tracker.sender_id), outcome.kind)
        refusal_reply(service.config, outcome).send(dispatcher)
        if isinstance(outcome, SlotFull):
            # The draft stays: the applicant picks an offered time and confirms again.
            return [SlotSet("booking_refusal", outcome.kind), SlotSet("confirmed", None)]
        return [SlotSet("booking_refusal", outcome.kind), *clear_booking()]


class ActionDiscardBooking(Action):
    """The applicant stopped the booking: nothing is booked, the draft is dropped."""

    def name(self) -> str:
        return "action_discard_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_booking_discarded")
        # Always ends any form: the rules expect the same events in and out of the form.
        return [ActiveLoop(None), *clear_booking(), SlotSet("requested_slot", None)]
