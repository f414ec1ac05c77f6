"""Sending the office's notices (``antrean.notices``) through the Graph API, paced.

A template goes as Meta's template message (``"type": "template"``: the body's parameters
in the configured order, one quick-reply payload per button); inside the 24-hour window the
same text goes as an interactive message with reply buttons. Sends are paced to the
configured rate (Meta's default is 80 messages per second per business number) by one
:class:`Pacer` shared by a few concurrent workers; each worker claims one notice when its
turn to send has come, so a process that dies holds only the notices in flight, whose
leases run out for the next sender (a notice whose request reached Meta just before the
crash may then go twice: the Graph API has no idempotency key).
Database calls run on worker threads, never on the event loop.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from addons.whatsapp.graph_client import RATE_LIMIT_CODES, TRANSIENT_CODES, GraphClient, SendResult
from addons.whatsapp.payload import MESSAGING_PRODUCT
from antrean.notices import NoticeOutbox, OutboundNotice

logger = logging.getLogger(__name__)

WORKERS = 8


class Pacer:
    """At most ``rate`` starts per second, spread evenly, across every caller."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def template_payload(item: OutboundNotice) -> dict[str, Any]:
    """The Graph API body of a template message (SPEC "Messages the office sends first")."""
    components: list[dict[str, Any]] = [{
        "type": "body",
        "parameters": [{"type": "text", "text": value}
                       for value in item.template.body(item.values)],
    }]
    for index, button in enumerate(item.buttons):
        components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                           "parameters": [{"type": "payload", "payload": button.payload}]})
    return {
        "messaging_product": MESSAGING_PRODUCT,
        "recipient_type": "individual",
        "to": item.notice.phone,
        "type": "template",
        "template": {"name": item.template.name,
                     "language": {"code": item.template.language},
                     "components": components},
    }


def text_payload(item: OutboundNotice) -> dict[str, Any]:
    """The same notice as free text with reply buttons (inside the 24-hour window)."""
    if not item.buttons:
        return {"messaging_product": MESSAGING_PRODUCT, "recipient_type": "individual",
                "to": item.notice.phone, "type": "text",
                "text": {"preview_url": False, "body": item.text[:4096]}}
    return {
        "messaging_product": MESSAGING_PRODUCT,
        "recipient_type": "individual",
        "to": item.notice.phone,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": item.text[:1024]},
            "action": {"buttons": [{"type": "reply",
                                    "reply": {"id": b.payload, "title": b.label[:20]}}
                                   for b in item.buttons[:3]]},
        },
    }


def payload_of(item: OutboundNotice) -> dict[str, Any]:
    return text_payload(item) if item.as_text else template_payload(item)


def retryable(result: SendResult) -> bool:
    """Whether a later try may succeed: no answer, 5xx, too fast, or temporary."""
    return (result.status is None or result.status >= 500 or result.status == 429
            or result.error_code in RATE_LIMIT_CODES or result.error_code in TRANSIENT_CODES)


class NoticeSender:
    """Sends what the outbox holds that is due, through one Graph API client.

    Args:
        outbox: The outbox (its booking service, configuration and clock).
        client: The channel's Graph API client.
        rate: Messages per second; the office configuration's by default.
        workers: Notices in flight at once.
    """

    def __init__(self, outbox: NoticeOutbox, client: GraphClient, rate: float | None = None,
                 workers: int = WORKERS) -> None:
        self.outbox = outbox
        self.client = client
        self.pacer = Pacer(rate or outbox.config.messages_per_second)  # turns to claim
        self.gate = Pacer(rate or outbox.config.messages_per_second)  # requests, strictly
        self.workers = workers

    async def send_due(self) -> int:
        """Send every due notice; returns how many the Graph API accepted."""
        counts = await asyncio.gather(*(self._worker() for _ in range(self.workers)))
        return sum(counts)

    async def _worker(self) -> int:
        accepted = 0
        while True:
            # Claimed only when its turn to go has come: a process killed while pacing
            # holds no claim, so a restart sends the rest at once.
            await self.pacer.wait()
            items = await asyncio.to_thread(self.outbox.claim, 1)
            if not items:
                return accepted
            for item in items:
                # Claims take a database round trip of varying length; the requests
                # themselves are spaced here, so no second ever carries more than the rate.
                await self.gate.wait()
                result = await self.client.send_message(
                    payload_of(item), recipient=item.notice.phone,
                    context_id=f"notice {item.notice.id}")
                if result.ok:
                    accepted += 1
                    await asyncio.to_thread(self.outbox.sent, item, result.message_id)
                else:
                    await asyncio.to_thread(self.outbox.failed, item, result.error_code,
                                            result.error_title, retryable(result))


def preview(item: OutboundNotice) -> str:
    """What ``law-notices --print`` shows for a notice: the template and its text."""
    body = template_payload(item)
    body["to"] = "…" + item.notice.phone[-4:]
    buttons = " | ".join(f"[{b.label}] → {b.payload}" for b in item.buttons)
    return (f"--- {item.notice.kind.value} (templat {item.template.name}, "
            f"bahasa {item.template.language}) ke {body['to']}\n{item.text}\n"
            f"Tombol: {buttons}\n{json.dumps(body, ensure_ascii=False)}")
