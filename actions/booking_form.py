"""The booking and reschedule forms: what each message says, and the check of each value.

Every booking slot is filled here, not by Rasa's slot mappings: :meth:`read_answers` reads
the latest message knowing which question was asked (``actions.reading``), so a value is
taken only where it was meant; each ``validate_<slot>`` then checks it through the booking
core and explains a refusal through the one mapping from refusal to response.

When a message answers nothing and is a question or another errand, the validator returns
nothing: Rasa then rejects the form for this turn and the rules answer the question (or
stop the booking), after which the form asks its question again.

A group booking collects ``applicant_count`` people. The current person is gathered in the
slots ``person_name``, ``birth_date`` and ``nik``; once complete the person moves into the
``applicants`` list. The last slot, ``confirmed``, is the summary: "ya" books, a correction
changes the draft and the summary comes back.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import reading
from actions.form_questions import (
    free_slots_of_day,
    offer_day_part,
    offer_month_part,
    offer_week,
)
from actions.form_state import (
    FRESH_ANSWER_INTENTS,
    PERSON_SLOTS,
    SCHEDULE_SLOTS,
    STOP,
    applicants_of,
    group_size,
    is_fresh_answer,
    is_side_question,
    is_side_remark,
    latest,
    looks_like_question,
    places_for,
)
from actions.presenters import Reply, date_button, refusal_reply, time_button
from actions.reading_replies import HAS_EMOJI, NameProblem, answered_name, day_part, introduced_name
from actions.runtime import call, get_config, today
from actions.runtime import service as booking_service
from actions.summary import read_summary_reply
from antrean.indonesian import format_date, format_time
from antrean.nik import normalise_nik
from antrean.outcomes import DuplicateNik, NotASlot
from antrean.rules import check_applicant_count, check_birth_date, check_nik_for_form

EXTRA_SLOTS = ("applicants", "skip_next_question")
# "bentar ya", "tunggu, saya cari KTP dulu": the applicant needs a moment.
_WAIT = re.compile(r"(?<!\w)(?:bentar|sebentar|sbntr|bntr|tunggu\w*|wait"
                   r"|nanti\s+(?:saya|sy|aku)|(?:cari|ambil|cek|lihat|liat)\s+(?:\w+\s+)?dulu)(?!\w)",
                   re.I)
# "gak tau", "nggak ngerti": not knowing the answer, which is no wish to stop.
_DONT_KNOW = re.compile(r"(?<!\w)(?:tau|tahu|ngerti|mengerti|paham|yakin|bingung|ngerti2)(?!\w)",
                        re.I)
# "lupa NIK-nya", "ga tau nik": where the NIK is written.
_NO_NIK = re.compile(r"(?<!\w)(?:lupa|gatau|ga tau|gak tau|tidak tahu|nggak tahu|ga punya|gak punya"
                     r"|tidak punya|belum punya|ga ada|gak ada|ngga ada|hilang)(?!\w)", re.I)
# Words that make a date or time in a reply to a person question a change of the schedule.
_SCHEDULE_CORRECTION = re.compile(r"(?<!\w)(?:tanggal\w*|tgl\w*|jam\w*|pukul|hari\w*|jadwal\w*"
                                  r"|ganti|ubah|salah|bukan)(?!\w)", re.I)
# What to say when a reply to a question cannot be read, by the question.
INVALID_ANSWER = {
    "service_type": "utter_invalid_service_type",
    "passport_type": "utter_invalid_passport_type",
    "applicant_count": "utter_invalid_applicant_count",
    "booking_date": "utter_invalid_booking_date",
    "booking_time": "utter_invalid_booking_time",
    "person_name": "utter_invalid_person_name",
    "birth_date": "utter_invalid_birth_date",
    "nik": "utter_invalid_nik",
    "confirmed": "utter_invalid_confirmed",
}


def checked_birth_date(value: Any, dispatcher: CollectingDispatcher) -> str | None:
    """A date of birth as ISO text, or None (saying why) when it cannot be one."""
    if value is None:
        return None
    try:
        born = dt.date.fromisoformat(str(value))
    except ValueError:
        born = None
    if born is None or check_birth_date(born, today()) is not None:
        dispatcher.utter_message(response="utter_invalid_birth_date")
        return None
    return born.isoformat()


class ValidateBookingForm(FormValidationAction):
    """Reads each message for the booking and checks every value through the core."""

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        people_missing = len(applicants_of(tracker)) < group_size(tracker)
        return [*SCHEDULE_SLOTS, *(PERSON_SLOTS if people_missing else ()), "confirmed"]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # Slots outside the form's questions that reading a message may set (the people
        # list emptied at the summary, the question skipped after choices were offered):
        # rasa_sdk passes on only the form's own slots, so these are added here.
        already = {e.get("name") for e in events if e.get("event") == "slot"}
        for name in EXTRA_SLOTS:
            if name in tracker.slots_to_validate() and name not in already:
                events.append(SlotSet(name, tracker.get_slot(name)))
        return events

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        if not is_fresh_answer(tracker, self.form_name()):
            return []
        values = await self.read_answers(dispatcher, tracker)
        return [SlotSet(slot, value) for slot, value in values.items()]

    async def read_answers(self, dispatcher: CollectingDispatcher,
                           tracker: Tracker) -> dict[str, Any]:
        """The booking values the latest message gives, by the question that was asked."""
        service = await booking_service()
        message = latest(tracker)
        today = service.today()
        asked = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
        values: dict[str, Any] = {}
        if asked and is_side_question(message):
            return values  # answered by the rules; the question is asked again after
        if asked in PERSON_SLOTS:
            values.update(self._person_answers(message, asked, today, dispatcher))
            if _SCHEDULE_CORRECTION.search(message.text):  # "eh, tanggalnya jumat aja"
                schedule = await self._schedule_answers(message, None, today, tracker,
                                                        dispatcher)
                values.update({k: v for k, v in schedule.items()
                               if k in ("booking_date", "booking_time")})
            count = reading.applicant_count(message, asked=False)  # "jadi bertiga deh"
            if count is not None and count != tracker.get_slot("applicant_count"):
                values["applicant_count"] = count
        else:
            values.update(await self._schedule_answers(message, asked, today, tracker,
                                                       dispatcher))
            if asked is None:  # the first message may carry the first person too
                values.update(self._person_answers(message, None, today, dispatcher))
        if asked is None or asked in PERSON_SLOTS:
            group = await self._people_at_once(message, today, tracker, dispatcher)
            if group:  # several people typed in one message, each with name, birth, NIK
                values = {k: v for k, v in values.items() if k not in PERSON_SLOTS}
                values.update(group)
        if asked == "confirmed":
            values.update(read_summary_reply(message, values, tracker, dispatcher))
        if not values and asked:
            if dispatcher.messages:
                # Choices were offered instead ("pagi" -> the morning's free times): the
                # question is not asked again on top of them.
                values.update({asked: None, "skip_next_question": True})
            else:
                values.update(self._not_an_answer(message, asked, dispatcher))
        return values

    async def _schedule_answers(self, message: reading.Message, asked: str | None,
                                today: dt.date, tracker: Tracker,
                                dispatcher: CollectingDispatcher) -> dict[str, Any]:
        values: dict[str, Any] = {}
        service_type = reading.service_type(message, asked == "service_type")
        if service_type:
            values["service_type"] = service_type
        passport_type = reading.passport_type(message, asked == "passport_type")
        if passport_type:
            values["passport_type"] = passport_type
        elif asked == "passport_type" and reading.indifferent(message) and not (
                looks_like_question(message)):
            values["passport_type"] = "biasa"
            dispatcher.utter_message(response="utter_passport_type_picked")
        count = reading.applicant_count(message, asked == "applicant_count")
        if count is not None:
            values["applicant_count"] = count
        dates = reading.booking_dates(message, today)
        if dates and reading.names_a_week_only(message):
            # "minggu depan": a week, not its Monday; the week's free days are offered
            dates = []
            if asked == "booking_date":
                await offer_week(await booking_service(), places_for(tracker), today,
                                 dispatcher)
        if not dates and asked == "booking_date" and not dispatcher.messages:
            dates = await self._date_words(message, today, tracker, dispatcher)
        if dates:
            values["booking_date"] = dates[-1].isoformat()
        times = reading.booking_times(message, today)
        if not times and asked == "booking_time":
            times = await self._time_words(message, tracker, dispatcher)
        if times:
            values["booking_time"] = times[-1].strftime("%H:%M")
        return values

    async def _date_words(self, message: reading.Message, today: dt.date, tracker: Tracker,
                          dispatcher: CollectingDispatcher) -> list[dt.date]:
        """Answers to "which date?" that name no date: "3", "sekarang", "terserah"."""
        number = reading.bare_number(message)
        if number is not None:
            found = reading.booking_dates(reading.Message(f"tgl {number}"), today)
            return found
        lowered = message.lowered
        if any(word in lowered for word in ("sekarang", "hari ini", "skrg", "now", "today")):
            return [today]
        if re.search(r"(?<!\w)enjing(?!\w)", lowered):  # Sundanese: tomorrow
            return [today + dt.timedelta(days=1)]
        if await offer_month_part(await booking_service(), places_for(tracker), lowered,
                                  dispatcher):  # "akhir bulan", "awal bulan depan"
            return []
        if reading.indifferent(message) or "secepatnya" in lowered or "paling cepat" in lowered:
            days = await call((await booking_service()).free_days, places_for(tracker))
            return [days[0].slot.date] if days else []
        return []

    async def _time_words(self, message: reading.Message, tracker: Tracker,
                          dispatcher: CollectingDispatcher) -> list[dt.time]:
        """Answers to "what time?" that name no clock time: "9", "pagi", "terserah"."""
        number = reading.bare_number(message)
        if number is not None:
            found = reading.booking_times(reading.Message(f"jam {number}"), today())
            return found
        part = day_part(message)
        if part is not None:
            await offer_day_part(tracker, part, dispatcher)
            return []
        if reading.indifferent(message) or "paling pagi" in message.lowered:
            free = await free_slots_of_day(tracker)
            return [free[0].slot.time] if free else []
        return []

    async def _people_at_once(self, message: reading.Message, today: dt.date,
                              tracker: Tracker,
                              dispatcher: CollectingDispatcher) -> dict[str, Any]:
        """Two or more people in one message ("1. Nama: … Tgl lahir: … NIK: …  2. Nama: …").

        Each complete, valid person joins the group; at the first person who is not, the
        form asks for that person as usual (after saying why).
        """
        blocks = reading.person_blocks(message.text)
        if len(blocks) < 2 or message.is_payload:
            return {}
        people = applicants_of(tracker)
        service = await booking_service()
        for block in blocks:
            part = reading.Message(block)
            name = introduced_name(part)
            born = reading.birth_date(part, today, asked=False)
            nik = reading.nik(part)
            if not (name and born and nik):
                break
            refusal = check_nik_for_form(nik, born, [p["nik"] for p in people], len(people))
            refusal = refusal or await call(service.nik_booking_refusal, nik)
            if refusal is not None:
                refusal_reply(service.config, refusal).send(dispatcher)
                break
            people.append({"name": name, "birth_date": born.isoformat(), "nik": nik})
        if not people:
            return {}
        found: dict[str, Any] = {"applicants": people, "person_name": None, "birth_date": None,
                                 "nik": None}
        if tracker.get_slot("applicant_count") is None:
            found["applicant_count"] = len(blocks)
        return found

    def _person_answers(self, message: reading.Message, asked: str | None, today: dt.date,
                        dispatcher: CollectingDispatcher) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if asked == "person_name" and not is_side_remark(message):
            name = answered_name(message)
            if isinstance(name, NameProblem):
                if name == HAS_EMOJI:
                    dispatcher.utter_message(response="utter_name_without_emoji")
                    values["person_name"] = None
            else:
                values["person_name"] = name
        else:
            introduced = introduced_name(message)
            if introduced:
                values["person_name"] = introduced
        born = reading.birth_date(message, today, asked == "birth_date")
        if born:
            values["birth_date"] = born.isoformat()
        nik = reading.nik(message)
        if nik is None and asked == "nik":
            nik = reading.digits_answer(message)
        if nik:
            values["nik"] = nik
        return values

    def _not_an_answer(self, message: reading.Message, asked: str,
                       dispatcher: CollectingDispatcher) -> dict[str, Any]:
        """Nothing readable was answered.

        A question or another errand goes to the rules (by returning nothing); an attempt at an
        answer is told what is expected and asked again.
        """
        if _WAIT.search(message.text) and not looks_like_question(message):
            # "bentar ya, ambil KTP dulu": the question stays open, nothing is repeated
            dispatcher.utter_message(response="utter_take_your_time")
            return {asked: None, "skip_next_question": True}
        if asked == "nik" and _NO_NIK.search(message.text):
            dispatcher.utter_message(response="utter_where_is_the_nik")
            return {asked: None, "skip_next_question": True}
        if (message.intent == "deny" and asked != "confirmed" and _DONT_KNOW.search(message.text)
                and not STOP.search(message.text)):
            # "gak tau", "nggak ngerti" to a question is no wish to stop: help, ask again
            dispatcher.utter_message(response=INVALID_ANSWER[asked],
                                     maximum=get_config().booking.max_applicants)
            return {asked: None}
        if message.intent not in FRESH_ANSWER_INTENTS or looks_like_question(message):
            return {}
        if message.intent in ("inform", "nlu_fallback", "") or asked == "confirmed":
            dispatcher.utter_message(response=INVALID_ANSWER[asked],
                                     maximum=get_config().booking.max_applicants)
        return {asked: None}

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        # rasa_sdk has put every validated value into ``tracker.slots`` already.
        events = await super().get_validation_events(dispatcher, tracker, domain)
        return events + self._complete_person(dispatcher, tracker)

    def _complete_person(self, dispatcher: CollectingDispatcher,
                         tracker: Tracker) -> list[EventType]:
        """A person whose name, date of birth and NIK are all known joins the group.

        The three may come in any order; the NIK is checked against the date of birth again,
        as it may have come first.
        """
        name, born, nik = (tracker.get_slot(s) for s in PERSON_SLOTS)
        if not (name and born and nik) or tracker.active_loop_name == "reschedule_form":
            return []
        people = applicants_of(tracker)
        refusal = check_nik_for_form(nik, dt.date.fromisoformat(born),
                                     [p["nik"] for p in people], len(people))
        if refusal is not None:
            refusal_reply(get_config(), refusal).send(dispatcher)
            events: list[EventType] = [SlotSet("nik", None)]
        else:
            people.append({"name": name, "birth_date": born, "nik": nik})
            events = [SlotSet("applicants", people), *(SlotSet(s, None) for s in PERSON_SLOTS)]
        return events  # rasa_sdk adds them to the tracker before choosing the next question

    # --- checks of each value ----------------------------------------------------------
    def validate_service_type(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"service_type": None}
        return {"service_type": value if value in get_config().services else None}

    def validate_passport_type(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"passport_type": None}
        chosen = value if value in get_config().passport_types else None
        return {"passport_type": chosen}

    def validate_applicant_count(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"applicant_count": None}
        config = get_config()
        count = reading.as_count(value)
        if count is None or count < 1:
            dispatcher.utter_message(response="utter_invalid_applicant_count",
                                     maximum=config.booking.max_applicants)
            return {"applicant_count": None}
        too_many = check_applicant_count(config, count)
        if too_many is not None:
            refusal_reply(config, too_many).send(dispatcher)
            return {"applicant_count": None}
        people = applicants_of(tracker)
        if len(people) > count:  # fewer people than before: keep the first ones
            return {"applicant_count": count, "applicants": people[:count]}
        return {"applicant_count": count}

    async def validate_booking_date(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"booking_date": None}
        service = await booking_service()
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(response="utter_invalid_booking_date")
            return {"booking_date": None}
        refusal = await call(service.check_slot, day)
        if refusal:
            reply = refusal_reply(service.config, refusal)
            reply.send(dispatcher)
            # Its alternatives are the choices: the question is not asked again on top.
            return {"booking_date": None, "skip_next_question": bool(reply.buttons)}
        places = places_for(tracker)
        free = [s for s in await call(service.availability, day, day) if s.free >= places]
        if not free:
            alternatives = await call(service.alternatives, day, None, places, 3, True)
            Reply("utter_day_full", {"date_text": format_date(day), "count": places},
                  [date_button(a) for a in alternatives]).send(dispatcher)
            return {"booking_date": None, "skip_next_question": bool(alternatives)}
        result: dict[str, Any] = {"booking_date": day.isoformat()}
        chosen_time = tracker.get_slot("booking_time")
        if chosen_time and all(s.slot.time != dt.time.fromisoformat(chosen_time) for s in free):
            result["booking_time"] = None  # the time chosen earlier is not free on the new day
        return result

    async def validate_booking_time(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"booking_time": None}
        service = await booking_service()
        try:
            time = dt.time.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(response="utter_invalid_booking_time")
            return {"booking_time": None}
        if time not in service.slot_times:
            reply = refusal_reply(service.config, NotASlot(time, service.slot_times))
            day_value = tracker.get_slot("booking_date")
            if day_value:  # the free times nearest the one asked ("jam 7 pagi" → 08.00 …)
                nearest = await call(service.alternatives, dt.date.fromisoformat(day_value),
                                     time, places_for(tracker))
                reply.buttons = [time_button(s) for s in nearest]
            reply.send(dispatcher)
            return {"booking_time": None, "skip_next_question": bool(reply.buttons)}
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
                return {"booking_time": None, "skip_next_question": bool(alternatives)}
        return {"booking_time": time.strftime("%H:%M")}

    def validate_person_name(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if not value:
            return {"person_name": None}
        if tracker.get_slot("applicant_count") is None:
            # A name in the first message ("#Budi#…", "daftar atas nama Budi"): one person.
            return {"person_name": value, "applicant_count": 1}
        return {"person_name": value}

    def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return {"birth_date": checked_birth_date(value, dispatcher)}

    async def validate_nik(self, value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {"nik": None}
        service = await booking_service()
        nik = normalise_nik(str(value or ""))
        born_value = tracker.get_slot("birth_date")
        born = dt.date.fromisoformat(born_value) if born_value else None
        people = applicants_of(tracker)
        refusal = check_nik_for_form(nik, born, [p["nik"] for p in people], len(people))
        if refusal is None:
            refusal = await call(service.nik_booking_refusal, nik)
        if refusal is not None:
            refusal_reply(service.config, refusal).send(dispatcher)
            return {"nik": None}
        return {"nik": nik}

    def validate_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return {"confirmed": True if value is True else None}


class ValidateRescheduleForm(ValidateBookingForm):
    """The new date and time of a reschedule, checked like a new booking's, then confirmed."""

    def name(self) -> str:
        return "validate_reschedule_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        return ["booking_date", "booking_time", "confirmed"]

    async def read_answers(self, dispatcher: CollectingDispatcher,
                           tracker: Tracker) -> dict[str, Any]:
        """As for a booking; a new time alone ("jam aja jadi jam 1 siang") keeps the day."""
        values = await super().read_answers(dispatcher, tracker)
        code = tracker.get_slot("booking_code")
        if ("booking_time" in values and "booking_date" not in values
                and tracker.get_slot("booking_date") is None and code):
            booking = await call((await booking_service()).find_by_code, code)
            if booking is not None:
                values["booking_date"] = booking.slot.date.isoformat()
        return values


__all__ = ["ValidateBookingForm", "ValidateRescheduleForm", "DuplicateNik"]
