"""The driver side of the WhatsApp benchmark: webhook traffic and a fake Graph API.

``Driver`` posts signed webhook deliveries at a set rate, one fake applicant a message, and
times the webhook's answer; ``FakeGraph`` stands in for Meta's Graph API and records when the
first reply to each applicant arrives. Used by ``bench_whatsapp.py``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "100000000000001"
API_VERSION = "v21.0"
WEBHOOK = "/webhooks/whatsapp/webhook"


@dataclass
class FakeGraph:
    """Records the first reply to each recipient (time and opening) and counts every call."""

    first_reply_at: dict[str, float] = field(default_factory=dict)
    first_reply_text: dict[str, str] = field(default_factory=dict)
    replies: int = 0
    read_receipts: int = 0
    latency_s: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.monotonic()
        if body.get("status") == "read":
            self.read_receipts += 1
        else:
            self.replies += 1
            recipient = str(body.get("to"))
            if recipient not in self.first_reply_at:
                self.first_reply_at[recipient] = now
                self.first_reply_text[recipient] = reply_opening(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return web.json_response({"messaging_product": "whatsapp",
                                  "messages": [{"id": f"wamid.fake.{self.replies}"}]})


def reply_opening(body: dict[str, Any]) -> str:
    """The start of a reply's text, to show which answer the bot gave (never personal data:
    every applicant of the benchmark is fake)."""
    if body.get("type") == "interactive":
        text = body.get("interactive", {}).get("body", {}).get("text", "")
    else:
        text = body.get("text", {}).get("body", "")
    return " ".join(str(text).split())[:60]


@dataclass
class Sample:
    sender: str
    text: str
    sent_at: float
    number: int = 0
    answered_s: float | None = None
    status: int | None = None


def signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def delivery(sender: str, number: int, text: str) -> dict[str, Any]:
    message = {"from": sender, "id": f"wamid.bench.{number}.{sender}.{time.time_ns()}",
               "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "620000", "phone_number_id": PHONE_NUMBER_ID},
             "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
             "messages": [message]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}


class Driver:
    def __init__(self, base_url: str, graph: FakeGraph, texts: list[str],
                 max_messages: int) -> None:
        self.base_url = base_url
        self.graph = graph
        self.texts = texts
        self.max_messages = max_messages
        self.counter = 0
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Driver:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self.session is not None
        await self.session.close()

    async def run_rate(self, rate: float, seconds: float) -> list[Sample]:
        """Send ``rate`` messages per second for ``seconds`` (open loop)."""
        count = min(int(rate * seconds), self.max_messages - self.counter)
        samples: list[Sample] = []
        tasks = []
        start = time.monotonic()
        for index in range(count):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.counter += 1
            text = self.texts[(self.counter - 1) % len(self.texts)]
            sample = Sample(sender=f"6280{self.counter:09d}", text=text, sent_at=0.0,
                            number=self.counter)
            samples.append(sample)
            tasks.append(asyncio.create_task(self._send(sample)))
        await asyncio.gather(*tasks)
        return samples

    async def _send(self, sample: Sample) -> None:
        assert self.session is not None
        body, headers = signed(delivery(sample.sender, sample.number, sample.text))
        sample.sent_at = time.monotonic()
        try:
            async with self.session.post(self.base_url + WEBHOOK, data=body,
                                         headers=headers) as response:
                await response.read()
                sample.status = response.status
        except aiohttp.ClientError:
            sample.status = None
        sample.answered_s = time.monotonic() - sample.sent_at

    async def wait_for_replies(self, samples: list[Sample], grace_s: float) -> None:
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if all(s.sender in self.graph.first_reply_at for s in samples):
                return
            await asyncio.sleep(0.02)


def quantile_ms(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of durations in seconds, in milliseconds."""
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    p50, p95, p99 = (quantile_ms(values, q) for q in (0.50, 0.95, 0.99))
    return f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms"


def end_to_end(samples: list[Sample], graph: FakeGraph) -> list[float]:
    return [graph.first_reply_at[s.sender] - s.sent_at
            for s in samples if s.sender in graph.first_reply_at]
