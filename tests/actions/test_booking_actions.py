"""Booking actions on tracker fixtures: events and response names."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.answers import ActionAnswerQuestion, ActionCheckBooking
from actions.booking import (
    ActionAskBookingDate,
    ActionAskBookingTime,
    ActionReserveBooking,
    ValidateBookingForm,
)
from actions import runtime
from actions.manage import ActionAskCancel, ActionCancelBooking, ActionStartReschedule
from tests.actions.conftest import make_tracker, responses, run_action, run_validator

COMPLETE = {
    "service_type": "baru", "passport_type": "elektronik", "booking_date": "2026-12-07",
    "booking_time": "09:00", "person_name": "Budi Santoso", "birth_date": "1990-03-12",
    "nik": "3171011203900003",
}


@pytest.mark.parametrize(
    "slot, value, text, expected, response",
    [
        ("service_type", "perpanjangan", "perpanjangan", "penggantian", None),
        ("service_type", "paspor ilang kak", "paspor ilang kak", "hilang", None),
        ("service_type", "visa", "visa", None, "utter_invalid_service_type"),
        ("passport_type", "non elektronik", "non elektronik", "biasa", None),
        ("passport_type", "e-paspor", "e-paspor", "elektronik", None),
        ("booking_date", "2026-12-07", "senin depan", "2026-12-07", None),
        ("booking_date", "2026-12-25", "25 des", None, "utter_refused_day_closed_holiday"),
        ("booking_date", "2026-12-05", "sabtu", None, "utter_refused_day_closed_weekend"),
        ("booking_date", "2027-02-01", "1 feb 2027", None, "utter_refused_outside_window"),
        ("booking_date", "xyz", "kapan2 aja", None, "utter_invalid_date"),
        ("booking_time", "09:00", "jam 9", "09:00", None),
        ("booking_time", "09:15", "jam 9 lewat 15", None, "utter_refused_not_a_slot"),
        ("person_name", "nama saya budi santoso", "", "Budi Santoso", None),
        ("person_name", "3171011203900003", "", None, "utter_invalid_person_name"),
        ("birth_date", "12-03-1990", "12-03-1990", "1990-03-12", None),
        ("birth_date", "12031990", "12031990", "1990-03-12", None),
        ("birth_date", "12-03-2030", "12-03-2030", None, "utter_invalid_birth_date"),
        ("nik", "3171 0112 0390 0003", "", "3171011203900003", None),
        ("nik", "12345", "", None, "utter_refused_invalid_nik_format"),
        ("nik", "3171011303900003", "", None, "utter_refused_nik_birth_date_mismatch"),
    ],
)
def test_form_validation(action_env, slot, value, text, expected, response):
    tracker = make_tracker(slots={"birth_date": "1990-03-12"}, text=text,
                           active_loop="booking_form")
    result, messages = run_validator(ValidateBookingForm(), slot, value, tracker)
    assert result == {slot: expected}
    assert responses(messages) == ([response] if response else [])


def test_closed_day_offers_other_days_as_choices(action_env):
    _, messages = run_validator(ValidateBookingForm(), "booking_date", "2026-12-25",
                                make_tracker(text="25 des"))
    buttons = messages[0]["buttons"]
    assert buttons and all(b["payload"].startswith('/inform{"date":"2026-12-') for b in buttons)
    assert '"2026-12-24"' in buttons[0]["payload"] or '"2026-12-28"' in buttons[0]["payload"]


def test_full_time_offers_nearest_times(action_env):
    action_env.set_capacity(dt.date(2026, 12, 7), dt.time(9), 0)
    result, messages = run_validator(
        ValidateBookingForm(), "booking_time", "09:00",
        make_tracker(slots={"booking_date": "2026-12-07"}, text="jam 9"))
    assert result == {"booking_time": None}
    assert responses(messages) == ["utter_slot_full_pick_time"]
    assert [b["payload"] for b in messages[0]["buttons"]][:2] == [
        '/inform{"time":"08:30"}', '/inform{"time":"09:30"}']


def test_date_choices_skip_closed_and_full_days(action_env):
    action_env.set_capacity(dt.date(2026, 12, 2), None, 0)
    _, messages = run_action(ActionAskBookingDate(), make_tracker())
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == 10
    assert '/inform{"date":"2026-12-03"}' == payloads[0]  # 2 Dec is full
    assert not any("2026-12-05" in p or "2026-12-06" in p for p in payloads)


def test_time_choices_are_the_days_free_slots(action_env):
    _, messages = run_action(ActionAskBookingTime(),
                             make_tracker(slots={"booking_date": "2026-12-07"}))
    assert messages[0]["response"] == "utter_ask_booking_time"
    assert messages[0]["buttons"][0]["payload"] == '/inform{"time":"08:00"}'


def test_reserve_confirms_and_clears_the_draft(action_env):
    events, messages = run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    assert responses(messages) == ["utter_booking_confirmed"]
    booking = action_env.active_booking("6281200000001")
    assert booking is not None
    assert {"event": "slot", "name": "booking_code", "value": booking.code} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events]
    assert {e["name"]: e["value"] for e in events if e["name"] == "nik"} == {"nik": None}
    variables = messages[0]
    assert variables["date_text"] == "Senin, 7 Desember 2026"
    assert variables["arrive_minutes"] == 30 and "e-KTP" in variables["documents"]


def test_second_reservation_is_refused_by_number(action_env):
    run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    other = {**COMPLETE, "nik": "3171015204920002", "birth_date": "1992-04-12"}
    events, messages = run_action(ActionReserveBooking(), make_tracker(slots=other))
    assert responses(messages) == ["utter_refused_number_has_booking"]
    assert events[-1]["value"] == "number_has_booking"


def test_check_cancel_and_rebook(action_env):
    _, messages = run_action(ActionCheckBooking(), make_tracker())
    assert responses(messages) == ["utter_no_active_booking"]
    run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    _, messages = run_action(ActionCheckBooking(), make_tracker())
    assert responses(messages) == ["utter_booking_status"]
    events, messages = run_action(ActionAskCancel(), make_tracker(intent="cancel_booking"))
    assert responses(messages) == ["utter_confirm_cancel"]
    code = events[0]["value"]
    _, messages = run_action(ActionCancelBooking(), make_tracker(slots={"booking_code": code}))
    assert responses(messages) == ["utter_cancelled"]
    assert action_env.active_booking("6281200000001") is None
    _, messages = run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    assert responses(messages) == ["utter_booking_confirmed"]


def test_reschedule_refused_after_the_deadline(action_env, monkeypatch):
    run_action(ActionReserveBooking(), make_tracker(slots={**COMPLETE,
                                                         "booking_date": "2026-12-02"}))
    _, messages = run_action(ActionStartReschedule(), make_tracker())
    assert responses(messages) == ["utter_reschedule_current"]  # 1 Dec: the day before
    monkeypatch.setenv("LAW_FIXED_NOW", "2026-12-02T07:00:00+07:00")  # the booked day
    runtime.reset_service()
    events, messages = run_action(ActionStartReschedule(), make_tracker())
    assert responses(messages) == ["utter_refused_reschedule_too_late"]
    assert {"reschedule_allowed": False} == {e["name"]: e["value"] for e in events
                                            if e["name"] == "reschedule_allowed"}


@pytest.mark.parametrize("intent, response", [
    ("ask_fee", "utter_fees"), ("ask_location", "utter_location"),
    ("ask_office_hours", "utter_office_hours"), ("ask_requirements", "utter_requirements"),
    ("ask_passport_status", "utter_passport_status"), ("request_human", "utter_request_human"),
    ("bot_challenge", "utter_bot_challenge"), ("out_of_scope", "utter_out_of_scope"),
    ("ask_availability", "utter_availability"),
])
def test_questions_are_answered_from_the_configuration(action_env, intent, response):
    _, messages = run_action(ActionAnswerQuestion(), make_tracker(intent=intent))
    assert responses(messages) == [response]


def test_fees_come_from_the_configuration(action_env):
    _, messages = run_action(ActionAnswerQuestion(), make_tracker(intent="ask_fee"))
    assert "Rp950.000" in messages[0]["fees"] and "Rp350.000" in messages[0]["fees"]


def test_priority_groups_are_told_about_walk_in_service(action_env):
    elderly = {**COMPLETE, "birth_date": "1960-03-12", "nik": "3171011203600003"}
    _, messages = run_action(ActionReserveBooking(), make_tracker(slots=elderly))
    assert responses(messages) == ["utter_booking_confirmed", "utter_priority_info"]
    child = {**COMPLETE, "birth_date": "2023-03-12", "nik": "3171011203230004"}
    _, messages = run_action(ActionReserveBooking(), make_tracker("62812", slots=child))
    assert responses(messages) == ["utter_booking_confirmed", "utter_priority_info"]


def test_service_and_passport_questions_offer_choices(action_env):
    from actions.booking import ActionAskPassportType, ActionAskServiceType

    _, messages = run_action(ActionAskServiceType(), make_tracker())
    assert responses(messages) == ["utter_ask_service_type"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/inform{"service_type":"%s"}' % v for v in ("baru", "penggantian", "hilang", "rusak")]
    _, messages = run_action(ActionAskPassportType(), make_tracker())
    assert len(messages[0]["buttons"]) == 2
