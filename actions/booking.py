"""The booking conversation: form validation, choices, summary, reservation."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.presenters import Reply, booking_variables, date_button, refusal_reply, time_button
from actions.runtime import call, get_service
from antrean.indonesian import format_date, format_time
from antrean.masking import mask_phone
from antrean.model import Applicant, BookingRequest
from antrean.nik import NikCheck, check_nik, normalise_nik
from antrean.outcomes import NotASlot, Reserved

log = logging.getLogger(__name__)

BOOKING_SLOTS = (
    "service_type", "passport_type", "booking_date", "booking_time",
    "person_name", "birth_date", "nik",
)
MAX_CHOICES = 10  # a WhatsApp list holds ten rows


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_priority(config: Any, born: dt.date, day: dt.date) -> bool:
    """Elderly (60+) and small children (under 5) may use the walk-in priority counter."""
    age = age_on(born, day)
    return age >= config.elderly_min_age or age < config.child_max_age


class ValidateBookingForm(FormValidationAction):
    """Checks each value as it comes, through the booking core."""

    def name(self) -> str:
        return "validate_booking_form"

    def validate_service_type(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        chosen = parsing.service_type(value)
        if chosen is None:
            dispatcher.utter_message(response="utter_invalid_service_type")
        return {"service_type": chosen}

    def validate_passport_type(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        chosen = parsing.passport_type(value)
        if chosen is None:
            dispatcher.utter_message(response="utter_invalid_passport_type")
        return {"passport_type": chosen}

    async def validate_booking_date(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        service = get_service()
        day = parsing.date_value(value, _text(tracker), service.today())
        if day is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"booking_date": None}
        refusal = await call(service.check_slot, day)
        if refusal:
            refusal_reply(service.config, refusal).send(dispatcher)
            return {"booking_date": None}
        return {"booking_date": day.isoformat()}

    async def validate_booking_time(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        service = get_service()
        time = parsing.time_value(value, _text(tracker), service.today())
        if time is None:
            dispatcher.utter_message(response="utter_invalid_time")
            return {"booking_time": None}
        if time not in service.slot_times:
            refusal_reply(service.config, NotASlot(time, service.slot_times)).send(dispatcher)
            return {"booking_time": None}
        date_value = tracker.get_slot("booking_date")
        if date_value:
            day = dt.date.fromisoformat(date_value)
            free = {s.slot.time: s for s in await call(service.availability, day, day)}
            if time in free and free[time].free < 1:
                Reply("utter_slot_full_pick_time", {"date_text": format_date(day),
                                                    "time_text": format_time(time)},
                      [time_button(s) for s in await call(service.alternatives, day, time)]
                      ).send(dispatcher)
                return {"booking_time": None}
        return {"booking_time": time.strftime("%H:%M")}

    def validate_person_name(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        name = parsing.person_name(value)
        if name is None:
            dispatcher.utter_message(response="utter_invalid_person_name")
        return {"person_name": name}

    def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        today = get_service().today()
        born = parsing.birth_date(value, _text(tracker), today)
        if born is None or born > today or born.year < today.year - 120:
            dispatcher.utter_message(response="utter_invalid_birth_date")
            return {"birth_date": None}
        return {"birth_date": born.isoformat()}

    def validate_nik(self, value: Any, dispatcher: CollectingDispatcher,
                     tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        nik = normalise_nik(str(value[0] if isinstance(value, list) else value or ""))
        born_value = tracker.get_slot("birth_date")
        born = dt.date.fromisoformat(born_value) if born_value else None
        result = check_nik(nik, born)
        if result is NikCheck.OK:
            return {"nik": nik}
        response = {
            NikCheck.FORMAT: "utter_refused_invalid_nik_format",
            NikCheck.BIRTH_DATE: "utter_refused_invalid_nik_birth_date",
            NikCheck.MISMATCH: "utter_refused_nik_birth_date_mismatch",
        }[result]
        dispatcher.utter_message(response=response)
        return {"nik": None}


class ValidateRescheduleForm(ValidateBookingForm):
    """The new date and time of a reschedule, checked like a new booking's."""

    def name(self) -> str:
        return "validate_reschedule_form"


def _choices(options: dict[str, str], entity: str) -> list[dict[str, str]]:
    # Buttons with entity payloads are sent from here: Rasa would read the braces of a
    # payload written in a domain response as a slot placeholder.
    return [{"title": title, "payload": '/inform{"%s":"%s"}' % (entity, value)}
            for value, title in options.items()]


