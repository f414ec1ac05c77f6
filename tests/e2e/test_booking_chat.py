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
        ("yang elektronik", "booking_date"),
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
    assert "action_booking_summary" in bot.bot_actions_since(sender, len(script))
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


def test_second_booking_from_the_same_number_is_refused(bot):
    sender = "6281234567890"  # booked in the previous test
    before = _service(bot.tmp).active_booking(sender)
    assert before is not None
    for text in ["daftar antrean lagi dong", "perpanjangan", "biasa", "selasa depan", "jam 10",
                 "Ani Lestari", "04-05-1992", "3171014405920002", "iya"]:
        bot.say(sender, text)
    events = bot.tracker(sender)["events"]
    assert any(e["event"] == "slot" and e["name"] == "booking_refusal"
               and e["value"] == "number_has_booking" for e in events)
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
