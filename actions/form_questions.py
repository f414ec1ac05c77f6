"""The booking form's questions, each with the choices that fit (buttons or a list)."""
from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import re
from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import labels
from actions.form_state import applicants_of, group_size, places_for
from actions.presenters import MAX_CHOICES, Reply, choices, date_button, time_button
from actions.runtime import call, get_config
from actions.runtime import service as booking_service
from antrean.indonesian import format_date
from antrean.model import SlotAvailability
from antrean.nlu.temporal_words import MONTHS
from antrean.service import BookingService


def time_choices(free: list[SlotAvailability], limit: int = MAX_CHOICES
                 ) -> list[SlotAvailability]:
    """At most ``limit`` free times of a day, shown in time order.

    Whole hours come first (09.00 is the hour asked most), then the half hours from the morning
    on.
    """
    if len(free) <= limit:
        return free
    whole = [s for s in free if s.slot.time.minute == 0]
    half = [s for s in free if s.slot.time.minute != 0]
    picked = (whole + half)[:limit]
    return sorted(picked, key=lambda s: s.slot.time)


async def free_slots_of_day(tracker: Tracker) -> list[SlotAvailability]:
    """The free slots of the chosen day with room for the whole group."""
    service = await booking_service()
    day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
    places = places_for(tracker)
    return [s for s in await call(service.availability, day, day) if s.free >= places]


async def offer_day_part(tracker: Tracker, part: tuple[str, dt.time, dt.time],
                         dispatcher: CollectingDispatcher) -> None:
    """Offer the free times in a part of the chosen day ("pagi", "abis dzuhur")."""
    name, first, last = part
    free = await free_slots_of_day(tracker)
    fitting = [s for s in free if first <= s.slot.time <= last]
    day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
    if fitting:
        Reply("utter_day_part_times", {"part": name, "date_text": format_date(day)},
              [time_button(s) for s in time_choices(fitting)]).send(dispatcher)
    else:
        Reply("utter_day_part_full", {"part": name, "date_text": format_date(day)},
              [time_button(s) for s in time_choices(free)]).send(dispatcher)


_MONTH_PART = re.compile(r"(?<!\w)(?P<part>awal|akhir|pertengahan|tengah|end of(?: the)?)\s*"
                         r"(?:(?:bulan|bln|month)\s*(?P<which>ini|depan|dpn|next)?"
                         r"|(?P<month>[a-z]+))", re.I)
_PART_DAYS = {"awal": (1, 10), "tengah": (11, 20), "pertengahan": (11, 20), "akhir": (21, 31)}


def month_part(text: str, today: dt.date) -> tuple[int, int, int, int] | None:
    """The part of a month named ("akhir bulan", "awal bulan depan", "pertengahan desember").

    Returns (year, month, first day, last day), the coming such part when no month is named.
    """
    match = _MONTH_PART.search(text)
    if not match:
        return None
    part = match.group("part").lower()
    first, last = _PART_DAYS.get(part, (21, 31))
    if match.group("month"):
        month = MONTHS.get(match.group("month").lower())
        if month is None:
            return None
        year = today.year + (month < today.month)
    elif (match.group("which") or "").lower() in ("depan", "dpn", "next"):
        year, month = today.year + (today.month == 12), today.month % 12 + 1
    else:
        year, month = today.year, today.month
        if month_calendar.monthrange(year, month)[1] < today.day + 1 or today.day > last:
            year, month = today.year + (today.month == 12), today.month % 12 + 1
    return year, month, first, min(last, month_calendar.monthrange(year, month)[1])


async def offer_month_part(service: BookingService, places: int, text: str,
                           dispatcher: CollectingDispatcher) -> bool:
    """The free days of the part of the month named; False when the text names none."""
    wanted = month_part(text, service.today())
    if wanted is None:
        return False
    year, month, first, last = wanted
    days = await call(service.free_days, places)
    fitting = [d for d in days if (d.slot.date.year, d.slot.date.month) == (year, month)
               and first <= d.slot.date.day <= last]
    if fitting:
        Reply("utter_month_part_days", {}, [date_button(d) for d in fitting[:MAX_CHOICES]]
              ).send(dispatcher)
    else:
        nearest = sorted(days, key=lambda d: abs((d.slot.date - dt.date(year, month, first))
                                                 .days))[:3]
        Reply("utter_month_part_none", {}, [date_button(d) for d in
                                            sorted(nearest, key=lambda d: d.slot.date)]
              ).send(dispatcher)
    return True


