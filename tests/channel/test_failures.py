"""The channel when things fail (issue 14): a database that never answers, hostile payloads
and headers, huge deliveries, reactions and notices."""
from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from dataclasses import replace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.channel import QUEUED_AT_MOST, RESUME_BATCH
from addons.whatsapp.settings import WhatsAppSettings
from antrean.store.engine import StoreTimeouts
from addons.whatsapp.dedup import MessageStore
from tests.channel.helpers import (
    WEBHOOK_PATH,
    HandlerAgent,
    accept_all,
    echo,
    live_server,
    media_message,
    read_receipts,
    run,
    sent_bodies,
    signature,
    text_message,
    wait_until,
    webhook,
)
from tests.faults import hanging_postgres_url, silent_listener

# --- a database that accepts connections and never answers (point 3) --------------------


def hanging_channel(settings: WhatsAppSettings, port: int) -> WhatsAppInput:
    url = hanging_postgres_url(port)
    fast = replace(settings, dedup_db_url=url, store_timeout_s=1.0, auto_migrate=False)
    store = MessageStore(url, auto_migrate=False, timeouts=StoreTimeouts(connect_s=2),
                         call_timeout_s=1.0)
    return WhatsAppInput(fast, store=store)


def test_a_hanging_database_neither_silences_the_bot_nor_passes_the_health_check(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    accept_all(graph)

    async def scenario() -> tuple[list[str], list[float], int]:
        agent = HandlerAgent(echo)
        with silent_listener() as port:
            async with live_server(hanging_channel(settings, port), agent) as server:
                started = time.monotonic()
                health, body = await server.get("/webhooks/whatsapp/", {})
                health_s = time.monotonic() - started
                assert json.loads(body)["status"] == "unavailable"
                latencies = []
                for index in range(3):
                    before = time.monotonic()
                    response = await server.post(
                        webhook({"messages": [text_message(f"wamid.hang.{index}", "halo")]}))
                    latencies.append(time.monotonic() - before)
                    assert response.status == 200
                await wait_until(lambda: len(sent_bodies(graph)) == 3, timeout=10)
                answered = time.monotonic() - started
        assert answered < 10
        return [m.text for m in agent.received], latencies + [health_s], health

    texts, latencies, health = run(scenario())
    assert health == 503
    assert texts == ["halo"] * 3
    assert max(latencies) < 2.5  # the store's call timeout (1 s), not a hang
    assert "store unavailable (timeout)" in caplog.text


def test_the_health_check_passes_with_a_database_that_answers(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    async def scenario() -> tuple[int, str]:
        async with live_server(WhatsAppInput(settings), HandlerAgent(echo)) as server:
            return await server.get("/webhooks/whatsapp/", {})

    status, body = run(scenario())
    assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}


# --- headers and payloads (point 8) ------------------------------------------------------


def raw_post(port: int, body: bytes, signature_header: bytes) -> int:
    """POST with a header of arbitrary bytes (HTTP clients refuse non-ASCII ones)."""
    request = (b"POST " + WEBHOOK_PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nX-Hub-Signature-256: " + signature_header
               + b"\r\nContent-Length: " + str(len(body)).encode()
               + b"\r\nConnection: close\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        answer = conn.recv(1024)
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "header",
    ["sha256=é".encode(), "sha256=ü".encode("latin-1"), b"sha256=\xff\xfe",
     "sha256=".encode() + "ａ".encode() * 64, b"sha256=" + b"g" * 64],
    ids=["utf8", "latin1", "invalid-utf8", "fullwidth-hex", "not-hex"],
)
def test_a_non_ascii_or_malformed_signature_header_is_refused_not_a_500(
    settings: WhatsAppSettings, header: bytes
) -> None:
    body = json.dumps(webhook({"messages": [text_message("wamid.sig.x", "halo")]})).encode()

    async def scenario() -> int:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            port = int(server.url.rsplit(":", 1)[1])
            status = await asyncio.get_running_loop().run_in_executor(
                None, raw_post, port, body, header)
        assert agent.received == []
        return status

    assert run(scenario()) in (401, 403)


def deep(levels: int) -> bytes:
    return b'{"entry": ' + b"[" * levels + b"]" * levels + b"}"


WRONG_SHAPES: dict[str, Any] = {
    "value-string": {"object": "whatsapp_business_account",
                     "entry": [{"changes": [{"field": "messages", "value": "x"}]}]},
    "entry-item-string": {"object": "whatsapp_business_account", "entry": ["x", 5, None]},
}


@pytest.mark.parametrize("raw", [deep(100_000), deep(2_000), b"[" * 100_000],
                         ids=["100k-deep", "2k-deep", "100k-open-lists"])
def test_deeply_nested_bodies_get_400(settings: WhatsAppSettings, raw: bytes) -> None:
    async def scenario() -> int:
        async with live_server(WhatsAppInput(settings), HandlerAgent(echo)) as server:
            return (await server.post(None, raw=raw)).status

    assert run(scenario()) == 400


def test_parts_of_the_wrong_type_are_skipped_and_the_rest_is_answered(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    good = text_message("wamid.good", "halo")
    bad_messages = [
        {**text_message("wamid.b1", "x"), "text": "a string where an object is due"},
        {**text_message("wamid.b2", "x"), "from": ["6281200000000"]},
        {**text_message("wamid.b3", "x"), "id": {"nested": 1}},
        {"from": "6281200000000", "id": "wamid.b4", "type": "interactive",
         "interactive": {"type": ["button_reply"], "button_reply": "x"}},
        {"from": "6281200000000", "id": "wamid.b5", "type": "button", "button": "x"},
        {"from": "6281200000000", "id": "wamid.b6", "type": ["text"], "timestamp": "9" * 5000},
    ]
    payload = webhook({"messages": [good],
                       "statuses": [{"id": ["x"], "status": "read"},
                                    {"id": "wamid.out", "status": "failed", "errors": "x"}]})
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [*bad_messages, good]
    value["contacts"] = [{"wa_id": ["6281200000000"], "profile": "x"}, "x",
                         {"wa_id": "6281299004406", "profile": {"name": ["x"]}}]
    value["metadata"] = "not an object"
    for extra in WRONG_SHAPES.values():
        payload["entry"].extend(extra["entry"])

    async def scenario() -> list[str]:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            assert (await server.post(payload)).status == 200
            await server.channel.drain()
        return [m.message_id for m in agent.received]

    received = run(scenario())
    assert "wamid.good" in received
    assert not {"wamid.b1", "wamid.b2", "wamid.b3"} & set(received)


@pytest.mark.parametrize("kind", ["reaction", "system", "request_welcome"])
def test_reactions_and_system_notices_are_ignored_silently(
    graph: HTTPServer, settings: WhatsAppSettings, kind: str
) -> None:
    accept_all(graph)
    message = (media_message(f"wamid.{kind}", "reaction") if kind == "reaction" else
               {"from": "6281299004406", "id": f"wamid.{kind}", "timestamp": "1764388800",
                "type": kind, kind: {"body": "User changed number", "type": "user_changed_number"}})

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            assert (await server.post(webhook({"messages": [message]}))).status == 200
            await server.channel.drain()
        assert agent.received == []

    run(scenario())
    assert sent_bodies(graph) == [] and read_receipts(graph) == []


# --- a huge delivery (point 8) ------------------------------------------------------------


def post_from_thread(url: str, body: bytes, sign: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return int(answer.status)


def test_a_delivery_of_200k_messages_starts_bounded_tasks_and_blocks_the_loop_briefly(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    count = 200_000
    messages = [text_message(f"wamid.bulk.{index}", "halo", sender=f"62812{index:08d}")
                for index in range(count)]
    statuses = [{"id": f"wamid.out.{index}", "status": "delivered", "timestamp": "1764388801",
                 "recipient_id": "6281299004406"} for index in range(2_000)]
    body = json.dumps(webhook({"messages": messages, "statuses": statuses})).encode()
    sign = signature(body)
    handled: list[str] = []

    async def counting(message: Any) -> None:
        handled.append(message.message_id)

    async def scenario() -> tuple[float, int, int]:
        # No fake Graph API in this process: its threads would compete for the GIL and be
        # measured as the loop's. Read receipts go nowhere (connection refused) and are let be.
        channel = WhatsAppInput(replace(settings, max_workers=16,
                                        api_base_url="http://127.0.0.1:9"))
        async with live_server(channel, HandlerAgent(counting)) as server:
            gaps: list[float] = []
            most_tasks = 0

            async def watch() -> None:
                nonlocal most_tasks
                last = time.monotonic()
                while True:
                    await asyncio.sleep(0.005)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now
                    most_tasks = max(most_tasks, len(asyncio.all_tasks()))

            watcher = asyncio.get_running_loop().create_task(watch())
            # Posted from another thread: the test's own client must not block the loop.
            status = await asyncio.get_running_loop().run_in_executor(
                None, post_from_thread, server.url + WEBHOOK_PATH, body, sign)
            assert status == 200
            await wait_until(lambda: len(handled) >= 5_000, timeout=60)
            watcher.cancel()
            server.channel.queues.cancel()  # the rest stays in the inbox
            return max(gaps), most_tasks, len(server.channel.held)

    worst_gap, most_tasks, held = run(scenario())
    # Before: 11.7 s in one piece. The aim is 100 ms, measured by
    # bench/bench_big_delivery.py (89 ms at worst on a quiet machine); a test process on a
    # shared machine pauses for its own reasons, so the bound here is 1 s.
    assert worst_gap < 1.0, worst_gap
    assert most_tasks < 16 + 50, most_tasks
    assert held > 0
    # At most QUEUED_AT_MOST messages of the delivery are in memory; the rest wait, stored.
    assert held <= QUEUED_AT_MOST + RESUME_BATCH, held


# --- nothing accepted is lost (point 5) ----------------------------------------------------


def test_messages_left_by_a_killed_process_are_answered_once_after_the_restart(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    short = replace(settings, inbox_lease_s=0.6)
    payload = webhook({"messages": [text_message("wamid.kill.1", "halo"),
                                    text_message("wamid.kill.2", "besok")]})

    async def hangs(message: Any) -> None:
        await asyncio.sleep(3600)  # the process dies before it answers

    async def killed() -> None:
        channel = WhatsAppInput(short)
        async with live_server(channel, HandlerAgent(hangs)) as server:
            assert (await server.post(payload)).status == 200
            await wait_until(lambda: len(server.agent.received) == 1)
            # SIGKILL: nothing is drained, nothing handed back; the leases just run out.
            channel.queues.cancel()
            channel.held.clear()
            channel._resumer.cancel()  # noqa: SLF001 - a dead process renews nothing

    async def restarted() -> list[str]:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(short), agent) as server:
            await wait_until(lambda: len(sent_bodies(graph)) == 2, timeout=10)
            assert (await server.post(payload)).status == 200  # Meta re-delivers: skipped
            await server.channel.drain()
            await asyncio.sleep(0.8)
        return [m.text for m in agent.received]

    run(killed())
    assert run(restarted()) == ["halo", "besok"]
    assert [b["text"]["body"] for b in sent_bodies(graph)] == ["echo: halo", "echo: besok"]


def test_sigterm_hands_unfinished_work_back_and_the_next_start_answers_it(
    graph: HTTPServer, settings: WhatsAppSettings, monkeypatch
) -> None:
    accept_all(graph)
    monkeypatch.setattr("addons.whatsapp.channel.SHUTDOWN_DRAIN_S", 0.3)
    messages = [text_message(f"wamid.term.{index}", f"pesan {index}") for index in range(3)]

    async def slow(message: Any) -> None:
        await asyncio.sleep(1.0)
        await echo(message)

    async def stopped() -> list[str]:
        agent = HandlerAgent(slow)
        async with live_server(WhatsAppInput(settings), agent) as server:
            assert (await server.post(webhook({"messages": messages}))).status == 200
            await wait_until(lambda: len(agent.received) == 1)
        return [m.text for m in agent.received]  # stopped mid-way: drained 0.3 s, then out

    async def next_start() -> list[str]:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await wait_until(lambda: len(agent.received) == 3, timeout=10)
            await server.channel.drain()
        return [m.text for m in agent.received]

    assert run(stopped()) == ["pesan 0"]
    assert sent_bodies(graph) == []
    assert run(next_start()) == ["pesan 0", "pesan 1", "pesan 2"]
    assert [b["text"]["body"] for b in sent_bodies(graph)] == [
        "echo: pesan 0", "echo: pesan 1", "echo: pesan 2"]
