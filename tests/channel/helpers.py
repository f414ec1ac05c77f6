"""Helpers of the WhatsApp channel tests: fake Graph API answers, webhook payloads, and a
live Rasa server.

The webhook is served by the Sanic app that ``rasa.core.run.configure_app`` builds, listening
on a free loopback port, so every request goes over real HTTP through Rasa's own channel
registration.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from pytest_httpserver import HTTPServer
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from sanic import Sanic
from werkzeug import Request, Response

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.settings import WhatsAppSettings

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "106540352242922"
API_VERSION = "v21.0"
MESSAGES_PATH = f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
SENDER = "6281299004406"
OTHER_SENDER = "6281311112222"

# Several Rasa apps (same name) are built in one process.
Sanic.test_mode = True


def accept_all(graph: HTTPServer) -> None:
    """Make the fake Graph API accept every message."""
    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(graph_ok)


def graph_ok(request: Request) -> Response:
    body = {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.out.{time.time_ns()}"}]}
    return Response(
        json.dumps(body),
        status=200,
        content_type="application/json",
    )


def graph_error(status: int, code: int, message: str = "error") -> Response:
    body = {"error": {"message": message, "type": "OAuthException", "code": code}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def sent_bodies(graph: HTTPServer) -> list[dict[str, Any]]:
    """JSON bodies of the messages sent to the fake Graph API (read receipts left out)."""
    bodies = [json.loads(request.get_data()) for request, _ in list(graph.log)]
    return [body for body in bodies if body.get("status") != "read"]


def read_receipts(graph: HTTPServer) -> list[str]:
    bodies = [json.loads(request.get_data()) for request, _ in list(graph.log)]
    return [body["message_id"] for body in bodies if body.get("status") == "read"]


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def with_retry(settings: WhatsAppSettings, **changes: Any) -> WhatsAppSettings:
    return replace(settings, retry=replace(settings.retry, **changes))


# --- webhook payloads -------------------------------------------------------------------


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def text_message(wamid: str, text: str, sender: str = SENDER,
                 timestamp: int = 1764388800) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": str(timestamp), "type": "text",
            "text": {"body": text}}


def button_reply(wamid: str, reply_id: str, title: str = "Ya", sender: str = SENDER) -> dict:
    return {"from": sender, "id": wamid, "timestamp": "1764388800", "type": "interactive",
            "interactive": {"type": "button_reply",
                            "button_reply": {"id": reply_id, "title": title}}}


def list_reply(wamid: str, reply_id: str, title: str = "Baru", sender: str = SENDER) -> dict:
    return {"from": sender, "id": wamid, "timestamp": "1764388800", "type": "interactive",
            "interactive": {"type": "list_reply",
                            "list_reply": {"id": reply_id, "title": title, "description": "d"}}}


def media_message(wamid: str, kind: str, sender: str = SENDER) -> dict[str, Any]:
    content = {
        "image": {"id": "1234", "mime_type": "image/jpeg", "sha256": "abc"},
        "sticker": {"id": "1235", "mime_type": "image/webp", "animated": False},
        "audio": {"id": "1236", "mime_type": "audio/ogg; codecs=opus", "voice": True},
        "video": {"id": "1237", "mime_type": "video/mp4"},
        "document": {"id": "1238", "filename": "ktp.pdf", "mime_type": "application/pdf"},
        "location": {"latitude": -6.16, "longitude": 106.84, "name": "Kemayoran"},
        "contacts": [{"name": {"formatted_name": "Budi"}, "phones": [{"phone": "+62 812"}]}],
        "reaction": {"message_id": "wamid.bot.1", "emoji": "👍"},
        "unsupported": None,
    }[kind]
    message: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": "1764388800", "type": kind}
    if content is not None:
        message[kind] = content
    else:
        message["errors"] = [{"code": 131051, "title": "Message type unknown"}]
    return message


def status(wamid: str, state: str, error_code: int | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"id": wamid, "status": state, "timestamp": "1764388801",
                              "recipient_id": SENDER}
    if error_code:
        report["errors"] = [{"code": error_code, "title": "Re-engagement message"}]
    return report


def webhook(*changes: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A delivery; each change value is given as ``{"messages": [...], "statuses": [...]}``.

    With ``entries`` > 1 the changes are split, in order, over that many entries.
    """
    buckets: list[list[dict[str, Any]]] = [[] for _ in range(entries)]
    per_entry = -(-len(changes) // entries)
    for index, value in enumerate(changes):
        senders = {m["from"] for m in value.get("messages", [])
                   if isinstance(m, dict) and "from" in m}
        full = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281299000000",
                         "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Pemohon {s[-4:]}"}, "wa_id": s}
                         for s in sorted(senders)],
            **value,
        }
        buckets[index // per_entry].append({"field": "messages", "value": full})
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": c} for c in buckets]}


# --- a running Rasa server with the channel ---------------------------------------------

Handler = Callable[[UserMessage], Awaitable[Any]]


class HandlerAgent:
    """Stands in for ``rasa.core.agent.Agent``: Rasa's channel registration calls
    ``app.ctx.agent.handle_message`` for every user message."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> Any:
        self.received.append(message)
        return await self.handler(message)


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")


@dataclass
class LiveServer:
    url: str
    channel: WhatsAppInput
    agent: Any
    session: aiohttp.ClientSession

    async def post(self, payload: Any, *, sign: bool = True, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        body = raw if raw is not None else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if sign:
            all_headers["X-Hub-Signature-256"] = signature(body)
        all_headers.update(headers or {})
        async with self.session.post(self.url + WEBHOOK_PATH, data=body,
                                     headers=all_headers) as response:
            await response.read()
            return response

    async def get(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        async with self.session.get(self.url + path, params=params) as response:
            return response.status, await response.text()


@asynccontextmanager
async def live_server(channel: WhatsAppInput, agent: Any) -> AsyncIterator[LiveServer]:
    """Serve ``channel`` through Rasa's ``configure_app`` on a free loopback port."""
    app = configure_app(input_channels=[channel], enable_api=False, port=0)
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True,
                                     access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    port = server.server.sockets[0].getsockname()[1]
    session = aiohttp.ClientSession()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", channel, agent, session)
    finally:
        await session.close()
        await server.before_stop()  # the channel drains its queues and closes here
        server.close()
        await server.wait_closed()
        await server.after_stop()


def run(coro: Awaitable[Any]) -> Any:
    """Run a test scenario in a fresh event loop."""
    return asyncio.run(coro)  # type: ignore[arg-type]
