"""The summary before a booking (or a move) is made.

What the reply to it means, and the summary itself, asked as the booking form's last question
(slot ``confirmed``).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import labels
from actions.form_questions import FormQuestion
from actions.form_state import STOP, applicants_of, latest
from actions.presenters import Reply, choices, refusal_reply
from actions.reading import Message, birth_date, nik
from actions.reading_replies import answered_name, introduced_name, says_no, says_yes
from actions.runtime import get_config, today
from antrean.indonesian import format_date, format_time
from antrean.nik import mask_nik
from antrean.rules import check_nik_for_form

# What each part named at the summary empties, so that the form asks for it again.
CHANGE_FIELDS: dict[str, tuple[str, ...]] = {
    "booking_date": ("booking_date", "booking_time"),
    "booking_time": ("booking_time",),
    "applicant_count": ("applicant_count",),
    "service_type": ("service_type",),
    "passport_type": ("passport_type",),
    "applicants": ("applicant_count", "applicants", "person_name", "birth_date", "nik"),
}
_FIELD_WORDS = (
    ("applicants", r"nama\w*|nik\w*|lahir\w*|data\s*(?:diri|pemohon|orang)?|ktp"),
    ("applicant_count", r"jumlah|berapa\s*orang|orangnya|org|pemohonnya"),
    ("booking_date", r"tanggal|tgl|hari|harinya|tanggalnya|jadwal"),
    ("booking_time", r"jam|jamnya|waktu|pukul"),
    ("service_type", r"layanan|layanannya"),
    ("passport_type", r"jenis|jenisnya|tipe|elektronik\s*atau\s*biasa"),
)

def _named_field(message: Message) -> str | None:
    field = message.entity("field")
    if field in CHANGE_FIELDS:
        return str(field)
    if message.is_payload:
        return None
    for name, words in _FIELD_WORDS:
        if re.search(rf"(?<!\w)(?:{words})(?!\w)", message.text, re.I):
            return name
    return None


_NEW_NAME = re.compile(
    r"nama\w*\s+(?:(?:salah|keliru|kurang)\w*\s*[,.]?\s*)?(?:harusnya|seharusnya|yang benar"
    r"|yg bener|yg benar|mestinya|jadi|diganti|ganti|ganti jadi)\s*:?\s*(?P<name>.+)$", re.I)


def _person_correction(message: Message, tracker: Tracker,
                       dispatcher: CollectingDispatcher) -> dict[str, Any] | None:
    """A one-person booking's name, date of birth or NIK corrected at the summary.

    "namanya salah harusnya …", "tanggal lahirnya 6 juni 1979"; None when there is none.

    A new date of birth that disagrees with the NIK sends the form back to the NIK.
    """
    people = applicants_of(tracker)
    if len(people) != 1 or message.is_payload:
        return None
    person = dict(people[0])
    matched = _NEW_NAME.search(message.text)
    name = introduced_name(message) or (matched and answered_name(
        Message(matched.group("name"))))
    born = birth_date(message, today(), asked=False)
    nik_typed = nik(message)
    if not (isinstance(name, str) and name) and born is None and nik_typed is None:
        return None
    if isinstance(name, str) and name:
        person["name"] = name
    if born is not None:
        person["birth_date"] = born.isoformat()
    if nik_typed is not None:
        person["nik"] = nik_typed
    refusal = check_nik_for_form(person["nik"], dt.date.fromisoformat(person["birth_date"]),
                                 [], 0)
    if refusal is None:
        return {"applicants": [person], "confirmed": None}
    refusal_reply(get_config(), refusal).send(dispatcher)
    # The NIK is asked again for this person; name and date of birth stay.
    return {"applicants": [], "person_name": person["name"],
            "birth_date": person["birth_date"], "nik": None, "confirmed": None}


def read_summary_reply(message: Message, read: dict[str, Any], tracker: Tracker,
                       dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """What a reply to the summary changes.

    "ya" confirms; new values were read already (the summary then comes back); "salah" asks
    which part; a part named is asked again.
    """
    corrections = {slot: value for slot, value in read.items()
                   if value is not None and tracker.get_slot(slot) != value}
    if corrections:
        return {}
    if tracker.active_loop_name == "reschedule_form" and says_no(message):
        return {}  # "tidak": the booking stays as it was (the rules keep it)
    if STOP.search(message.text):
        return {}  # "gak jadi": the rules stop the booking
    if tracker.active_loop_name != "reschedule_form":
        person = _person_correction(message, tracker, dispatcher)
        if person is not None:
            return person
    if says_yes(message) or (message.intent == "affirm" and message.confidence >= 0.7
                             and not says_no(message)):
        return {"confirmed": True}
    if read:  # the same value again ("jam 10" when it is 10 already): the summary again
        return {"confirmed": None}
    field = _named_field(message)
    if field:
        values: dict[str, Any] = {name: None for name in CHANGE_FIELDS[field]}
        if field == "applicants":
            values["applicants"] = []
        return values
    if says_no(message) or message.intent == "deny":
        buttons = choices(labels.CHANGE_BUTTONS, "field")
        buttons.append({"title": labels.STOP_BOOKING, "payload": "/cancel_booking"})
        Reply("utter_ask_change", {}, buttons).send(dispatcher)
        return {"confirmed": None, "skip_next_question": True}
    return {}


def booking_summary(tracker: Tracker) -> Reply:
    """The booking about to be made, with the buttons to confirm or change it."""
    config = get_config()
    slot = tracker.get_slot
    people = applicants_of(tracker)
    lines = []
    for number, person in enumerate(people, start=1):
        born = format_date(dt.date.fromisoformat(person["birth_date"])).split(", ")[1]
        prefix = f"{number}. " if len(people) > 1 else ""
        lines.append(labels.SUMMARY_PERSON_LINE.format(prefix=prefix, name=person["name"],
                                                       born=born, nik=mask_nik(person["nik"])))
    return Reply("utter_booking_summary", {
        "service_text": config.services.get(slot("service_type"), slot("service_type")),
        "passport_text": config.passport_types.get(slot("passport_type"),
                                                   slot("passport_type")),
        "date_text": format_date(dt.date.fromisoformat(slot("booking_date"))),
        "time_text": format_time(dt.time.fromisoformat(slot("booking_time"))),
        "count": len(people),
        "applicants_text": "\n".join(lines),
    }, [{"title": labels.YES_BOOK, "payload": "/affirm"},
        {"title": labels.SOMETHING_WRONG, "payload": "/deny"}])


def move_summary(tracker: Tracker) -> Reply:
    """The move about to be made (reschedule), asked before it happens."""
    day = dt.date.fromisoformat(tracker.get_slot("booking_date"))
    time = dt.time.fromisoformat(tracker.get_slot("booking_time"))
    return Reply("utter_confirm_reschedule",
                 {"date_text": format_date(day), "time_text": format_time(time)},
                 [{"title": labels.YES_MOVE, "payload": "/affirm"},
                  {"title": labels.NO_KEEP, "payload": "/deny"}])


class ActionAskConfirmed(FormQuestion):
    """Shows the summary (or, after "ada yang salah", waits for the part to change)."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        if tracker.active_loop_name == "reschedule_form":
            move_summary(tracker).send(dispatcher)
        else:
            booking_summary(tracker).send(dispatcher)


__all__ = ["ActionAskConfirmed", "read_summary_reply", "latest"]
