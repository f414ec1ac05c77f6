"""End to end: chat over HTTP with the real Rasa server and action server, as an applicant
would, and find the booking in the slot store."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean.clock import FixedClock
from antrean.config import load_config
from antrean.service import BookingService
from antrean.store.engine import create_store_engine
from antrean.store.repository import SqlStore
from tests.conftest import NOW
from tests.e2e.servers import assistant, find_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    model = find_model()
    if model is None:
        pytest.fail("no trained model: run `make test` (it trains one) or `make train`")
    tmp = tmp_path_factory.mktemp("e2e")
    with assistant(tmp, model, {"LAW_FIXED_NOW": NOW.isoformat()}) as running:
        running.tmp = tmp
        yield running


def _service(tmp) -> BookingService:
    store = SqlStore(create_store_engine(f"sqlite:///{tmp / 'law.db'}"))
    return BookingService(load_config(), store, FixedClock(NOW))


def test_greeting_is_answered(bot):
    replies = bot.say("6281100000001", "halo")
    assert replies and replies[0]["text"]
    assert "utter_greet" in bot.bot_actions_since("6281100000001", 0)


def test_happy_path_booking_creates_a_real_booking(bot):
    sender = "6281234567890"
    script = [
        ("mau daftar antrian paspor", "service_type"),
        ("paspor baru", "passport_type"),
        ("yang elektronik", "applicant_count"),
        ("saya sendiri", "booking_date"),
        ("senin depan", "booking_time"),
        ("jam 9", "person_name"),
        ("Budi Santoso", "birth_date"),
        ("12-03-1990", "nik"),
    ]
    for turn, (text, asked_next) in enumerate(script):
        replies = bot.say(sender, text)
        assert replies, f"no reply to {text!r}"
        assert bot.tracker(sender)["slots"]["requested_slot"] == asked_next, (text, replies)
    bot.say(sender, "3171011203900003")
    assert bot.tracker(sender)["slots"]["requested_slot"] == "confirmed"  # the summary
    replies = bot.say(sender, "ya benar")
    assert "action_reserve_booking" in bot.bot_actions_since(sender, len(script) + 1)

    booking = _service(bot.tmp).active_booking(sender)
    assert booking is not None
    assert booking.slot.date == dt.date(2026, 12, 7) and booking.slot.time == dt.time(9, 0)
    assert booking.service_type == "baru" and booking.passport_type == "elektronik"
    assert [a.name for a in booking.applicants] == ["Budi Santoso"]
    text = " ".join(r.get("text", "") for r in replies)
    assert booking.code[:4] in text  # the code is in the confirmation
    assert "Senin, 7 Desember 2026" in text


def test_second_booking_from_the_same_number_is_refused_before_any_question(bot):
    sender = "6281234567890"  # booked in the previous test
    before = _service(bot.tmp).active_booking(sender)
    assert before is not None
    replies = bot.say(sender, "daftar antrean lagi dong")
    text = " ".join(r.get("text", "") for r in replies)
    assert before.code[:4] in text  # the refusal names the booking the number already has
    tracker = bot.tracker(sender)
    assert tracker["slots"]["can_book"] is False and not tracker["active_loop"]
    assert _service(bot.tmp).active_booking(sender) == before


def test_legacy_hash_format_starts_the_same_booking(bot):
    sender = "6281300000003"
    bot.say(sender, "#Siti Aminah#12031990#08122026")
    slots = bot.tracker(sender)["slots"]
    assert slots["person_name"] == "Siti Aminah"
    assert slots["birth_date"] == "1990-03-12"
    assert slots["booking_date"] == "2026-12-08"
    assert slots["requested_slot"] == "service_type"  # only what is missing is asked


def test_legacy_cancel_asks_before_cancelling(bot):
    sender = "6281234567890"  # has the booking from the happy path
    bot.say(sender, "#batal")
    assert "action_ask_cancel" in bot.bot_actions_since(sender, _user_turns(bot, sender) - 1)
    bot.say(sender, "iya batalkan")
    assert _service(bot.tmp).active_booking(sender) is None


def _user_turns(bot, sender) -> int:
    return sum(1 for e in bot.tracker(sender)["events"] if e["event"] == "user")


def _texts(replies) -> str:
    return " ".join(r.get("text", "") for r in replies)


def test_group_booking_from_one_rich_message_with_a_correction(bot):
    """Everything the first message says is taken; only the rest is asked; a correction at
    the summary is applied and checked before the booking is made."""
    sender = "6281400000004"
    bot.say(sender, "mau bikin paspor baru lusa jam 9 buat 2 orang")
    slots = bot.tracker(sender)["slots"]
    assert (slots["service_type"], slots["booking_date"], slots["booking_time"],
            slots["applicant_count"]) == ("baru", "2026-12-03", "09:00", 2)
    assert slots["requested_slot"] == "passport_type"
    for text, asked_next in [("elektronik", "person_name"), ("Budi Santoso", "birth_date"),
                             ("12-03-1990", "nik"), ("3171011203900003", "person_name"),
                             ("Sari Santoso", "birth_date"), ("05-06-1995", "nik")]:
        bot.say(sender, text)
        assert bot.tracker(sender)["slots"]["requested_slot"] == asked_next, text
    replies = bot.say(sender, "3171014506950002")  # a woman: day + 40
    assert "Pemohon (2 orang)" in _texts(replies)
    replies = bot.say(sender, "eh bukan kamis, jumat")
    assert "Jumat, 4 Desember 2026, 09.00" in _texts(replies)
    replies = bot.say(sender, "jamnya jam 10 aja")
    assert "Jumat, 4 Desember 2026, 10.00" in _texts(replies)
    assert "Pemohon (2 orang)" in _texts(replies)
    replies = bot.say(sender, "ya")
    booking = _service(bot.tmp).active_booking(sender)
    assert booking is not None and booking.slot.time == dt.time(10, 0)
    assert booking.slot.date == dt.date(2026, 12, 4)
    assert [a.name for a in booking.applicants] == ["Budi Santoso", "Sari Santoso"]
    assert "Budi Santoso dan Sari Santoso" in _texts(replies)


def test_question_mid_booking_then_back_and_stopping(bot):
    sender = "6281500000005"
    bot.say(sender, "daftar antrian dong")
    bot.say(sender, "paspor hilang")
    assert bot.tracker(sender)["slots"]["requested_slot"] == "passport_type"
    replies = bot.say(sender, "biayanya berapa ya?")
    assert "Rp" in _texts(replies)  # the fee answer, then the same question again
    tracker = bot.tracker(sender)
    assert tracker["active_loop"]["name"] == "booking_form"
    assert tracker["slots"]["requested_slot"] == "passport_type"
    assert tracker["slots"]["service_type"] == "hilang"  # nothing lost
    bot.say(sender, "gak jadi deh")
    tracker = bot.tracker(sender)
    assert not tracker["active_loop"] and tracker["slots"]["service_type"] is None


def test_not_understood_twice_offers_a_menu_and_staff_are_flagged(bot):
    sender = "6281600000006"
    # The intent is sent directly: which texts the classifier rejects is the NLU tests' job
    # (tests/nlu); here the dialogue must escalate on the second miss.
    first = bot.say(sender, "/nlu_fallback")
    second = bot.say(sender, "/nlu_fallback")
    assert not first[0].get("buttons") and second[0].get("buttons")
    payloads = [b["payload"] for b in second[0]["buttons"]]
    assert "/request_human" in payloads
    bot.say(sender, "/request_human")
    flagged = [h for h in _service(bot.tmp).handoffs() if h.phone == sender]
    assert len(flagged) == 1 and flagged[0].reason == "request_human"


def test_reschedule_once_then_cancel(bot):
    sender = "6281700000007"
    for text in ["daftar antrian", "perpanjangan", "biasa", "1", "senin depan", "jam 8",
                 "Dewi Lestari", "04-05-1992", "3171014405920002", "ya"]:
        bot.say(sender, text)
    booked = _service(bot.tmp).active_booking(sender)
    assert booked is not None and booked.slot.date == dt.date(2026, 12, 7)
    bot.say(sender, "mau ganti jadwal")
    bot.say(sender, "rabu depan")
    bot.say(sender, "jam 11")
    # nothing moves before the applicant confirms the new schedule
    assert _service(bot.tmp).active_booking(sender).slot == booked.slot
    bot.say(sender, "iya pindahin")
    moved = _service(bot.tmp).active_booking(sender)
    assert (moved.slot.date, moved.slot.time) == (dt.date(2026, 12, 9), dt.time(11, 0))
    assert moved.reschedule_count == 1
    replies = bot.say(sender, "mau ganti jadwal lagi")
    assert not bot.tracker(sender)["active_loop"]
    assert _service(bot.tmp).active_booking(sender).slot == moved.slot
    assert replies
    bot.say(sender, "batalin antrian saya")
    bot.say(sender, "iya")
    assert _service(bot.tmp).active_booking(sender) is None