async def offer_week(service: BookingService, places: int, today: dt.date,
                     dispatcher: CollectingDispatcher) -> None:
    """The free days of next week, Monday to Sunday ("minggu depan")."""
    monday = today + dt.timedelta(days=7 - today.weekday())
    days = [d for d in await call(service.free_days, places)
            if monday <= d.slot.date < monday + dt.timedelta(days=7)]
    if days:
        Reply("utter_week_days", {}, [date_button(d) for d in days]).send(dispatcher)
    else:
        Reply("utter_month_part_none", {}, [date_button(d) for d in
                                            (await call(service.free_days, places))[:3]]
              ).send(dispatcher)


class FormQuestion(Action, ABC):
    """A question of the form; silent once when choices were just offered instead."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("skip_next_question"):
            return [SlotSet("skip_next_question", None)]
        await self.ask(dispatcher, tracker)
        return []

    @abstractmethod
    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Sends the question with its choices."""


def ordinal_who(tracker: Tracker) -> str:
    """"pemohon" for one person, "orang kedua" inside a group."""
    if group_size(tracker) <= 1:
        return labels.THE_APPLICANT
    index = min(len(applicants_of(tracker)), len(labels.ORDINALS) - 1)
    return labels.NTH_PERSON.format(ordinal=labels.ORDINALS[index])


class ActionAskServiceType(FormQuestion):
    def name(self) -> str:
        return "action_ask_service_type"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        Reply("utter_ask_service_type", {}, choices(labels.SERVICE_BUTTONS, "service_type")
              ).send(dispatcher)


class ActionAskPassportType(FormQuestion):
    def name(self) -> str:
        return "action_ask_passport_type"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        Reply("utter_ask_passport_type", {}, choices(labels.PASSPORT_BUTTONS, "passport_type")
              ).send(dispatcher)


class ActionAskApplicantCount(FormQuestion):
    """Asks how many people come, one choice per possible group size."""

    def name(self) -> str:
        return "action_ask_applicant_count"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        maximum = get_config().booking.max_applicants
        titles = {"1": labels.ALONE_BUTTON}
        titles.update({str(n): labels.PEOPLE_BUTTON.format(n=n) for n in range(2, maximum + 1)})
        Reply("utter_ask_applicant_count", {"maximum": maximum},
              choices(titles, "applicant_count")).send(dispatcher)


class ActionAskBookingDate(FormQuestion):
    """Asks for the date, offering the next days with room for the whole group."""

    def name(self) -> str:
        return "action_ask_booking_date"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        days = await call((await booking_service()).free_days, places_for(tracker))
        Reply("utter_ask_booking_date", {}, [date_button(d) for d in days[:MAX_CHOICES]]
              ).send(dispatcher)


class ActionAskBookingTime(FormQuestion):
    """Asks for the time, offering the chosen day's slots with room for the group."""

    def name(self) -> str:
        return "action_ask_booking_time"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        free = await free_slots_of_day(tracker)
        day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
        Reply("utter_ask_booking_time", {"date_text": format_date(day)},
              [time_button(s) for s in time_choices(free)]).send(dispatcher)


class ActionAskPersonName(FormQuestion):
    def name(self) -> str:
        return "action_ask_person_name"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        response = ("utter_ask_person_name" if group_size(tracker) <= 1
                    else "utter_ask_group_person_name")
        dispatcher.utter_message(response=response, who=ordinal_who(tracker))


class ActionAskBirthDate(FormQuestion):
    def name(self) -> str:
        return "action_ask_birth_date"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        dispatcher.utter_message(response="utter_ask_birth_date",
                                 name=tracker.get_slot("person_name") or ordinal_who(tracker))


class ActionAskNik(FormQuestion):
    def name(self) -> str:
        return "action_ask_nik"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        dispatcher.utter_message(response="utter_ask_nik",
                                 name=tracker.get_slot("person_name") or ordinal_who(tracker))
