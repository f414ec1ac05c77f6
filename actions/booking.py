"""The booking conversation around the form: start, summary, changes, reservation."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_form import (
    BOOKING_SLOTS,
    PERSON_SLOTS,
    applicants_of,
    choices,
    last_entity_value,
)
from actions.presenters import Reply, booking_variables, menu_buttons, refusal_reply
from actions.runtime import call, get_service
from antrean.indonesian import format_date, format_time
from antrean.masking import mask_phone
from antrean.model import Applicant, BookingRequest
from antrean.nik import mask_nik
from antrean.outcomes import NumberHasBooking, Reserved

log = logging.getLogger(__name__)

# What the applicant can pick after saying the summary is wrong, and the slots each choice
# empties so that the form asks for them again.
CHANGE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "booking_date": ("Tanggal & jam", ("booking_date", "booking_time")),
    "booking_time": ("Jam saja", ("booking_time",)),
    "service_type": ("Jenis layanan", ("service_type",)),
    "passport_type": ("Jenis paspor", ("passport_type",)),
    "applicants": ("Data pemohon", ("applicant_count", "applicants", *PERSON_SLOTS)),
}
# Entities a correction may carry ("eh bukan kamis, jumat", "jam 10 aja", "jadi 2 orang").
CORRECTABLE = {"date": "booking_date", "time": "booking_time", "service_type": "service_type",
               "passport_type": "passport_type", "applicant_count": "applicant_count"}


def is_priority(config: Any, born: dt.date, day: dt.date) -> bool:
    """Elderly (60+) and small children (under 5) may use the walk-in priority counter."""
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return age >= config.elderly_min_age or age < config.child_max_age


def draft_incomplete(tracker: Tracker) -> bool:
    """The summary and the reservation need the schedule and at least one complete person."""
    return not applicants_of(tracker) or any(
        tracker.get_slot(name) is None
        for name in ("service_type", "passport_type", "booking_date", "booking_time"))


def clear_booking() -> list[EventType]:
    return [SlotSet(name, None) for name in BOOKING_SLOTS]


class ActionStartBooking(Action):
    """Before asking anything: a number with an active booking cannot take a second one."""

    def name(self) -> str:
        return "action_start_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        booking = await call(service.active_booking, tracker.sender_id)
        if booking is None:
            return [SlotSet("can_book", True)]
        refusal_reply(service.config, NumberHasBooking(booking.code, booking.slot.date)
                      ).send(dispatcher)
        return [SlotSet("can_book", False), *clear_booking()]


class ActionBookingSummary(Action):
    """Echoes what will be booked and asks for an explicit confirmation."""

    def name(self) -> str:
        return "action_booking_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        config = get_service().config
        slot = tracker.get_slot
        people = applicants_of(tracker)
        if draft_incomplete(tracker):
            dispatcher.utter_message(response="utter_booking_incomplete")
            return clear_booking()
        lines = []
        for number, person in enumerate(people, start=1):
            born = format_date(dt.date.fromisoformat(person["birth_date"])).split(", ")[1]
            prefix = f"{number}. " if len(people) > 1 else ""
            lines.append(f"{prefix}{person['name']}, lahir {born}, NIK {mask_nik(person['nik'])}")
        Reply("utter_booking_summary", {
            "service_text": config.services.get(slot("service_type"), slot("service_type")),
            "passport_text": config.passport_types.get(slot("passport_type"),
                                                       slot("passport_type")),
            "date_text": format_date(dt.date.fromisoformat(slot("booking_date"))),
            "time_text": format_time(dt.time.fromisoformat(slot("booking_time"))),
            "count": len(people),
            "applicants_text": "\n".join(lines),
        }, [{"title": "Ya, benar", "payload": "/affirm"},
            {"title": "Ada yang salah", "payload": "/deny"}]).send(dispatcher)
        return []


class ActionAskChange(Action):
    """The summary was wrong: asks which part to change (or to stop)."""

    def name(self) -> str:
        return "action_ask_change"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        options = {field: title for field, (title, _) in CHANGE_FIELDS.items()}
        buttons = choices(options, "field")
        buttons.append({"title": "Tidak jadi daftar", "payload": "/cancel_booking"})
        Reply("utter_ask_change", {}, buttons).send(dispatcher)
        return []


class ActionChangeBooking(Action):
    """Applies a correction before confirming; the booking form then re-checks every value
    and asks for whatever the correction emptied."""

    def name(self) -> str:
        return "action_change_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        if not applicants_of(tracker) and tracker.get_slot("service_type") is None:
            # No booking in progress (e.g. a choice tapped after the booking was made):
            # offer what the assistant can do instead of starting an empty form.
            dispatcher.utter_message(response="utter_fallback_menu", buttons=menu_buttons())
            return [FollowupAction("action_listen")]
        events: list[EventType] = []
        field = next(tracker.get_latest_entity_values("field"), None)
        if field in CHANGE_FIELDS:
            events += [SlotSet(name, [] if name == "applicants" else None)
                       for name in CHANGE_FIELDS[field][1]]
        for entity, slot_name in CORRECTABLE.items():
            value = last_entity_value(tracker, entity)
            if value is not None:
                events.append(SlotSet(slot_name, value))
        if not events:
            # Nothing recognisable to change: ask again which part, and wait for the answer
            # instead of letting the form re-run unchanged.
            return [*ActionAskChange().run(dispatcher, tracker, domain),
                    FollowupAction("action_listen")]
        return events


class ActionReserveBooking(Action):
    """Reserves after the applicant said yes, and confirms with everything to know."""

    def name(self) -> str:
        return "action_reserve_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
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
            if any(is_priority(service.config, a.birth_date, request.date)
                   for a in request.applicants):
                Reply("utter_priority_info", {"priority_note": service.config.priority_note}
                      ).send(dispatcher)
            return [SlotSet("booking_code", outcome.booking.code), *clear_booking()]
        log.info("booking refused for %s: %s", mask_phone(tracker.sender_id), outcome.kind)
        refusal_reply(service.config, outcome).send(dispatcher)
        # The draft stays: the applicant can pick an offered alternative or change a value.
        return [SlotSet("booking_refusal", outcome.kind)]


class ActionDiscardBooking(Action):
    """The applicant stopped the booking: nothing is booked, the draft is dropped."""

    def name(self) -> str:
        return "action_discard_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_booking_discarded")
        # Always ends any form: the rules expect the same events in and out of the form.
        return [ActiveLoop(None), *clear_booking(), SlotSet("requested_slot", None)]
