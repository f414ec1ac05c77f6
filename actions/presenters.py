"""Outcomes and bookings turned into response names and their variables.

Whole messages live in the domain's responses and short labels in ``actions.labels``; this
module only chooses the response and fills its variables with facts from the booking core
and the office configuration.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from actions import labels
from antrean import outcomes as o
from antrean.codes import display_code
from antrean.config import OfficeConfig
from antrean.indonesian import (
    bullet_list,
    format_date,
    format_date_short,
    format_time,
    join_names,
)
from antrean.model import Booking, SlotAvailability
from antrean.rules import is_minor


@dataclass
class Reply:
    """One bot message: a response name, its variables and optional buttons."""

    response: str
    variables: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)

    def send(self, dispatcher: Any) -> None:
        dispatcher.utter_message(response=self.response, buttons=self.buttons or None,
                                 **self.variables)


MAX_CHOICES = 10  # a WhatsApp list holds ten rows


def intent_payload(intent: str, **entities: str) -> str:
    """The payload of a choice: ``/intent{"entity":"value",…}`` as Rasa parses it."""
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def menu_buttons() -> list[dict[str, str]]:
    """What the assistant can do, offered when it did not understand."""
    return [{"title": title, "payload": payload} for title, payload in labels.MENU]


def choices(options: dict[str, str], entity: str) -> list[dict[str, str]]:
    """Buttons whose payload sets an entity.

    Sent from actions: Rasa reads the braces of a payload written in a domain response as a
    slot placeholder.
    """
    return [{"title": title, "payload": intent_payload("inform", **{entity: value})}
            for value, title in options.items()]


def slot_button(slot: SlotAvailability, with_date: bool = True) -> dict[str, str]:
    """A choice of one slot; the payload carries date and time as entities."""
    title = f"{format_date_short(slot.slot.date)} {slot.slot.time:%H.%M}" if with_date else (
        f"{slot.slot.time:%H.%M}"
    )
    payload = intent_payload("inform", date=slot.slot.date.isoformat(),
                             time=f"{slot.slot.time:%H:%M}")
    return {"title": title, "payload": payload}


def date_button(slot: SlotAvailability) -> dict[str, str]:
    return {
        "title": format_date_short(slot.slot.date),
        "payload": intent_payload("inform", date=slot.slot.date.isoformat()),
    }


def time_button(slot: SlotAvailability) -> dict[str, str]:
    return {
        "title": labels.FREE_PLACES.format(time=f"{slot.slot.time:%H.%M}", free=slot.free),
        "payload": intent_payload("inform", time=f"{slot.slot.time:%H:%M}"),
    }


def booking_variables(config: OfficeConfig, booking: Booking) -> dict[str, Any]:
    """Everything the confirmation and check messages show."""
    documents = bullet_list(config.documents.for_service(booking.service_type))
    children = [a.name for a in booking.applicants if is_minor(a.birth_date, booking.slot.date)]
    if children:
        documents += "\n\n" + labels.CHILD_DOCUMENTS.format(names=join_names(children))
        documents += "\n" + bullet_list(config.documents.children)
    return {
        "code": display_code(booking.code),
        "date_text": format_date(booking.slot.date),
        "time_text": format_time(booking.slot.time),
        "service_text": config.services[booking.service_type],
        "passport_text": config.passport_types[booking.passport_type],
        "names": join_names(a.name for a in booking.applicants),
        "count": booking.size,
        "documents": documents + f"\n({config.documents.note})",
        "arrive_minutes": config.booking.arrive_early_minutes,
        "office_name": config.office.name,
        "address": config.office.address,
        "map_url": config.office.map_url,
    }


def refusal_reply(config: OfficeConfig, refusal: o.Refusal) -> Reply:
    """The message explaining a refusal, with alternatives as choices where there are any."""
    v: dict[str, Any] = {}
    buttons: list[dict[str, str]] = []
    name = f"utter_refused_{refusal.kind}"
    if isinstance(refusal, o.DayClosed):
        name = f"utter_refused_day_closed_{refusal.reason.value}"
        v = {"date_text": format_date(refusal.date), "detail": refusal.detail}
        buttons = [date_button(a) for a in refusal.alternatives]
    elif isinstance(refusal, o.DateInPast):
        v = {"date_text": format_date(refusal.date)}
    elif isinstance(refusal, o.OutsideWindow):
        v = {
            "date_text": format_date(refusal.date),
            "earliest_text": format_date(refusal.earliest),
            "latest_text": format_date(refusal.latest),
        }
        buttons = [date_button(a) for a in refusal.alternatives]
    elif isinstance(refusal, o.NotASlot):
        v = {
            "first_text": format_time(refusal.slot_times[0]),
            "last_text": format_time(refusal.slot_times[-1]),
        }
    elif isinstance(refusal, o.SlotFull):
        v = {"date_text": format_date(refusal.date), "time_text": format_time(refusal.time)}
        buttons = [slot_button(a) for a in refusal.alternatives]
    elif isinstance(refusal, o.NumberHasBooking):
        v = {"code": display_code(refusal.code), "date_text": format_date(refusal.date)}
    elif isinstance(refusal, o.NikHasBooking):
        v = {"nik_masked": refusal.nik_masked}
    elif isinstance(refusal, o.TooManyApplicants):
        v = {"maximum": refusal.maximum}
    elif isinstance(refusal, o.RescheduleNotAllowed):
        name = f"utter_refused_reschedule_{refusal.problem.value}"
        v = {"limit": refusal.limit,
             "deadline_text": format_date(refusal.deadline) if refusal.deadline else ""}
    elif isinstance(refusal, o.InvalidNik):
        name = f"utter_refused_invalid_nik_{refusal.problem}"
    elif isinstance(refusal, o.InvalidApplicant):
        name = f"utter_refused_invalid_applicant_{refusal.problem}"
    return Reply(name, v, buttons)
