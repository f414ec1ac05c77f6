"""The office's notices in the WhatsApp channel, over real HTTP with a local Graph API:
each reminder button leads to its flow, BERHENTI / MULAI, a closure date tapped, delivery
reports landing on the notice's row."""
from __future__ import annotations

import asyncio

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.notice_replies import NoticeDesk, reminder_command
from antrean.notices import NoticeOutbox
from tests.channel.helpers import (
    HandlerAgent,
    accept_all,
    button_reply,
    echo,
    live_server,
    run,
    sent_bodies,
    status,
    text_message,
    wait_until,
    webhook,
)
from tests.notices.conftest import DAY, EVE, at
from tests.notices.test_sending import send_round, whatsapp_settings


def template_tap(wamid: str, sender: str, text: str, payload: str,
                 context: str = "wamid.out.1") -> dict:
    return {"from": sender, "id": wamid, "timestamp": "1764388800", "type": "button",
            "button": {"text": text, "payload": payload},
            "context": {"from": "6281299000000", "id": context}}


def channel_for(service, graph, tmp_path) -> WhatsAppInput:
    settings = whatsapp_settings(graph)
    settings = type(settings)(**{**settings.__dict__,
                                 "dedup_db_url": f"sqlite:///{tmp_path / 'channel.db'}"})
    return WhatsAppInput(settings, notices=NoticeDesk(lambda: NoticeOutbox(service)))


def texts_to(graph, phone: str) -> list[str]:
    return [b["text"]["body"] for b in sent_bodies(graph)
            if b["to"] == phone and b["type"] == "text"]


def test_the_reminder_buttons_lead_to_their_flows(service, booked_day, graph, tmp_path):
    accept_all(graph)
    booking = booked_day.bookings[0]
    agent = HandlerAgent(echo)

    async def scenario() -> None:
        async with live_server(channel_for(service, graph, tmp_path), agent) as server:
            for n, (label, payload) in enumerate([
                    ("Saya datang", f"notice:attend:{booking.code}"),
                    ("Ubah jadwal", "/reschedule_booking"), ("Batalkan", "/cancel_booking")]):
                await server.post(webhook({"messages": [
                    template_tap(f"wamid.tap.{n}", booking.phone, label, payload)]}))
            await wait_until(lambda: len(agent.received) == 2)
            await server.channel.drain()

    run(scenario())
    assert [m.text for m in agent.received] == ["/reschedule_booking", "/cancel_booking"]
    assert texts_to(graph, booking.phone)[0].startswith("Terima kasih, kedatangan Anda tercatat")
    with service.store.transaction() as tx:
        assert tx.staff.by_code(booking.code).attendance_confirmed_at is not None


def test_berhenti_stops_reminders_and_mulai_starts_them_again(service, booked_day, graph,
                                                               tmp_path):
    accept_all(graph)
    phone = booked_day.bookings[1].phone
    agent = HandlerAgent(echo)

    async def scenario(text: str, wamid: str) -> None:
        async with live_server(channel_for(service, graph, tmp_path), agent) as server:
            await server.post(webhook({"messages": [text_message(wamid, text, sender=phone)]}))
            await wait_until(lambda: bool(texts_to(graph, phone)))
            await server.channel.drain()

    run(scenario("BERHENTI", "wamid.stop"))
    assert "tidak dikirim lagi" in texts_to(graph, phone)[-1]
    assert agent.received == []
    graph.clear()
    accept_all(graph)
    assert send_round(service, graph) == 4  # the number that said BERHENTI is left out
    assert phone not in {b["to"] for b in sent_bodies(graph)}
    graph.clear()
    accept_all(graph)
    run(scenario("MULAI", "wamid.start"))
    assert "aktif lagi" in texts_to(graph, phone)[-1]


def test_plain_wording_of_stop_and_start():
    assert reminder_command("stop pengingat") is False
    assert reminder_command("jangan kirim pengingat lagi ya") is False
    assert reminder_command("Berhenti.") is False
    assert reminder_command("nyalakan pengingat lagi") is True
    assert reminder_command("stop") is None  # "stop" alone may mean the booking in progress
    assert reminder_command("mau berhenti antri") is None


def test_status_callbacks_land_on_the_right_notice(service, booked_day, graph, tmp_path):
    accept_all(graph)
    send_round(service, graph)
    sent = NoticeOutbox(service).notices_between(DAY, DAY)
    target, other = sent[1], sent[3]

    async def scenario() -> None:
        async with live_server(channel_for(service, graph, tmp_path),
                               HandlerAgent(echo)) as server:
            await server.post(webhook({"statuses": [status(target.wamid, "delivered"),
                                                    status(target.wamid, "read"),
                                                    status(other.wamid, "delivered")]}))
            await server.channel.drain()
            await asyncio.sleep(0.2)

    run(scenario())
    after = {n.id: n.delivery for n in NoticeOutbox(service).notices_between(DAY, DAY)}
    assert after[target.id] == "read" and after[other.id] == "delivered"
    assert sum(d is None for d in after.values()) == 3


def test_a_tapped_closure_date_moves_the_booking_without_the_reschedule(service, booked_day,
                                                                        graph, tmp_path):
    accept_all(graph)
    service.close_date(DAY, "Pemadaman listrik")
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_closure(DAY, "Pemadaman listrik")
    (item,) = [i for i in outbox.claim(limit=10) if i.notice.phone == booked_day.bookings[3].phone]
    phone = item.notice.phone

    async def scenario() -> None:
        async with live_server(channel_for(service, graph, tmp_path),
                               HandlerAgent(echo)) as server:
            await server.post(webhook({"messages": [
                template_tap("wamid.move", phone, "Pilihan 2", item.buttons[1].payload)]}))
            await wait_until(lambda: bool(texts_to(graph, phone)))
            await server.channel.drain()

    run(scenario())
    assert "jatah ubah jadwal Anda tetap ada" in texts_to(graph, phone)[0]
    moved = service.find_by_code(booked_day.bookings[3].code)
    assert moved.slot.date.isoformat() == item.buttons[1].payload.split(":")[3]
    assert moved.reschedule_count == 0
