"""Answers to questions, filled with facts from the office configuration."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.presenters import Reply, booking_variables, date_button
from actions.runtime import call, get_service
from antrean.config import OfficeConfig
from antrean.indonesian import bullet_list, format_rupiah, format_time

MAX_CHOICES = 10


def _office(config: OfficeConfig) -> dict[str, Any]:
    return {
        "office_name": config.office.name,
        "address": config.office.address,
        "map_url": config.office.map_url,
        "hours_text": config.office.hours_text,
        "contact_phone": config.office.contact_phone,
    }


def _fees(config: OfficeConfig) -> str:
    lines = []
    for ptype, by_years in config.fees.passport.items():
        for years, amount in sorted(by_years.items()):
            lines.append(f"{config.passport_types[ptype]} {years} tahun: {format_rupiah(amount)}")
    lines.append(f"Layanan percepatan (selesai hari yang sama): +{format_rupiah(config.fees.express_surcharge)}")
    for reason, amount in config.fees.replacement_surcharge.items():
        lines.append(f"Penggantian karena {reason}: +{format_rupiah(amount)}")
    return bullet_list(lines)


def question_reply(config: OfficeConfig, intent: str, tracker: Tracker) -> Reply | None:
    """The answer to an information question, or None for other intents."""
    office = _office(config)
    if intent == "ask_office_hours":
        times = config.schedule
        return Reply("utter_office_hours", {**office, "first_slot": format_time(times.first_slot),
                                            "last_slot": format_time(times.last_slot)})
    if intent == "ask_location":
        return Reply("utter_location", office)
    if intent == "ask_fee":
        return Reply("utter_fees", {"fees": _fees(config)})
    if intent == "ask_requirements":
        entity = next(tracker.get_latest_entity_values("service_type"), None)
        service = parsing.service_type(entity) or tracker.get_slot("service_type") or "baru"
        return Reply("utter_requirements", {
            "service_text": config.services[service],
            "documents": bullet_list(config.documents.for_service(service)),
            "children_documents": bullet_list(config.documents.children),
        })
    if intent == "ask_passport_status":
        return Reply("utter_passport_status", {"pickup_days": config.pickup_working_days,
                                               "pickup_note": config.pickup_note})
    if intent == "request_human":
        return Reply("utter_request_human", office)
    if intent == "bot_challenge":
        return Reply("utter_bot_challenge")
    if intent == "out_of_scope":
        return Reply("utter_out_of_scope", office)
    return None


class ActionAnswerQuestion(Action):
    """Answers fees, documents, hours, location, pickup, hand-off and scope questions."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if intent == "ask_availability":
            days = await call(service.free_days, 1)
            if not days:
                Reply("utter_no_availability").send(dispatcher)
            else:
                Reply("utter_availability", {},
                      [date_button(d) for d in days[:MAX_CHOICES]]).send(dispatcher)
            return []
        reply = question_reply(service.config, intent, tracker)
        (reply or Reply("utter_default")).send(dispatcher)
        return []


class ActionCheckBooking(Action):
    """Shows the active booking of the sender's number."""

    def name(self) -> str:
        return "action_check_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        booking = await call(service.active_booking, tracker.sender_id)
        if booking is None:
            Reply("utter_no_active_booking").send(dispatcher)
        else:
            Reply("utter_booking_status", booking_variables(service.config, booking)
                  ).send(dispatcher)
        return []
