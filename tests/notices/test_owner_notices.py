"""The booking's own number is told on WhatsApp when its booking is moved or cancelled from
another number, or released by staff (SPEC "Who may see and change a booking"), on SQLite and
PostgreSQL, through the local Graph API: the configured template outside the 24-hour window,
free text inside it, a "Bukan saya" button that asks for staff, sent once however often the
sender runs — although the booking is cancelled — and the staff list of owed notices emptied."""
from __future__ import annotations

import asyncio
import datetime as dt

from pytest_httpserver import HTTPServer

from addons.whatsapp.graph_client import GraphClient
from addons.whatsapp.notices import NoticeSender
from antrean.access import CANCELLED, RESCHEDULED, BookingAccess
from antrean.model import NoticeKind, NoticeState
from antrean.notices import BY_OTHER_NUMBER, BY_STAFF, HUMAN_PAYLOAD, NoticeOutbox
from antrean.outcomes import Cancelled, Rescheduled
from tests.channel.helpers import MESSAGES_PATH, accept_all, graph_error, sent_bodies
from tests.notices.conftest import DAY, reserve
from tests.notices.test_sending import whatsapp_settings

OWNER, STRANGER = "6281200002201", "6281200002299"


def send_all(service, graph: HTTPServer) -> int:
    client = GraphClient(whatsapp_settings(graph))

    async def go() -> int:
        try:
            return await NoticeSender(NoticeOutbox(service), client, rate=1000).send_due()
        finally:
            await client.close()

    return asyncio.run(go())


def template_of(body: dict) -> tuple[str, list[str], list[str]]:
    template = body["template"]
    params = [p["text"] for p in template["components"][0]["parameters"]]
    payloads = [b["parameters"][0]["payload"] for b in template["components"][1:]]
    return template["name"], params, payloads


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def test_a_cancellation_from_another_number_reaches_the_owner_once(service, graph):
    accept_all(graph)
    booking = reserve(service, OWNER, 1)
    outcome = service.cancel(booking.code)
    assert isinstance(outcome, Cancelled)
    BookingAccess(service).notify_owner(outcome.booking, CANCELLED, STRANGER)
    assert len(BookingAccess(service).owner_notices()) == 1  # owed, before the send

    assert send_all(service, graph) == 1
    assert send_all(service, graph) == 0  # a second run sends nothing more
    [body] = sent_bodies(graph)
    assert body["to"] == OWNER and body["type"] == "template"
    name, params, payloads = template_of(body)
    assert name == "booking_dibatalkan_pihak_lain"
    assert params == [display(booking.code), "Selasa", "8 Desember 2026", "09.00",
                      BY_OTHER_NUMBER]
    assert payloads == [HUMAN_PAYLOAD]
    # The staff list of notices still owed is empty: the number was told by WhatsApp.
    assert BookingAccess(service).owner_notices() == []
    [told] = BookingAccess(service).owner_notices(include_sent=True)
    assert told.sent_at is not None


def test_a_move_from_another_number_tells_the_old_and_the_new_schedule(service, graph):
    accept_all(graph)
    booking = reserve(service, OWNER, 2)
    new_day = DAY + dt.timedelta(days=1)
    outcome = service.reschedule(booking.code, new_day, dt.time(10))
    assert isinstance(outcome, Rescheduled)
    BookingAccess(service).notify_owner(outcome.booking, RESCHEDULED, STRANGER,
                                        outcome.previous)

    assert send_all(service, graph) == 1
    name, params, payloads = template_of(sent_bodies(graph)[0])
    assert name == "jadwal_diubah_pihak_lain"
    assert params == [display(booking.code), BY_OTHER_NUMBER, "Selasa", "8 Desember 2026",
                      "09.00", "Rabu", "9 Desember 2026", "10.00"]
    assert payloads == [HUMAN_PAYLOAD]


def test_inside_the_24_hour_window_the_owner_gets_free_text_with_the_button(service, graph):
    accept_all(graph)
    booking = reserve(service, OWNER, 3)
    outbox = NoticeOutbox(service)
    outbox.touch_inbound(OWNER)  # the owner wrote to the office an hour ago or so
    outcome = service.cancel(booking.code)
    assert isinstance(outcome, Cancelled)
    BookingAccess(service).notify_owner(outcome.booking, CANCELLED, STRANGER)

    assert send_all(service, graph) == 1
    [body] = sent_bodies(graph)
    assert body["type"] == "interactive"
    text = body["interactive"]["body"]["text"]
    assert display(booking.code) in text and "dibatalkan dari nomor WhatsApp lain" in text
    buttons = body["interactive"]["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in buttons] == [
        (HUMAN_PAYLOAD, "Bukan saya")]


def test_a_nik_released_by_staff_tells_the_number_that_held_it(service, graph):
    accept_all(graph)
    booking = reserve(service, OWNER, 4)
    released = BookingAccess(service).release_nik(booking.applicants[0].nik,
                                                  "KTP asli diperiksa di loket", "Sari")
    assert released is not None

    assert send_all(service, graph) == 1
    name, params, _ = template_of(sent_bodies(graph)[0])
    assert name == "booking_dibatalkan_pihak_lain" and params[-1] == BY_STAFF


def test_a_failed_send_stays_owed_to_staff_and_is_tried_again(service, graph):
    graph.expect_request(MESSAGES_PATH).respond_with_handler(
        lambda request: graph_error(500, 1, "temporarily down"))
    booking = reserve(service, OWNER, 5)
    outcome = service.cancel(booking.code)
    assert isinstance(outcome, Cancelled)
    BookingAccess(service).notify_owner(outcome.booking, CANCELLED, STRANGER)

    assert send_all(service, graph) == 0
    assert len(BookingAccess(service).owner_notices()) == 1  # staff still see it owed
    [notice] = [n for n in NoticeOutbox(service).notices_between(DAY, DAY)
                if n.kind is NoticeKind.OWNER_CANCELLED]
    assert notice.state is NoticeState.PENDING and notice.attempts == 1
