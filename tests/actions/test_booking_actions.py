"""Booking actions on tracker fixtures: events and response names."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.answers import ActionAnswerQuestion
from actions.booking import ActionReserveBooking
from actions.booking_form import ValidateBookingForm
from actions.form_questions import ActionAskBookingDate, ActionAskBookingTime, ActionAskNik
from actions import runtime
from actions.manage import (
    ActionAskCancel,
    ActionCancelBooking,
    ActionCheckBooking,
    ActionStartReschedule,
)
from tests.actions.conftest import (
    make_tracker,
    responses,
    run_action,
    run_form,
    run_validator,
)

BUDI = {"name": "Budi Santoso", "birth_date": "1990-03-12", "nik": "3171011203900003"}


def draft(*people: dict, **slots: str) -> dict:
    """The slots of a booking ready to confirm: schedule plus the complete applicants."""
    people = people or (BUDI,)
    return {"service_type": "baru", "passport_type": "elektronik", "booking_date": "2026-12-07",
            "booking_time": "09:00", "applicant_count": len(people),
            "applicants": [dict(p) for p in people], **slots}


COMPLETE = draft()


@pytest.mark.parametrize(
    "asked, text, expected, response",
    [
        ("service_type", "perpanjangan", {"service_type": "penggantian"}, None),
        ("service_type", "paspor ilang kak", {"service_type": "hilang"}, None),
        ("service_type", "visa", {"service_type": None}, "utter_invalid_service_type"),
        ("passport_type", "non elektronik", {"passport_type": "biasa"}, None),
        ("passport_type", "e-paspor", {"passport_type": "elektronik"}, None),
        ("passport_type", "terserah", {"passport_type": "biasa"}, "utter_passport_type_picked"),
        ("booking_date", "senin depan", {"booking_date": "2026-12-07"}, None),
        ("booking_date", "senen", {"booking_date": "2026-12-07"}, None),
        ("booking_date", "next monday", {"booking_date": "2026-12-07"}, None),
        ("booking_date", "25 des", {"booking_date": None}, "utter_refused_day_closed_holiday"),
        ("booking_date", "sabtu", {"booking_date": None}, "utter_refused_day_closed_weekend"),
        ("booking_date", "1 feb 2027", {"booking_date": None}, "utter_refused_outside_window"),
        ("booking_date", "sekarang", {"booking_date": None}, "utter_refused_outside_window"),
        ("booking_date", "kapan2 aja", {"booking_date": None}, "utter_invalid_booking_date"),
        ("booking_time", "jam 9", {"booking_time": "09:00"}, None),
        ("booking_time", "9 am", {"booking_time": "09:00"}, None),
        ("booking_time", "terserah", {"booking_time": "08:00"}, None),
        ("booking_time", "jam 9 lewat 15", {"booking_time": None}, "utter_refused_not_a_slot"),
        ("person_name", "nama saya budi santoso", {"person_name": "budi santoso"}, None),
        ("person_name", "José Ramos-Horta", {"person_name": "José Ramos-Horta"}, None),
        ("person_name", "Budi 😀 Santoso", {"person_name": None}, "utter_name_without_emoji"),
        ("person_name", "3171011203900003", {"nik": "3171011203900003"}, None),
        ("birth_date", "12-03-1990", {"birth_date": "1990-03-12"}, None),
        ("birth_date", "12031990", {"birth_date": "1990-03-12"}, None),
        ("birth_date", "12 maret 1990", {"birth_date": "1990-03-12"}, None),
        ("birth_date", "12-03-2030", {"birth_date": None}, "utter_invalid_birth_date"),
        ("nik", "3171 0112 0390 0003", {"nik": "3171011203900003"}, None),
        ("nik", "12345", {"nik": None}, "utter_invalid_nik"),
        ("nik", "3171011303900003", {"nik": None}, "utter_refused_nik_birth_date_mismatch"),
    ],
)
def test_each_answer_is_read_for_the_question_asked(action_env, asked, text, expected, response):
    slots = {"birth_date": "1990-03-12", "applicant_count": 1, "booking_date": "2026-12-07"}
    slots.pop(asked, None)
    values, messages = run_form(text, asked, slots)
    assert {k: values[k] for k in expected} == expected, values
    assert responses(messages)[:1] == ([response] if response else [])


def test_closed_day_offers_other_days_as_choices(action_env):
    _, messages = run_validator(ValidateBookingForm(), "booking_date", "2026-12-25",
                                make_tracker(text="25 des"))
    buttons = messages[0]["buttons"]
    assert buttons and all(b["payload"].startswith('/inform{"date":"2026-12-') for b in buttons)
    # the three nearest open days, in calendar order
    assert [b["payload"].split('"')[3] for b in buttons] == ["2026-12-23", "2026-12-24",
                                                              "2026-12-28"]


def test_full_time_offers_nearest_times(action_env):
    action_env.set_capacity(dt.date(2026, 12, 7), dt.time(9), 0)
    result, messages = run_validator(
        ValidateBookingForm(), "booking_time", "09:00",
        make_tracker(slots={"booking_date": "2026-12-07"}, text="jam 9"))
    assert result == {"booking_time": None, "skip_next_question": True}
    assert responses(messages) == ["utter_slot_full_pick_time"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/inform{"time":"08:00"}', '/inform{"time":"08:30"}', '/inform{"time":"09:30"}']


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
    times = [b["payload"][-7:-2] for b in messages[0]["buttons"]]
    # 14 free slots, ten choices: every whole hour (09.00 included), then morning half hours
    assert len(times) == 10 and times[0] == "08:00" and times[-1] == "14:00"
    assert times == sorted(set(times)) and "09:00" in times and "12:00" in times


def test_reserve_confirms_and_clears_the_draft(action_env):
    events, messages = run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    assert responses(messages) == ["utter_booking_confirmed"]
    booking = action_env.active_booking("6281200000001")
    assert booking is not None
    assert {"event": "slot", "name": "booking_code", "value": booking.code} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events]
    assert {e["name"]: e["value"] for e in events if e["name"] == "applicants"} == {
        "applicants": None}
    variables = messages[0]
    assert variables["date_text"] == "Senin, 7 Desember 2026"
    assert variables["arrive_minutes"] == 30 and "e-KTP" in variables["documents"]


def test_second_reservation_is_refused_by_number(action_env):
    run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    other = draft({"name": "Siti Aminah", "nik": "3171015204920002", "birth_date": "1992-04-12"})
    events, messages = run_action(ActionReserveBooking(), make_tracker(slots=other))
    assert responses(messages) == ["utter_refused_number_has_booking"]
    assert events[0]["value"] == "number_has_booking"


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
    run_action(ActionReserveBooking(), make_tracker(slots=draft(booking_date="2026-12-02")))
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
    elderly = draft({**BUDI, "birth_date": "1960-03-12", "nik": "3171011203600003"})
    _, messages = run_action(ActionReserveBooking(), make_tracker(slots=elderly))
    assert responses(messages) == ["utter_booking_confirmed", "utter_priority_info"]
    child = draft({**BUDI, "birth_date": "2023-03-12", "nik": "3171011203230004"})
    _, messages = run_action(ActionReserveBooking(), make_tracker("62812", slots=child))
    assert responses(messages) == ["utter_booking_confirmed", "utter_priority_info"]


def test_service_and_passport_questions_offer_choices(action_env):
    from actions.form_questions import ActionAskPassportType, ActionAskServiceType

    _, messages = run_action(ActionAskServiceType(), make_tracker())
    assert responses(messages) == ["utter_ask_service_type"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/inform{"service_type":"%s"}' % v for v in ("baru", "penggantian", "hilang", "rusak")]
    _, messages = run_action(ActionAskPassportType(), make_tracker())
    assert len(messages[0]["buttons"]) == 2


# --- group bookings ----------------------------------------------------------------------
def required(tracker) -> list[str]:
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    return asyncio.run(ValidateBookingForm().required_slots([], CollectingDispatcher(),
                                                            tracker, {}))


@pytest.mark.parametrize("value, text, expected, response", [
    ("2", "2", 2, None),
    (None, "berdua sama istri", 2, None),
    (None, "saya sendiri aja", 1, None),
    (None, "sy aja", 1, None),
    (None, "gw doang", 1, None),
    (None, "just me", 1, None),
    (None, "saya sama suami dan 2 anak", 4, None),
    ("6", "6 orang", None, "utter_refused_too_many_applicants"),
    (None, "banyak", None, "utter_invalid_applicant_count"),
])
def test_applicant_count_validation(action_env, value, text, expected, response):
    result, messages = run_form(text, "applicant_count")
    assert result["applicant_count"] == expected
    assert responses(messages) == ([response] if response else [])


def test_each_person_of_a_group_is_asked_for_in_turn(action_env):
    slots = draft(applicant_count=2)
    slots["applicants"] = []
    assert required(make_tracker(slots=slots))[-4:] == ["person_name", "birth_date", "nik",
                                                        "confirmed"]
    # The first person's NIK completes them; the form empties the three slots for the next.
    first = {**slots, "person_name": "Budi Santoso", "birth_date": "1990-03-12"}
    result, _ = run_form("3171011203900003", "nik", first)
    assert {k: result[k] for k in ("applicants", "person_name", "birth_date", "nik")} == {
        "applicants": [BUDI], "person_name": None, "birth_date": None, "nik": None}
    twin = {**slots, "applicants": [BUDI], "person_name": "Bayu Santoso",
            "birth_date": "1990-03-12"}
    _, messages = run_action(ActionAskNik(), make_tracker(slots=twin))
    assert messages[0]["name"] == "Bayu Santoso"
    # The same NIK twice in one group is refused; the twin's own NIK completes the group.
    result, messages = run_form("3171011203900003", "nik", twin)
    assert result["nik"] is None and responses(messages) == ["utter_refused_duplicate_nik"]
    result, _ = run_form("3171011203900004", "nik", twin)
    assert len(result["applicants"]) == 2
    assert "person_name" not in required(make_tracker(slots={**slots, **result}))


def test_a_person_is_complete_whatever_order_the_three_answers_came_in(action_env):
    # date of birth and NIK typed at the name question, the name last: one person, checked
    slots = draft(applicant_count=1)
    slots["applicants"] = []
    values, _ = run_form("12-03-1990", "person_name", slots)
    assert values["birth_date"] == "1990-03-12"
    values, _ = run_form("3171011203900003", "person_name", {**slots, **values})
    assert values["nik"] == "3171011203900003"
    filled = {**slots, "birth_date": "1990-03-12", "nik": "3171011203900003"}
    values, _ = run_form("Budi Santoso", "person_name", filled)
    assert values["applicants"] == [BUDI] and values["nik"] is None
    # a NIK that disagrees with a date of birth given after it is refused then
    wrong = {**slots, "nik": "3171011303900003", "person_name": "Budi Santoso"}
    values, messages = run_form("12-03-1990", "birth_date", wrong)
    assert values["nik"] is None and "applicants" not in values
    assert responses(messages) == ["utter_refused_nik_birth_date_mismatch"]


def test_group_booking_takes_a_place_per_person(action_env):
    siti = {"name": "Siti Aminah", "birth_date": "1992-04-12", "nik": "3171015204920002"}
    _, messages = run_action(ActionReserveBooking(), make_tracker(slots=draft(BUDI, siti)))
    assert responses(messages) == ["utter_booking_confirmed"]
    assert messages[0]["names"] == "Budi Santoso dan Siti Aminah"
    nine = next(s for s in action_env.availability(dt.date(2026, 12, 7), dt.date(2026, 12, 7))
                if s.slot.time == dt.time(9))
    assert nine.taken == 2


def test_a_day_without_room_for_the_group_offers_other_days(action_env):
    for slot_time in action_env.slot_times:
        action_env.set_capacity(dt.date(2026, 12, 7), slot_time, 2)
    tracker = make_tracker(slots={"applicant_count": 3}, text="senin depan")
    result, messages = run_validator(ValidateBookingForm(), "booking_date", "2026-12-07", tracker)
    assert result == {"booking_date": None, "skip_next_question": True}
    assert responses(messages) == ["utter_day_full"]
    assert messages[0]["buttons"] and '"2026-12-07"' not in messages[0]["buttons"][0]["payload"]
    # The same day is fine for two.
    result, _ = run_validator(ValidateBookingForm(), "booking_date", "2026-12-07",
                              make_tracker(slots={"applicant_count": 2}, text="senin depan"))
    assert result == {"booking_date": "2026-12-07"}


def test_nik_already_booked_elsewhere_is_refused_when_typed(action_env):
    run_action(ActionReserveBooking(), make_tracker("6281299990000", slots=COMPLETE))
    tracker = make_tracker(slots={"person_name": "Budi Santoso", "birth_date": "1990-03-12"})
    result, messages = run_validator(ValidateBookingForm(), "nik", "3171011203900003", tracker)
    assert result == {"nik": None}
    assert responses(messages) == ["utter_refused_nik_has_booking"]
    assert messages[0]["nik_masked"].endswith("0003") and "3171" not in messages[0]["nik_masked"]


# --- start, change, stop ----------------------------------------------------------------------
def test_a_number_with_a_booking_is_told_before_any_question(action_env):
    from actions.booking import ActionStartBooking

    events, messages = run_action(ActionStartBooking(), make_tracker(intent="book_queue"))
    assert messages == [] and events[0]["value"] is True
    run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    events, messages = run_action(ActionStartBooking(), make_tracker(intent="book_queue"))
    assert responses(messages) == ["utter_refused_number_has_booking"]
    assert events[0] == {**events[0], "name": "can_book", "value": False}


def test_summary_lists_every_person_with_masked_nik(action_env):
    from actions.summary import ActionAskConfirmed

    siti = {"name": "Siti Aminah", "birth_date": "1992-04-12", "nik": "3171015204920002"}
    _, messages = run_action(ActionAskConfirmed(), make_tracker(slots=draft(BUDI, siti)))
    assert responses(messages) == ["utter_booking_summary"]
    text = messages[0]["applicants_text"]
    assert "1. Budi Santoso" in text and "2. Siti Aminah" in text
    assert "3171011203900003" not in text and "0003" in text
    assert messages[0]["count"] == 2


@pytest.mark.parametrize("text, expected", [
    ("tanggalnya jumat aja", {"booking_date": "2026-12-04"}),
    # "eh bukan kamis, jumat": the value named last is the one meant
    ("eh bukan kamis, jumat", {"booking_date": "2026-12-04"}),
    ("jamnya 10 aja", {"booking_time": "10:00"}),
    ("jadi 2 orang", {"applicant_count": 2}),
    ('/inform{"field":"booking_date"}', {"booking_date": None, "booking_time": None}),
    ('/inform{"field":"applicants"}',
     {"applicant_count": None, "applicants": [], "person_name": None, "birth_date": None,
      "nik": None}),
    ("ya benar", {"confirmed": True}),
    ("ok lanjut", {"confirmed": True}),
])
def test_replies_at_the_summary_confirm_or_change_the_draft(action_env, text, expected):
    entities = []
    if text.startswith("/inform"):
        entities = [{"entity": "field", "value": text.split('"')[3]}]
    values, messages = run_form(text, "confirmed", COMPLETE, entities=entities)
    assert {k: values.get(k, "unset") for k in expected} == expected, values
    assert values.get("confirmed") in (None, True)


def test_a_no_at_the_summary_asks_which_part_without_repeating_it(action_env):
    values, messages = run_form("ada yang salah", "confirmed", COMPLETE, intent="deny")
    assert responses(messages) == ["utter_ask_change"]
    assert values["skip_next_question"] is True and values["confirmed"] is None
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/inform{"field":"booking_date"}' in payloads and "/cancel_booking" in payloads


def test_a_question_at_the_summary_is_left_to_the_rules(action_env):
    values, messages = run_form("perlu bawa apa aja", "confirmed", COMPLETE,
                                intent="ask_requirements")
    assert values == {} and messages == []  # Rasa rejects the form; the rule answers


def test_stopping_half_way_ends_the_form_and_drops_the_draft(action_env):
    from actions.booking import ActionDiscardBooking

    events, messages = run_action(ActionDiscardBooking(),
                                  make_tracker(slots=COMPLETE, active_loop="booking_form"))
    assert responses(messages) == ["utter_booking_discarded"]
    assert events[0]["event"] == "active_loop" and events[0]["name"] is None
    assert {e["name"]: e["value"] for e in events[1:]}["booking_date"] is None


# --- fallback and hand-off -----------------------------------------------------------------
def _user(text: str, intent: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def test_fallback_asks_to_rephrase_then_offers_a_menu_with_staff(action_env):
    from actions.answers import ActionFallback

    tracker = make_tracker(intent="nlu_fallback")
    tracker.events = [_user("halo", "greet"), {"event": "bot"}, _user("asdf qwer", "nlu_fallback")]
    _, messages = run_action(ActionFallback(), tracker)
    assert responses(messages) == ["utter_default"]
    tracker.events += [{"event": "bot"}, _user("zxcv", "nlu_fallback")]
    _, messages = run_action(ActionFallback(), tracker)
    assert responses(messages) == ["utter_fallback_menu"]
    assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]
    assert len(messages[0]["buttons"]) <= 10  # fits a WhatsApp list


def test_request_human_flags_the_conversation_for_staff(action_env):
    tracker = make_tracker(intent="request_human", text="mau ngomong sama petugas")
    tracker.events = [_user("nik 3171011203900003 ditolak terus", "inform"),
                      _user("mau ngomong sama petugas", "request_human")]
    _, messages = run_action(ActionAnswerQuestion(), tracker)
    assert responses(messages) == ["utter_request_human"]
    assert messages[0]["contact_phone"]
    [flagged] = action_env.handoffs()
    assert flagged.phone == "6281200000001" and flagged.reason == "request_human"
    assert "3171011203900003" not in flagged.message and "petugas" in flagged.message


def test_a_code_from_another_number_shows_only_validity_day_and_time(action_env):
    _, _ = run_action(ActionReserveBooking(), make_tracker(slots=COMPLETE))
    code = action_env.active_booking("6281200000001").code
    tracker = make_tracker("6281999999999", intent="check_booking",
                           entities=[{"entity": "booking_code", "value": code}])
    _, messages = run_action(ActionCheckBooking(), tracker)
    assert responses(messages) == ["utter_booking_status_other_number"]
    assert set(messages[0]) >= {"date_text", "time_text"} and "names" not in messages[0]
    # cancelling or moving it from there first asks for the first applicant's date of birth
    # (tests/actions/test_other_number.py), and the booking stays
    for action in (ActionAskCancel(), ActionStartReschedule()):
        events, messages = run_action(action, tracker)
        assert messages == [] and [e["name"] for e in events if e["event"] == "followup"]
    assert action_env.active_booking("6281200000001") is not None


def test_a_made_up_code_is_not_found(action_env):
    tracker = make_tracker(intent="check_booking",
                           entities=[{"entity": "booking_code", "value": "ABCD2345"}])
    _, messages = run_action(ActionCheckBooking(), tracker)
    assert responses(messages) == ["utter_code_not_found"]


def test_availability_lists_next_days_and_starts_a_booking_from_a_choice(action_env):
    _, messages = run_action(ActionAnswerQuestion(), make_tracker(intent="ask_availability"))
    assert responses(messages) == ["utter_availability"]
    assert "Rabu, 2 Desember 2026: 350 tempat, mulai 08.00 WIB" in messages[0]["days_text"]
    assert messages[0]["buttons"][0]["payload"] == '/book_queue{"date":"2026-12-02"}'


def test_availability_of_a_named_day_gives_its_free_times(action_env):
    action_env.set_capacity(dt.date(2026, 12, 7), dt.time(8), 0)
    asked = make_tracker(intent="ask_availability", text="senin depan masih ada?",
                         entities=[{"entity": "date", "value": "2026-12-07"}])
    _, messages = run_action(ActionAnswerQuestion(), asked)
    assert responses(messages) == ["utter_availability_day"]
    assert messages[0]["buttons"][0]["payload"] == (
        '/book_queue{"date":"2026-12-07","time":"08:30"}')  # 08:00 is full
    holiday = make_tracker(intent="ask_availability", text="tgl 25 buka?",
                           entities=[{"entity": "date", "value": "2026-12-25"}])
    _, messages = run_action(ActionAnswerQuestion(), holiday)
    assert responses(messages) == ["utter_refused_day_closed_holiday"]
    assert messages[0]["buttons"][0]["payload"].startswith('/book_queue{"date":"2026-12-')


def test_a_stray_choice_without_a_booking_in_progress_offers_the_menu(action_env):
    from actions.booking import ActionChangeBooking

    tracker = make_tracker(entities=[{"entity": "time", "value": "10:00"}])
    events, messages = run_action(ActionChangeBooking(), tracker)
    assert responses(messages) == ["utter_fallback_menu"]
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]


def test_a_correction_inside_the_form_takes_the_value_named_last(action_env):
    values, _ = run_form("eh bukan kamis, jumat", "booking_time",
                         {"booking_date": "2026-12-03"})
    assert values["booking_date"] == "2026-12-04"


def test_a_name_is_never_taken_from_capitalised_words_outside_the_name_question(action_env):
    values, _ = run_form("Paspor Baru", "service_type", intent="book_queue",
                         entities=[{"entity": "person_name", "value": "Baru"}])
    assert values.get("service_type") == "baru" and "person_name" not in values
    values, _ = run_form("Can I book a passport appointment?", None, intent="book_queue",
                         entities=[{"entity": "person_name", "value": "Can I"}])
    assert "person_name" not in values


def test_a_date_of_birth_is_never_the_booking_date(action_env):
    text = ("daftar paspor baru biasa tgl 3 desember jam 10 nama Siti Aminah lahir "
            "14 Februari 1982 NIK 3171015402820001")
    values, messages = run_form(text, None, intent="book_queue")
    assert values["booking_date"] == "2026-12-03" and values["booking_time"] == "10:00"
    assert values["applicants"] == [{"name": "Siti Aminah", "birth_date": "1982-02-14",
                                     "nik": "3171015402820001"}]
    assert messages == []


def test_a_name_or_birth_date_corrected_at_the_summary(action_env):
    values, _ = run_form("namanya salah harusnya Budi Santosa", "confirmed", COMPLETE)
    assert values["applicants"] == [{**BUDI, "name": "Budi Santosa"}]
    assert values["confirmed"] is None  # the summary comes back with the new name
    # a date of birth the NIK disagrees with: the NIK is asked again, nothing else
    values, messages = run_form("tanggal lahirnya salah, harusnya 13-03-1990", "confirmed",
                                COMPLETE)
    assert values["applicants"] == [] and values["nik"] is None
    assert (values["person_name"], values["birth_date"]) == ("Budi Santoso", "1990-03-13")
    assert responses(messages) == ["utter_refused_nik_birth_date_mismatch"]
    assert COMPLETE["booking_date"] == "2026-12-07"  # the schedule is untouched


def test_parts_of_the_month_offer_their_free_days(action_env):
    values, messages = run_form("pertengahan desember aja", "booking_date")
    assert values["booking_date"] is None and values["skip_next_question"] is True
    assert responses(messages) == ["utter_month_part_days"]
    days = [b["payload"].split('"')[3] for b in messages[0]["buttons"]]
    assert days and all("2026-12-11" <= d <= "2026-12-20" for d in days)
    # "awal bulan depan" on 1 December is past the window: the nearest days instead
    _, messages = run_form("awal bulan depan", "booking_date")
    assert responses(messages) == ["utter_month_part_none"] and messages[0]["buttons"]


@pytest.mark.parametrize("text, response", [
    ("bentar ya, saya ambil KTP dulu", "utter_take_your_time"),
    ("lupa nik nya, ga tau", "utter_where_is_the_nik"),
])
def test_a_moment_or_a_missing_nik_keeps_the_question_open_without_not_understood(
        action_env, text, response):
    slots = {"person_name": "Budi Santoso", "birth_date": "1990-03-12", "applicant_count": 1}
    values, messages = run_form(text, "nik", slots)
    assert responses(messages) == [response]
    assert values["nik"] is None and values["skip_next_question"] is True


def test_not_knowing_an_answer_is_helped_not_taken_as_stopping(action_env):
    values, messages = run_form("gak tau, bingung", "passport_type", intent="deny")
    assert values == {"passport_type": None}
    assert responses(messages) == ["utter_invalid_passport_type"]
    # "gak jadi" still stops: nothing is read, the rules drop the booking
    values, messages = run_form("gak jadi deh", "passport_type", intent="deny")
    assert values == {} and messages == []
