"""Answers to questions, filled with facts from the office configuration."""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import labels, reading
from actions.booking import start_booking
from actions.errands import (
    BOOKING_WORDS,
    mentions_a_passport_need,
    question_topic_reply,
    wants_a_person,
)
from actions.fees import fee_follow_up, fee_reply
from actions.form_state import last_bot_response, latest, looks_like_question
from actions.presenters import (
    MAX_CHOICES,
    Reply,
    intent_payload,
    menu_buttons,
    refusal_reply,
)
from actions.reading_replies import says_no, says_yes
from actions.runtime import call, get_config
from actions.runtime import service as booking_service
from antrean.config import OfficeConfig
from antrean.indonesian import (
    bullet_list,
    format_date,
    format_date_short,
    format_time,
)
from antrean.masking import mask_phone
from antrean.model import SlotAvailability
from antrean.service import BookingService

log = logging.getLogger(__name__)


def _office(config: OfficeConfig) -> dict[str, Any]:
    return {
        "office_name": config.office.name,
        "address": config.office.address,
        "map_url": config.office.map_url,
        "hours_text": config.office.hours_text,
        "contact_phone": config.office.contact_phone,
    }


_ASKS_A_PRICE = re.compile(r"(?<!\w)(?:how much|price|cost|fee|biaya\w*|harga\w*|tarif)(?!\w)",
                           re.I)
_CANCEL_WORDS = re.compile(r"(?<!\w)(?:batal\w*|cancel\w*|hapus\w*)(?!\w)", re.I)
_ABOUT_CHILDREN = re.compile(r"(?<!\w)(?:anak\w*|bayi|balita|bocil|putra|putri|child\w*|kid\w*)",
                             re.I)
def request_human_reply(config: OfficeConfig) -> Reply:
    """Staff were asked to take over: where and when to reach them meanwhile."""
    return Reply("utter_request_human", _office(config))


def _service_talked_about(tracker: Tracker) -> str | None:
    """The service named in the applicant's last few messages ("perpanjang" … "syaratnya?")."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"][-4:]
    for text in reversed(texts):
        found = reading.service_type(reading.Message(text), asked=False)
        if found:
            return found
    return None


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
        return fee_reply(config, latest(tracker).text)
    if intent == "ask_requirements":
        message = latest(tracker)
        service = (reading.service_type(message, asked=False)
                   or tracker.get_slot("service_type") or _service_talked_about(tracker)
                   or "baru")
        variables = {"service_text": config.services[service],
                     "documents": bullet_list(config.documents.for_service(service))}
        if _ABOUT_CHILDREN.search(message.text):  # the children's list only when asked
            return Reply("utter_requirements_child", {
                **variables, "children_documents": bullet_list(config.documents.children)})
        return Reply("utter_requirements", variables)
    if intent == "ask_passport_status":
        return Reply("utter_passport_status", {"pickup_days": config.pickup_working_days,
                                               "pickup_note": config.pickup_note})
    if intent == "request_human":
        return request_human_reply(config)
    if intent == "bot_challenge":
        return Reply("utter_bot_challenge", {}, [{"title": labels.TALK_TO_STAFF,
                                                  "payload": "/request_human"}])
    if intent == "out_of_scope":  # says what is handled here, as choices
        return Reply("utter_out_of_scope", office, menu_buttons())
    return None


def _book_button(title: str, **entities: str) -> dict[str, str]:
    """A choice that starts a booking with the chosen date (and time) already filled."""
    return {"title": title, "payload": intent_payload("book_queue", **entities)}


async def availability_reply(service: BookingService, tracker: Tracker) -> Reply:
    """Free times of the day asked about, else the next days with free places."""
    message = latest(tracker)
    count = reading.applicant_count(message, asked=False)
    places = count if count and 1 <= count <= service.config.booking.max_applicants else 1
    dates = reading.booking_dates(message, service.today())
    day = dates[-1] if dates else None
    if day is not None:
        refusal = await call(service.check_slot, day)
        if refusal is not None:
            reply = refusal_reply(service.config, refusal)
            reply.buttons = [_book_button(format_date_short(a.slot.date),
                                          date=a.slot.date.isoformat())
                             for a in getattr(refusal, "alternatives", ())]
            return reply
        free = [s for s in await call(service.availability, day, day) if s.free >= places]
        if free:
            return Reply("utter_availability_day", {"date_text": format_date(day)},
                         [_book_button(labels.FREE_PLACES.format(time=f"{s.slot.time:%H.%M}",
                                                                 free=s.free), date=day.isoformat(),
                                       time=f"{s.slot.time:%H:%M}") for s in free[:MAX_CHOICES]])
    # One read of the window: the first free slot of each day and the day's free places.
    days: list[SlotAvailability] = []
    by_day: dict[dt.date, int] = {}
    for slot in await call(service.bookable_slots, places):
        if slot.slot.date not in by_day:
            days.append(slot)
        by_day[slot.slot.date] = by_day.get(slot.slot.date, 0) + slot.free
    if not days:
        return Reply("utter_no_availability")
    lines = [labels.DAY_PLACES_LINE.format(date=format_date(d.slot.date),
                                           free=by_day[d.slot.date],
                                           time=format_time(d.slot.time)) for d in days[:5]]
    variables = {"days_text": bullet_list(lines),
                 "asked_text": format_date(day) + " sudah penuh. " if day else ""}
    return Reply("utter_availability", variables,
                 [_book_button(format_date_short(d.slot.date), date=d.slot.date.isoformat())
                  for d in days[:MAX_CHOICES]])


class ActionAnswerQuestion(Action):
    """Answers fees, documents, hours, location, pickup, hand-off and scope questions."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = latest(tracker).text
        if intent in ("bot_challenge", "ask_location", "out_of_scope", "ask_office_hours") and (
                wants_a_person(text)):
            intent = "request_human"  # "adminnya mana sih", "mau sama orang aja, jangan robot"
        if intent != "bot_challenge" and not wants_a_person(text):
            topic = question_topic_reply(text, intent)  # "PNBP itu apa", "bisa diwakilkan?"
            if topic is not None:
                topic.send(dispatcher)
                return []
        if intent == "ask_availability":
            (await availability_reply(await booking_service(), tracker)).send(dispatcher)
            return []
        if intent == "request_human":  # staff are asked (the store may fail: the boundary)
            service = await booking_service()
            request = await call(service.flag_for_human, tracker.sender_id, "request_human",
                                 recent_user_texts(tracker))
            log.info("hand-off %s flagged for %s", request.id, mask_phone(tracker.sender_id))
        # Everything else needs only the office configuration: it works with the store down.
        reply = question_reply(get_config(), intent, tracker)
        (reply or Reply("utter_default")).send(dispatcher)
        return []


