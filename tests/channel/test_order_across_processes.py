"""An applicant's messages reach Rasa in the order they came, whichever process took each.

A load balancer doing round robin hands consecutive messages of one applicant to different
Rasa processes. Seen in the production topology test: three messages typed back to back
(each accepted, 200, before the next was sent) were handled out of order for 4 applicants in
10, because each process reached the conversation's lock when its own queue got there. Here
two channels share one database, as two processes do: the first holds the applicant's first
message (its Rasa is slow), the second must not hand the second message to Rasa before the
first one was answered.
"""
from __future__ import annotations

import asyncio
import json

from pytest_httpserver import HTTPServer
from rasa.core.channels.channel import UserMessage

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.payload import decode_webhook
from addons.whatsapp.settings import WhatsAppSettings
from tests.channel.helpers import accept_all, run, text_message, wait_until, webhook


def delivery(wamid: str, text: str):  # noqa: ANN201 - the channel's WebhookDelivery
    return decode_webhook(json.dumps(webhook({"messages": [text_message(wamid, text)]}))
                          .encode())


def test_a_later_message_on_another_process_waits_for_the_earlier_one(
        graph: HTTPServer, settings: WhatsAppSettings) -> None:
    accept_all(graph)

    async def scenario() -> list[str]:
        release = asyncio.Event()
        handled: list[str] = []
        one, two = WhatsAppInput(settings), WhatsAppInput(settings)

        async def slow(message: UserMessage) -> None:  # process one's Rasa, still busy
            await release.wait()
            handled.append(message.text or "")

        async def quick(message: UserMessage) -> None:
            handled.append(message.text or "")

        try:
            await one.accept(delivery("wamid.order.1", "mau daftar"), slow)
            await two.accept(delivery("wamid.order.2", "besok"), quick)
            await asyncio.sleep(0.5)
            assert handled == []  # "besok" waits for "mau daftar", on the other process
            release.set()
            await wait_until(lambda: len(handled) == 2)
        finally:
            for channel in (one, two):
                await channel.drain(5.0)
                await channel.close()
        return handled

    assert run(scenario()) == ["mau daftar", "besok"]


def test_earlier_messages_of_the_same_process_are_left_to_its_queue(
        graph: HTTPServer, settings: WhatsAppSettings) -> None:
    accept_all(graph)

    async def scenario() -> list[str]:
        channel = WhatsAppInput(settings)
        handled: list[str] = []

        async def record(message: UserMessage) -> None:
            handled.append(message.text or "")

        try:
            await channel.accept(delivery("wamid.same.1", "halo"), record)
            await channel.accept(delivery("wamid.same.2", "mau daftar"), record)
            await wait_until(lambda: len(handled) == 2, timeout=3.0)
        finally:
            await channel.drain(5.0)
            await channel.close()
        return handled

    assert run(scenario()) == ["halo", "mau daftar"]
