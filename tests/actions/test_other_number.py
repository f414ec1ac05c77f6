"""Another number's booking (issue 14, point 1): the code shows only validity, day and time;
cancelling or moving needs the first applicant's date of birth; failed look-ups are limited
per number; the owner's number is owed a notice."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ActionReserveBooking
from actions.manage import (
    ActionAskCancel,
    ActionCancelBooking,
    ActionCheckBooking,
    ActionKeepBooking,
    ActionRescheduleBooking,
    ActionStartReschedule,
)
from actions.owner_check import ValidateCancelCheckForm
from antrean.access import BookingAccess
from tests.actions.conftest import make_tracker, responses, run_action
from tests.actions.test_booking_actions import COMPLETE

OWNER, STRANGER = "6281200000001", "6281999999999"
BORN = "1990-03-12"  # Budi's, the first applicant of COMPLETE


def booked(service) -> str:
    run_action(ActionReserveBooking(), make_tracker(OWNER, slots=COMPLETE))
    return service.active_booking(OWNER).code


def naming(code: str, intent: str, **kwargs) -> dict:
    return {"sender": STRANGER, "intent": intent,
            "entities": [{"entity": "booking_code", "value": code}], **kwargs}


def slots_of(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def followups(events: list[dict]) -> list[str]:
    return [e["name"] for e in events if e["event"] == "followup"]


def after_the_form(code: str, wanted: str, born: str) -> dict:
    """The slots when the date-of-birth form has just ended."""
    return {"booking_code": code, "owner_check": wanted, "owner_birth_date": born}


def test_a_code_from_another_number_shows_only_validity_day_and_time(action_env):
    code = booked(action_env)
    _, messages = run_action(ActionCheckBooking(), make_tracker(**naming(code, "check_booking")))
    assert responses(messages) == ["utter_booking_status_other_number"]
    assert set(messages[0]) >= {"date_text", "time_text"}
    assert not {"names", "code", "service_text"} & set(messages[0])


@pytest.mark.parametrize("action, wanted, form", [
    (ActionAskCancel(), "cancel", "cancel_check_form"),
    (ActionStartReschedule(), "reschedule", "reschedule_check_form"),
])
def test_changing_another_numbers_booking_asks_for_the_first_date_of_birth(
        action_env, action, wanted, form):
    code = booked(action_env)
    events, messages = run_action(action, make_tracker(**naming(code, "cancel_booking")))
    assert messages == []  # the form asks; nothing about the booking is said
    assert followups(events) == [form]
    assert slots_of(events)["owner_check"] == wanted
    assert slots_of(events)["booking_code"] == code
    assert action_env.active_booking(OWNER) is not None


def test_a_wrong_date_of_birth_is_refused_and_the_booking_stays(action_env):
    code = booked(action_env)
    tracker = make_tracker(STRANGER, slots=after_the_form(code, "cancel", "1990-03-13"))
    events, messages = run_action(ActionAskCancel(), tracker)
    assert responses(messages) == ["utter_owner_check_failed"]
    assert not {"code", "date_text", "time_text", "names"} & set(messages[0])
    assert slots_of(events)["booking_code"] is None
    assert slots_of(events)["owner_verified"] is None
    # "ya" after the refusal cancels nothing
    _, messages = run_action(ActionCancelBooking(), make_tracker(STRANGER, slots=slots_of(events)))
    assert responses(messages) == ["utter_no_active_booking"]
    assert action_env.active_booking(OWNER).code == code
    assert BookingAccess(action_env).owner_notices() == []


def test_the_right_date_of_birth_cancels_after_yes_and_the_owner_is_owed_a_notice(action_env):
    code = booked(action_env)
    tracker = make_tracker(STRANGER, slots=after_the_form(code, "cancel", BORN))
    events, messages = run_action(ActionAskCancel(), tracker)
    assert responses(messages) == ["utter_confirm_cancel_other_number"]
    assert "names" not in messages[0]
    slots = slots_of(events)
    assert slots["owner_verified"] == code and slots["booking_code"] == code
    assert slots["owner_check"] is None and slots["owner_birth_date"] is None

    events, messages = run_action(ActionCancelBooking(), make_tracker(STRANGER, slots=slots))
    assert responses(messages) == ["utter_cancelled"]
    assert "names" not in messages[0]
    assert action_env.active_booking(OWNER) is None
    [notice] = BookingAccess(action_env).owner_notices()
    assert (notice.booking_code, notice.phone, notice.event, notice.by_phone) == (
        code, OWNER, "cancelled", STRANGER)


def test_the_right_date_of_birth_lets_another_number_move_the_booking(action_env):
    code = booked(action_env)
    tracker = make_tracker(STRANGER, slots=after_the_form(code, "reschedule", BORN))
    events, messages = run_action(ActionStartReschedule(), tracker)
    assert responses(messages) == ["utter_reschedule_current"]
    slots = slots_of(events)
    assert slots["reschedule_allowed"] is True and slots["owner_verified"] == code

    moved = {**slots, "booking_date": "2026-12-08", "booking_time": "10:00"}
    _, messages = run_action(ActionRescheduleBooking(), make_tracker(STRANGER, slots=moved))
    assert responses(messages) == ["utter_rescheduled"]
    booking = action_env.active_booking(OWNER)
    assert (booking.slot.date, booking.slot.time) == (dt.date(2026, 12, 8), dt.time(10))
    [notice] = BookingAccess(action_env).owner_notices()
    assert (notice.event, notice.slot.date) == ("rescheduled", dt.date(2026, 12, 8))


def test_a_wrong_date_of_birth_does_not_start_a_move(action_env):
    code = booked(action_env)
    tracker = make_tracker(STRANGER, slots=after_the_form(code, "reschedule", "1991-03-12"))
    events, messages = run_action(ActionStartReschedule(), tracker)
    assert responses(messages) == ["utter_owner_check_failed"]
    assert slots_of(events)["reschedule_allowed"] is False


def test_a_code_in_the_slot_alone_changes_nothing_from_another_number(action_env):
    # Without the date of birth the change actions refuse, whatever the slots say.
    code = booked(action_env)
    _, messages = run_action(ActionCancelBooking(),
                             make_tracker(STRANGER, slots={"booking_code": code}))
    assert responses(messages) == ["utter_change_from_other_number"]
    slots = {"booking_code": code, "booking_date": "2026-12-08", "booking_time": "10:00",
             "owner_verified": "SOMEOTHER"}
    _, messages = run_action(ActionRescheduleBooking(), make_tracker(STRANGER, slots=slots))
    assert responses(messages) == ["utter_change_from_other_number"]
    assert action_env.active_booking(OWNER).slot.date == dt.date(2026, 12, 7)


def test_the_owner_still_changes_its_own_booking_without_a_date_of_birth(action_env):
    code = booked(action_env)
    events, messages = run_action(ActionAskCancel(), make_tracker(
        OWNER, intent="cancel_booking", entities=[{"entity": "booking_code", "value": code}]))
    assert responses(messages) == ["utter_confirm_cancel"] and followups(events) == []
    _, messages = run_action(ActionCancelBooking(), make_tracker(OWNER, slots={"booking_code": code}))
    assert responses(messages) == ["utter_cancelled"]
    assert BookingAccess(action_env).owner_notices() == []


def test_stopping_the_check_forgets_it(action_env):
    events, messages = run_action(ActionKeepBooking(), make_tracker(
        STRANGER, slots=after_the_form("X", "cancel", BORN)))
    assert {k: slots_of(events)[k] for k in ("owner_check", "owner_birth_date",
                                            "owner_verified")} == dict.fromkeys(
        ("owner_check", "owner_birth_date", "owner_verified"))


def test_failed_look_ups_are_limited_per_number(action_env):
    code = booked(action_env)
    for made_up in ("ABCD2345", "ABCD2346", "ABCD2347", "ABCD2348"):
        _, messages = run_action(ActionCheckBooking(),
                                 make_tracker(**naming(made_up, "check_booking")))
        assert responses(messages) == ["utter_code_not_found"]
    # a wrong date of birth counts too: the fifth failure
    run_action(ActionAskCancel(), make_tracker(
        STRANGER, slots=after_the_form(code, "cancel", "1980-01-01")))
    # now even the right code is not looked up, and the reply says when to try again
    _, messages = run_action(ActionCheckBooking(), make_tracker(**naming(code, "check_booking")))
    assert responses(messages) == ["utter_lookup_limited"]
    assert messages[0]["retry_time"] == "10.00 WIB"  # an hour after the first failure (09:00)
    events, messages = run_action(ActionAskCancel(), make_tracker(
        STRANGER, slots=after_the_form(code, "cancel", BORN)))
    assert responses(messages) == ["utter_lookup_limited"]
    assert slots_of(events)["owner_verified"] is None
    # another number is not limited, nor the owner checking its own booking
    _, messages = run_action(ActionCheckBooking(), make_tracker(
        "6281300000003", intent="check_booking",
        entities=[{"entity": "booking_code", "value": code}]))
    assert responses(messages) == ["utter_booking_status_other_number"]
    _, messages = run_action(ActionCheckBooking(), make_tracker(OWNER, intent="check_booking"))
    assert responses(messages) == ["utter_booking_status"]


CHECK_DOMAIN = {"forms": {"cancel_check_form": {"required_slots": ["owner_birth_date"]}}}


def run_check_form(text: str, intent: str = "inform") -> tuple[dict, list[dict]]:
    tracker = make_tracker(STRANGER, slots={"requested_slot": "owner_birth_date"}, text=text,
                           intent=intent, active_loop="cancel_check_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateCancelCheckForm().run(dispatcher, tracker, CHECK_DOMAIN))
    return slots_of(events), dispatcher.messages


@pytest.mark.parametrize("text, intent, expected, response", [
    ("12-03-1990", "inform", "1990-03-12", None),
    ("lahir 12 maret 1990", "inform", "1990-03-12", None),
    ("12031990", "inform", "1990-03-12", None),
    ("gak tau", "inform", None, "utter_invalid_birth_date"),
    ("12-03-2030", "inform", None, "utter_invalid_birth_date"),
])
def test_the_date_of_birth_is_read_as_people_type_it(action_env, text, intent, expected,
                                                     response):
    slots, messages = run_check_form(text, intent)
    assert slots.get("owner_birth_date") == expected
    assert responses(messages)[:1] == ([response] if response else [])


def test_a_question_during_the_check_is_left_to_the_rules(action_env):
    slots, messages = run_check_form("syaratnya apa aja?", "ask_requirements")
    assert "owner_birth_date" not in slots and messages == []
