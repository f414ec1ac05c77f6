"""The webhook of the WhatsApp channel, served by Rasa's Sanic app over real HTTP."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, select
from werkzeug import Request, Response

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.dedup import message_statuses
from addons.whatsapp.settings import DEFAULT_NON_TEXT_REPLY, WhatsAppSettings
from tests.channel.helpers import (
    ACCESS_TOKEN,
    MESSAGES_PATH,
    OTHER_SENDER,
    SENDER,
    VERIFY_TOKEN,
    WEBHOOK_PATH,
    HandlerAgent,
    accept_all,
    button_reply,
    echo,
    graph_error,
    graph_ok,
    list_reply,
    live_server,
    media_message,
    read_receipts,
    run,
    sent_bodies,
    signature,
    status,
    text_message,
    wait_until,
    webhook,
)

# --- GET handshake ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected_status", "expected_body"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
         200, "1158201444"),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
         403, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
         403, None),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, 403, None),
    ],
    ids=["good-token", "wrong-token", "wrong-mode", "no-token"],
)
def test_subscription_handshake(settings: WhatsAppSettings, params: dict[str, str],
                                expected_status: int, expected_body: str | None) -> None:
    async def scenario() -> None:
        async with live_server(WhatsAppInput(settings), HandlerAgent(echo)) as server:
            code, body = await server.get(WEBHOOK_PATH, params)
            assert code == expected_status
            if expected_body is not None:
                assert body == expected_body
            assert "1158201444" not in body or expected_status == 200

    run(scenario())


# --- POST signature ---------------------------------------------------------------------

PAYLOAD = webhook({"messages": [text_message("wamid.sig.1", "halo")]})
BODY = json.dumps(PAYLOAD).encode()


@pytest.mark.parametrize(
    ("raw", "headers", "expected"),
    [
        (BODY, {"X-Hub-Signature-256": signature(BODY)}, 200),
        (BODY, {}, 401),
        (BODY, {"X-Hub-Signature-256": signature(BODY, secret="another-secret")}, 403),
        (BODY.replace(b"halo", b"hal0"), {"X-Hub-Signature-256": signature(BODY)}, 403),
        (BODY, {"X-Hub-Signature-256": signature(BODY).removeprefix("sha256=")}, 403),
        (BODY, {"X-Hub-Signature-256": "sha256="}, 403),
    ],
    ids=["valid", "missing", "wrong-secret", "tampered-body", "no-prefix", "empty"],
)
def test_signature_is_checked_before_anything_is_processed(
    graph: HTTPServer, settings: WhatsAppSettings, raw: bytes, headers: dict[str, str],
    expected: int,
) -> None:
    accept_all(graph)

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            response = await server.post(None, raw=raw, sign=False, headers=headers)
            assert response.status == expected
            await server.channel.drain()
        if expected == 200:
            assert [m.text for m in agent.received] == ["halo"]
        else:
            assert agent.received == []
            assert list(graph.log) == []

    run(scenario())


def test_signature_method_compares_in_constant_time(
    settings: WhatsAppSettings, monkeypatch
) -> None:
    calls: list[tuple[Any, Any]] = []
    import hmac as hmac_module

    real = hmac_module.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("addons.whatsapp.channel.hmac.compare_digest", spy)
    channel = WhatsAppInput(settings)
    assert channel.verify_signature(BODY, signature(BODY))
    assert not channel.verify_signature(BODY, signature(BODY + b" "))
    assert len(calls) == 2


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"entry": 5}'],
                         ids=["broken", "a-list", "entry-not-list"])
def test_invalid_json_gets_400(settings: WhatsAppSettings, raw: bytes) -> None:
    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            response = await server.post(None, raw=raw)
            assert response.status == 400
        assert agent.received == []

    run(scenario())


# --- incoming messages ------------------------------------------------------------------


def test_text_in_reply_out(graph: HTTPServer, settings: WhatsAppSettings) -> None:
    accept_all(graph)

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            response = await server.post(
                webhook({"messages": [text_message("wamid.text.1", "mau booking besok")]}))
            assert response.status == 200
            await wait_until(lambda: len(sent_bodies(graph)) == 1)
        (message,) = agent.received
        assert message.sender_id == SENDER
        assert message.text == "mau booking besok"
        assert message.message_id == "wamid.text.1"
        assert message.input_channel == "whatsapp"
        assert message.output_channel.name() == "whatsapp"
        assert message.metadata == {"whatsapp": {
            "profile_name": "Pemohon 4406", "message_id": "wamid.text.1",
            "phone_number_id": settings.phone_number_id}}

    run(scenario())
    replies = [(req, json.loads(req.get_data())) for req, _ in graph.log
               if json.loads(req.get_data()).get("status") != "read"]
    (request, body), = replies
    assert request.path == MESSAGES_PATH
    assert request.method == "POST"
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": SENDER, "type": "text",
                    "text": {"body": "echo: mau booking besok", "preview_url": False}}
    assert read_receipts(graph) == ["wamid.text.1"]
    read_body = next(json.loads(r.get_data()) for r, _ in graph.log
                     if json.loads(r.get_data()).get("status") == "read")
    assert read_body == {"messaging_product": "whatsapp", "status": "read",
                         "message_id": "wamid.text.1"}


@pytest.mark.parametrize(
    "message",
    [button_reply("wamid.btn.1", '/inform{"service_type":"baru"}', title="Paspor baru"),
     list_reply("wamid.list.1", "penggantian", title="Penggantian")],
    ids=["button_reply", "list_reply"],
)
def test_button_and_list_replies_reach_the_bot_as_their_id(
    graph: HTTPServer, settings: WhatsAppSettings, message: dict[str, Any]
) -> None:
    accept_all(graph)
    reply = message["interactive"][message["interactive"]["type"]]

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(webhook({"messages": [message]}))
            await server.channel.drain()
        assert [m.text for m in agent.received] == [reply["id"]]
        assert agent.received[0].text != reply["title"]

    run(scenario())


def test_status_callbacks_are_recorded_not_answered(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    accept_all(graph)
    caplog.set_level(logging.INFO, logger="addons.whatsapp")
    reports = [status("wamid.out.1", "sent"), status("wamid.out.1", "delivered"),
               status("wamid.out.1", "read"), status("wamid.out.2", "failed", error_code=131047)]

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            assert (await server.post(webhook({"statuses": reports}))).status == 200
            # Meta redelivers: the same reports must not be stored twice.
            assert (await server.post(webhook({"statuses": reports[:2]}))).status == 200
            await server.channel.drain()
        assert agent.received == []

    run(scenario())
    assert list(graph.log) == []  # no reply, no read receipt
    engine = create_engine(settings.dedup_db_url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(select(message_statuses.c.message_id, message_statuses.c.status,
                                   message_statuses.c.error_code)
                            .order_by(message_statuses.c.id)).all()
    engine.dispose()
    assert sorted(rows) == sorted([
        ("wamid.out.1", "sent", None), ("wamid.out.1", "delivered", None),
        ("wamid.out.1", "read", None), ("wamid.out.2", "failed", 131047),
    ])
    assert any("failed" in r.getMessage() and "131047" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "kind",
    ["image", "sticker", "audio", "video", "location", "document", "contacts", "unsupported"],
)
def test_non_text_messages_get_the_polite_reply(
    graph: HTTPServer, settings: WhatsAppSettings, kind: str
) -> None:
    accept_all(graph)

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(webhook({"messages": [media_message(f"wamid.{kind}", kind)]}))
            await server.channel.drain()
        assert agent.received == []

    run(scenario())
    (body,) = sent_bodies(graph)
    assert body["to"] == SENDER
    assert body["text"]["body"] == DEFAULT_NON_TEXT_REPLY
    assert read_receipts(graph) == [f"wamid.{kind}"]


def test_messages_for_another_business_number_are_ignored(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    payload = webhook({"messages": [text_message("wamid.other.1", "halo")]})
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            assert (await server.post(payload)).status == 200
            await server.channel.drain()
        assert agent.received == []

    run(scenario())
    assert list(graph.log) == []


def test_a_number_typed_after_a_numbered_menu_reaches_the_bot_as_the_payload(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    hours = [{"title": f"{h:02d}:00", "payload": f'/inform{{"time":"{h:02d}:00"}}'}
             for h in range(8, 20)]  # twelve choices: too many for a list

    async def ask_then_echo(message: Any) -> None:
        if message.text == "jam berapa saja?":
            await message.output_channel.send_text_with_buttons(message.sender_id, "Pilih:", hours)
        else:
            await echo(message)

    async def scenario() -> list[str]:
        agent = HandlerAgent(ask_then_echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(webhook({"messages": [
                text_message("wamid.menu.1", "jam berapa saja?", timestamp=1764388801)]}))
            await server.channel.drain()
            await server.post(webhook({"messages": [
                text_message("wamid.menu.2", "2", timestamp=1764388802),
                text_message("wamid.menu.3", "2", timestamp=1764388803)]}))
            await server.channel.drain()
        return [m.text for m in agent.received]

    assert run(scenario()) == ["jam berapa saja?", '/inform{"time":"09:00"}', "2"]
    assert sent_bodies(graph)[0]["text"]["body"].splitlines()[2] == "1. 08:00"


# --- several messages, order, parallelism -----------------------------------------------


SLOW_FIRST_S = 1.0


def test_multi_message_payloads_keep_each_senders_order(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    finished: list[tuple[str, str]] = []

    async def slow_first(message: Any) -> None:
        # The first message of each sender is the slowest: a naive parallel dispatch
        # would finish the later ones first.
        await asyncio.sleep(SLOW_FIRST_S if message.text.endswith("1") else 0.01)
        finished.append((message.sender_id, message.text))
        await echo(message)

    a, b = SENDER, OTHER_SENDER
    first = webhook(
        {"messages": [text_message("wamid.a1", "a1", a), text_message("wamid.b1", "b1", b)]},
        {"messages": [text_message("wamid.a2", "a2", a)]},
        {"messages": [text_message("wamid.b2", "b2", b), text_message("wamid.a3", "a3", a)]},
        entries=2,
    )
    second = webhook({"messages": [text_message("wamid.a4", "a4", a),
                                   text_message("wamid.b3", "b3", b)]})

    async def scenario() -> float:
        async with live_server(WhatsAppInput(settings), HandlerAgent(slow_first)) as server:
            started = time.monotonic()
            assert (await server.post(first)).status == 200
            assert (await server.post(second)).status == 200
            await server.channel.drain()
            return time.monotonic() - started

    elapsed = run(scenario())
    assert [t for s, t in finished if s == a] == ["a1", "a2", "a3", "a4"]
    assert [t for s, t in finished if s == b] == ["b1", "b2", "b3"]
    # Senders run in parallel: both slow first messages overlap (≈ 1 s, not ≈ 2 s; the rest
    # of the work — inbox, order checks, replies — gets the other 0.9 s on a busy machine).
    assert elapsed < 2 * SLOW_FIRST_S - 0.1, elapsed
    replies = [(body["to"], body["text"]["body"]) for body in sent_bodies(graph)]
    assert [t for to, t in replies if to == a] == ["echo: a1", "echo: a2", "echo: a3", "echo: a4"]
    assert [t for to, t in replies if to == b] == ["echo: b1", "echo: b2", "echo: b3"]


def test_a_batch_listed_out_of_order_is_handled_in_send_time_order(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    payload = webhook({"messages": [
        text_message("wamid.t3", "ketiga", timestamp=1764388803),
        text_message("wamid.t1", "pertama", timestamp=1764388801),
        text_message("wamid.t2", "kedua", timestamp=1764388802),
    ]})

    async def scenario() -> list[str]:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(payload)
            await server.channel.drain()
        return [m.text for m in agent.received]

    assert run(scenario()) == ["pertama", "kedua", "ketiga"]


def test_webhook_answers_at_once_while_the_bot_takes_two_seconds(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)

    async def slow_bot(message: Any) -> None:
        await asyncio.sleep(2.0)
        await echo(message)

    async def scenario() -> tuple[list[float], float]:
        async with live_server(WhatsAppInput(settings), HandlerAgent(slow_bot)) as server:
            await server.get("/webhooks/whatsapp/", {})  # warm the connection up
            latencies = []
            started = time.monotonic()
            for index, sender in enumerate([SENDER, SENDER, OTHER_SENDER]):
                payload = webhook({"messages": [text_message(f"wamid.slow.{index}", "halo",
                                                             sender)]})
                before = time.monotonic()
                response = await server.post(payload)
                latencies.append(time.monotonic() - before)
                assert response.status == 200
            await wait_until(lambda: len(sent_bodies(graph)) == 3, timeout=10)
            return latencies, time.monotonic() - started

    latencies, total = run(scenario())
    assert max(latencies) < 0.1, latencies
    # Two replies to the same sender come one after the other (≈4 s), the other in parallel.
    assert 3.9 < total < 6.0


def test_failing_graph_api_is_logged_masked_and_the_server_stays_healthy(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="addons.whatsapp")
    broken = {"on": True}

    def flaky(request: Request) -> Response:
        if broken["on"]:
            return graph_error(500, 2, "Service temporarily unavailable")
        return graph_ok(request)

    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(flaky)

    async def scenario() -> None:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(webhook({"messages": [text_message("wamid.fail.1", "halo")]}))
            await server.channel.drain()
            tries = [b for b in sent_bodies(graph) if b["text"]["body"] == "echo: halo"]
            assert len(tries) == settings.retry.max_attempts
            broken["on"] = False
            code, _ = await server.get("/webhooks/whatsapp/", {})
            assert code == 200
            await server.post(webhook({"messages": [text_message("wamid.fail.2", "lagi")]}))
            await wait_until(lambda: any(b["text"]["body"] == "echo: lagi"
                                         for b in sent_bodies(graph)))
        assert [m.text for m in agent.received] == ["halo", "lagi"]

    run(scenario())
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    text = failures[0].getMessage()
    assert "wamid.fail.1" in text
    assert "*********4406" in text
    assert SENDER not in caplog.text


def test_bot_exception_is_logged_and_next_message_still_handled(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    accept_all(graph)

    async def fragile(message: Any) -> None:
        if message.text == "boom":
            raise RuntimeError(f"bot bug in conversation {message.sender_id}")
        await echo(message)

    async def scenario() -> None:
        async with live_server(WhatsAppInput(settings), HandlerAgent(fragile)) as server:
            await server.post(webhook({"messages": [text_message("wamid.e1", "boom"),
                                                    text_message("wamid.e2", "halo")]}))
            await server.channel.drain()

    run(scenario())
    assert [b["text"]["body"] for b in sent_bodies(graph)] == ["echo: halo"]
    (failure,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "wamid.e1" in failure and "RuntimeError" in failure  # the traceback is kept...
    assert "*********4406" in failure and SENDER not in caplog.text  # ...with numbers masked