class ActionAskServiceType(Action):
    def name(self) -> str:
        return "action_ask_service_type"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        titles = {"baru": "Paspor baru", "penggantian": "Ganti (habis/penuh)",
                  "hilang": "Paspor hilang", "rusak": "Paspor rusak"}
        Reply("utter_ask_service_type", {}, _choices(titles, "service_type")).send(dispatcher)
        return []


class ActionAskPassportType(Action):
    def name(self) -> str:
        return "action_ask_passport_type"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        titles = {"elektronik": "Paspor elektronik", "biasa": "Paspor biasa"}
        Reply("utter_ask_passport_type", {}, _choices(titles, "passport_type")).send(dispatcher)
        return []


class ActionAskBookingDate(Action):
    """Asks for the date, offering the next days with free places."""

    def name(self) -> str:
        return "action_ask_booking_date"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        days = await call(service.free_days, 1)
        Reply("utter_ask_booking_date", {}, [date_button(d) for d in days[:MAX_CHOICES]]
              ).send(dispatcher)
        return []


class ActionAskBookingTime(Action):
    """Asks for the time, offering the chosen day's free slots."""

    def name(self) -> str:
        return "action_ask_booking_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
        free = [s for s in await call(service.availability, day, day) if s.free > 0]
        Reply("utter_ask_booking_time", {"date_text": format_date(day)},
              [time_button(s) for s in free[:MAX_CHOICES]]).send(dispatcher)
        return []


class ActionBookingSummary(Action):
    """Echoes what will be booked and asks for an explicit confirmation."""

    def name(self) -> str:
        return "action_booking_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        config = get_service().config
        slot = tracker.get_slot
        Reply("utter_booking_summary", {
            "service_text": config.services.get(slot("service_type"), slot("service_type")),
            "passport_text": config.passport_types.get(slot("passport_type"),
                                                       slot("passport_type")),
            "date_text": format_date(dt.date.fromisoformat(slot("booking_date"))),
            "time_text": format_time(dt.time.fromisoformat(slot("booking_time"))),
            "names": slot("person_name"),
            "birth_text": format_date(dt.date.fromisoformat(slot("birth_date"))).split(", ")[1],
            "nik_masked": "*" * 12 + (slot("nik") or "")[-4:],
        }, [{"title": "Ya, benar", "payload": "/affirm"},
            {"title": "Tidak", "payload": "/deny"}]).send(dispatcher)
        return []


class ActionReserveBooking(Action):
    """Reserves after the applicant said yes, and confirms with everything to know."""

    def name(self) -> str:
        return "action_reserve_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        slot = tracker.get_slot
        if any(slot(name) is None for name in BOOKING_SLOTS):
            dispatcher.utter_message(response="utter_booking_incomplete")
            return []
        request = BookingRequest(
            phone=tracker.sender_id,
            date=dt.date.fromisoformat(slot("booking_date")),
            time=dt.time.fromisoformat(slot("booking_time")),
            service_type=slot("service_type"),
            passport_type=slot("passport_type"),
            applicants=(Applicant(slot("person_name"), dt.date.fromisoformat(slot("birth_date")),
                                  slot("nik")),),
        )
        outcome = await call(service.reserve, request)
        if isinstance(outcome, Reserved):
            Reply("utter_booking_confirmed", booking_variables(service.config, outcome.booking)
                  ).send(dispatcher)
            if any(is_priority(service.config, a.birth_date, request.date)
                   for a in request.applicants):
                Reply("utter_priority_info", {"priority_note": service.config.priority_note}
                      ).send(dispatcher)
            return [SlotSet("booking_code", outcome.booking.code),
                    *[SlotSet(name, None) for name in BOOKING_SLOTS]]
        log.info("booking refused for %s: %s", mask_phone(tracker.sender_id), outcome.kind)
        refusal_reply(service.config, outcome).send(dispatcher)
        return [SlotSet("booking_refusal", outcome.kind)]


class ActionDiscardBooking(Action):
    """The applicant said no to the summary: nothing is booked, the draft is dropped."""

    def name(self) -> str:
        return "action_discard_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_booking_discarded")
        return [SlotSet(name, None) for name in BOOKING_SLOTS]
