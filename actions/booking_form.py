"""The booking and reschedule forms: which values are still needed, their questions (with
choices as buttons or lists) and the check of each value as it comes, through the booking core.

A group booking collects ``applicant_count`` people. The current person is gathered in the
slots ``person_name``, ``birth_date`` and ``nik``; once the NIK is accepted the person moves
into the ``applicants`` list and those three slots are emptied for the next one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.presenters import Reply, date_button, refusal_reply, time_button
from actions.runtime import call, get_service
from antrean.indonesian import format_date, format_time
from antrean.nik import NikCheck, check_nik, normalise_nik
from antrean.outcomes import NotASlot, TooManyApplicants

SCHEDULE_SLOTS = ("service_type", "passport_type", "applicant_count", "booking_date",
                  "booking_time")
PERSON_SLOTS = ("person_name", "birth_date", "nik")
BOOKING_SLOTS = (*SCHEDULE_SLOTS, *PERSON_SLOTS, "applicants")
MAX_CHOICES = 10  # a WhatsApp list holds ten rows


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def last_entity_value(tracker: Tracker, entity: str, default: Any = None) -> Any:
    """The last value of ``entity`` in the latest message.

    A correction names the wrong value first and the right one last ("bukan kamis, jumat"),
    while Rasa's slot mapping keeps the first.
    """
    values = list(tracker.get_latest_entity_values(entity))
    return values[-1] if values else default


def applicants_of(tracker: Tracker) -> list[dict[str, str]]:
    """People already complete in this booking (name, ISO birth date, NIK)."""
    return list(tracker.get_slot("applicants") or [])


def group_size(tracker: Tracker) -> int:
    """Places the booking needs: the stated count, else one."""
    count = tracker.get_slot("applicant_count")
    try:
        return max(int(count), 1) if count is not None else 1
    except (TypeError, ValueError):
        return 1


def places_for(tracker: Tracker) -> int:
    """Places the date and time must have free: the group's, or the moved booking's."""
    if tracker.active_loop_name == "reschedule_form":
        return int(tracker.get_slot("reschedule_places") or 1)
    return group_size(tracker)


def spread(items: list[Any], limit: int = MAX_CHOICES) -> list[Any]:
    """At most ``limit`` items picked evenly from first to last (a whole day's times, not
    only the morning's, fit in one WhatsApp list)."""
    if len(items) <= limit:
        return items
    return [items[round(i * (len(items) - 1) / (limit - 1))] for i in range(limit)]


def ordinal_who(tracker: Tracker) -> str:
    """``pemohon`` for a single applicant, ``pemohon ke-2`` inside a group."""
    if group_size(tracker) <= 1:
        return "pemohon"
    return f"pemohon ke-{len(applicants_of(tracker)) + 1}"


def choices(options: dict[str, str], entity: str) -> list[dict[str, str]]:
    """Buttons whose payload sets an entity.

    Sent from actions: Rasa reads the braces of a payload written in a domain response as a
    slot placeholder.
    """
    return [{"title": title, "payload": '/inform{"%s":"%s"}' % (entity, value)}
            for value, title in options.items()]


class ValidateBookingForm(FormValidationAction):
    """Checks each value as it comes, through the booking core."""

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        people_missing = len(applicants_of(tracker)) < group_size(tracker)
        return [*SCHEDULE_SLOTS, *(PERSON_SLOTS if people_missing else ())]

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

    def validate_applicant_count(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        config = get_service().config
        count = parsing.applicant_count(value, latest_text(tracker))
        if count is None or count < 1:
            dispatcher.utter_message(response="utter_invalid_applicant_count",
                                     maximum=config.booking.max_applicants)
            return {"applicant_count": None}
        if count > config.booking.max_applicants:
            refusal_reply(config, TooManyApplicants(count, config.booking.max_applicants)
                          ).send(dispatcher)
            return {"applicant_count": None}
        people = applicants_of(tracker)
        if len(people) > count:  # fewer people than before: keep the first ones
            return {"applicant_count": count, "applicants": people[:count]}
        return {"applicant_count": count}

    async def validate_booking_date(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        service = get_service()
        value = last_entity_value(tracker, "date", value)
        day = parsing.date_value(value, latest_text(tracker), service.today())
        if day is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"booking_date": None}
        refusal = await call(service.check_slot, day)
        if refusal:
            refusal_reply(service.config, refusal).send(dispatcher)
            return {"booking_date": None}
        places = places_for(tracker)
        free = [s for s in await call(service.availability, day, day) if s.free >= places]
        if not free:
            alternatives = await call(service.alternatives, day, None, places, 3, True)
            Reply("utter_day_full", {"date_text": format_date(day), "count": places},
                  [date_button(a) for a in alternatives]).send(dispatcher)
            return {"booking_date": None}
        result: dict[str, Any] = {"booking_date": day.isoformat()}
        chosen_time = tracker.get_slot("booking_time")
        if chosen_time and tracker.get_slot("requested_slot") != "booking_time":
            # A new day for a time chosen earlier: keep the time only if it is free there.
            time = dt.time.fromisoformat(chosen_time)
            if all(s.slot.time != time for s in free):
                result["booking_time"] = None
        return result

    async def validate_booking_time(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        service = get_service()
        value = last_entity_value(tracker, "time", value)
        time = parsing.time_value(value, latest_text(tracker), service.today())
        if time is None:
            dispatcher.utter_message(response="utter_invalid_time")
            return {"booking_time": None}
        if time not in service.slot_times:
            refusal_reply(service.config, NotASlot(time, service.slot_times)).send(dispatcher)
            return {"booking_time": None}
        date_value = tracker.get_slot("booking_date")
        if date_value:
            day = dt.date.fromisoformat(date_value)
            places = places_for(tracker)
            free = {s.slot.time: s for s in await call(service.availability, day, day)}
            if time in free and free[time].free < places:
                alternatives = await call(service.alternatives, day, time, places)
                Reply("utter_slot_full_pick_time", {"date_text": format_date(day),
                                                    "time_text": format_time(time)},
                      [time_button(s) for s in alternatives]).send(dispatcher)
                return {"booking_time": None}
        return {"booking_time": time.strftime("%H:%M")}

    def validate_person_name(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        name = parsing.person_name(value)
        if name is None:
            dispatcher.utter_message(response="utter_invalid_person_name")
            return {"person_name": None}
        if tracker.get_slot("applicant_count") is None:
            # A name in the first message ("#Budi#…", "daftar atas nama Budi"): one person.
            return {"person_name": name, "applicant_count": 1}
        return {"person_name": name}

    def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        today = get_service().today()
        born = parsing.birth_date(value, latest_text(tracker), today)
        if born is None or born > today or born.year < today.year - 120:
            dispatcher.utter_message(response="utter_invalid_birth_date")
            return {"birth_date": None}
        return {"birth_date": born.isoformat()}

    async def validate_nik(self, value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        nik = normalise_nik(str(value[0] if isinstance(value, list) else value or ""))
        born_value = tracker.get_slot("birth_date")
        born = dt.date.fromisoformat(born_value) if born_value else None
        result = check_nik(nik, born)
        if result is not NikCheck.OK:
            response = {
                NikCheck.FORMAT: "utter_refused_invalid_nik_format",
                NikCheck.BIRTH_DATE: "utter_refused_invalid_nik_birth_date",
                NikCheck.MISMATCH: "utter_refused_nik_birth_date_mismatch",
            }[result]
            dispatcher.utter_message(response=response)
            return {"nik": None}
        people = applicants_of(tracker)
        if any(p["nik"] == nik for p in people):
            dispatcher.utter_message(response="utter_refused_duplicate_nik")
            return {"nik": None}
        service = get_service()
        taken = await call(service.nik_booking_refusal, nik)
        if taken is not None:
            refusal_reply(service.config, taken).send(dispatcher)
            return {"nik": None}
        name = tracker.get_slot("person_name")
        if not (name and born_value):
            return {"nik": nik}
        people.append({"name": name, "birth_date": born_value, "nik": nik})
        return {"applicants": people, "person_name": None, "birth_date": None, "nik": None}


class ValidateRescheduleForm(ValidateBookingForm):
    """The new date and time of a reschedule, checked like a new booking's."""

    def name(self) -> str:
        return "validate_reschedule_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        return domain_slots


class ActionAskServiceType(Action):
    def name(self) -> str:
        return "action_ask_service_type"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        titles = {"baru": "Paspor baru", "penggantian": "Ganti (habis/penuh)",
                  "hilang": "Paspor hilang", "rusak": "Paspor rusak"}
        Reply("utter_ask_service_type", {}, choices(titles, "service_type")).send(dispatcher)
        return []


class ActionAskPassportType(Action):
    def name(self) -> str:
        return "action_ask_passport_type"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        titles = {"elektronik": "Paspor elektronik", "biasa": "Paspor biasa"}
        Reply("utter_ask_passport_type", {}, choices(titles, "passport_type")).send(dispatcher)
        return []


class ActionAskApplicantCount(Action):
    """Asks how many people come, one choice per possible group size."""

    def name(self) -> str:
        return "action_ask_applicant_count"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        maximum = get_service().config.booking.max_applicants
        titles = {"1": "Saya sendiri (1)"}
        titles.update({str(n): f"{n} orang" for n in range(2, maximum + 1)})
        Reply("utter_ask_applicant_count", {"maximum": maximum},
              choices(titles, "applicant_count")).send(dispatcher)
        return []


class ActionAskBookingDate(Action):
    """Asks for the date, offering the next days with room for the whole group."""

    def name(self) -> str:
        return "action_ask_booking_date"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        places = places_for(tracker)
        days = await call(service.free_days, places)
        Reply("utter_ask_booking_date", {}, [date_button(d) for d in days[:MAX_CHOICES]]
              ).send(dispatcher)
        return []


class ActionAskBookingTime(Action):
    """Asks for the time, offering the chosen day's slots with room for the group."""

    def name(self) -> str:
        return "action_ask_booking_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = get_service()
        places = places_for(tracker)
        day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
        free = [s for s in await call(service.availability, day, day) if s.free >= places]
        Reply("utter_ask_booking_time", {"date_text": format_date(day)},
              [time_button(s) for s in spread(free)]).send(dispatcher)
        return []


class ActionAskPersonName(Action):
    def name(self) -> str:
        return "action_ask_person_name"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_person_name", who=ordinal_who(tracker))
        return []


class ActionAskBirthDate(Action):
    def name(self) -> str:
        return "action_ask_birth_date"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_birth_date",
                                 name=tracker.get_slot("person_name") or ordinal_who(tracker))
        return []


class ActionAskNik(Action):
    def name(self) -> str:
        return "action_ask_nik"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_nik",
                                 name=tracker.get_slot("person_name") or ordinal_who(tracker))
        return []