def recent_user_texts(tracker: Tracker, limit: int = 3) -> str:
    """The applicant's last few messages, oldest first, for the staff member taking over."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return " / ".join(t for t in texts[-limit:] if t)


def fallback_streak(tracker: Tracker) -> int:
    """How many of the latest user messages in a row the assistant did not understand."""
    streak = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != "nlu_fallback":
            break
        streak += 1
    return streak


class ActionHandOff(Action):
    """The applicant accepted the offer of a person (after "are you a bot?")."""

    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        service = await booking_service()
        request = await call(service.flag_for_human, tracker.sender_id, "request_human",
                             recent_user_texts(tracker))
        log.info("hand-off %s flagged for %s", request.id, mask_phone(tracker.sender_id))
        request_human_reply(service.config).send(dispatcher)
        return []


class ActionRespondAffirm(Action):
    """Answer "ok" / "ya" outside any question.

    It accepts the assistant's last offer (a person, a booking), else asks what else it can do,
    never "not understood".
    """

    def name(self) -> str:
        return "action_respond_affirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        offered = last_bot_response(tracker)
        if offered == "utter_bot_challenge":
            return await ActionHandOff().run(dispatcher, tracker, domain)
        if offered == "utter_no_active_booking":
            return await start_booking(dispatcher, tracker)
        Reply("utter_anything_else", {}, menu_buttons()).send(dispatcher)
        return []


class ActionFallback(Action):
    """Not understood: first ask to rephrase, from the second time on offer a menu and staff."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        message = latest(tracker)
        text = message.text
        if last_bot_response(tracker) == "utter_confirm_cancel":  # "yakin", "yakin batal"
            if says_yes(message) or _CANCEL_WORDS.search(text):
                return [FollowupAction("action_cancel_booking")]
            if says_no(message):
                return [FollowupAction("action_keep_booking")]
        if wants_a_person(text):
            return await ActionHandOff().run(dispatcher, tracker, domain)
        follow_up = fee_follow_up(tracker, text, get_config())  # "yg 10 thn?"
        if follow_up is not None:
            follow_up.send(dispatcher)
            return []
        if _ASKS_A_PRICE.search(text):  # "how much is an e-passport?"
            fee_reply(get_config(), text).send(dispatcher)
            return []
        if mentions_a_passport_need(text) and (not looks_like_question(message)
                                               or BOOKING_WORDS.search(text)):
            # "paspor sy rusak kena banjir, mau ganti"
            return await start_booking(dispatcher, tracker)
        topic = question_topic_reply(text, "")
        if topic is not None:  # a question the model was unsure of, but its words are clear
            topic.send(dispatcher)
        elif fallback_streak(tracker) < 2:
            Reply("utter_default").send(dispatcher)
        else:
            Reply("utter_fallback_menu", {}, menu_buttons()).send(dispatcher)
        return []
