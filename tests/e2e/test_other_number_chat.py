"""End to end (issue 14, point 1): a booking made from number A, looked at and cancelled from
number B over HTTP with the real Rasa and action servers. B sees only validity, day and time;
a wrong date of birth of the first applicant is refused and the booking stays; the right one
cancels it after "ya", and A's number is owed a notice, which `law-notices` (its own process)
sends to A's number through the local Graph API."""
from __future__ import annotations

import pytest

from antrean.access import BookingAccess
from tests.channel.conftest import graph, graph_server  # noqa: F401 - the local Graph API
from tests.channel.helpers import accept_all, sent_bodies
from tests.notices.test_sending import scheduler_env, start_scheduler
from antrean.clock import FixedClock
from antrean.codes import display_code
from antrean.config import load_config
from antrean.service import BookingService
from antrean.store.engine import create_store_engine
from antrean.store.repository import SqlStore
from tests.conftest import NOW
from tests.e2e.servers import assistant, find_model

pytestmark = pytest.mark.slow

OWNER, STRANGER = "6281211110001", "6281299990002"
BOOKING_CHAT = ["mau daftar antrian paspor", "paspor baru", "yang elektronik", "saya sendiri",
                "senin depan", "jam 9", "Budi Santoso", "12-03-1990", "3171011203900003",
                "ya benar"]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    model = find_model()
    if model is None:
        pytest.fail("no trained model: run `make test` (it trains one) or `make train`")
    tmp = tmp_path_factory.mktemp("e2e_other_number")
    with assistant(tmp, model, {"LAW_FIXED_NOW": NOW.isoformat()}) as running:
        running.tmp = tmp
        yield running


def service_of(bot) -> BookingService:
    store = SqlStore(create_store_engine(f"sqlite:///{bot.tmp / 'law.db'}"))
    return BookingService(load_config(), store, FixedClock(NOW))


def responses_to(bot, sender: str, text: str) -> list[str]:
    """Say ``text``; the names of the responses the bot answered with."""
    before = len(bot.tracker(sender)["events"])
    bot.say(sender, text)
    events = bot.tracker(sender)["events"][before:]
    return [(e.get("metadata") or {}).get("utter_action") for e in events
            if e["event"] == "bot"]


def test_another_number_sees_day_and_time_and_cancels_only_with_the_date_of_birth(bot):
    for text in BOOKING_CHAT:
        assert bot.say(OWNER, text), f"no reply to {text!r}"
    service = service_of(bot)
    booking = service.active_booking(OWNER)
    assert booking is not None, "the booking from number A was not made"
    code = display_code(booking.code)

    said = responses_to(bot, STRANGER, f"cek antrean {code}")
    assert said == ["utter_booking_status_other_number"]
    text = " ".join(r.get("text", "") for r in bot.say(STRANGER, f"cek antrean {code}"))
    assert "Budi" not in text and "3171" not in text and "Desember" in text

    assert responses_to(bot, STRANGER, f"batalkan antrean {code}") == [
        "utter_ask_owner_birth_date"]
    assert responses_to(bot, STRANGER, "13-03-1990") == ["utter_owner_check_failed"]
    assert responses_to(bot, STRANGER, "ya") != ["utter_cancelled"]
    assert service.active_booking(OWNER) == booking

    assert responses_to(bot, STRANGER, f"batalkan antrean {code}") == [
        "utter_ask_owner_birth_date"]
    assert responses_to(bot, STRANGER, "12-03-1990") == ["utter_confirm_cancel_other_number"]
    assert service.active_booking(OWNER) == booking  # not before "ya"
    assert responses_to(bot, STRANGER, "ya") == ["utter_cancelled"]
    assert service.active_booking(OWNER) is None

    [notice] = BookingAccess(service).owner_notices()
    assert (notice.booking_code, notice.phone, notice.event, notice.by_phone) == (
        booking.code, OWNER, "cancelled", STRANGER)
    service.store.dispose()


def test_law_notices_tells_the_owner_on_whatsapp(bot, graph):
    # after the chat above: the action server queued the message with the notice
    accept_all(graph)
    env = {**scheduler_env(f"sqlite:///{bot.tmp / 'law.db'}", graph),
           "LAW_FIXED_NOW": NOW.isoformat()}
    output, _ = start_scheduler(env).communicate(timeout=60)
    [body] = sent_bodies(graph)
    assert body["to"] == OWNER and body["template"]["name"] == "booking_dibatalkan_pihak_lain"
    service = service_of(bot)
    assert BookingAccess(service).owner_notices() == []  # told: no longer owed to staff
    code = BookingAccess(service).owner_notices(include_sent=True)[0].booking_code
    service.store.dispose()
    assert code not in output and OWNER not in output, output  # masked in its log


def test_codes_are_masked_in_every_log(bot):
    # after the chat above: the code was logged when reserved, cancelled and noticed
    service = service_of(bot)
    [notice] = BookingAccess(service).owner_notices(include_sent=True)
    service.store.dispose()
    code = notice.booking_code
    actions_log = (bot.tmp / "actions.log").read_text(errors="replace")
    assert f"cancelled ******{code[-2:]}" in actions_log
    for log in ("actions.log", "rasa.log"):
        text = (bot.tmp / log).read_text(errors="replace")
        assert code not in text and display_code(code) not in text, log
