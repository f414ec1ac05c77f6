"""What the WhatsApp channel records for ``/metrics`` (``antrean.metrics``), in one place.

The channel, its output and its Graph client call these one-line hooks; each is a few
in-memory increments. A message's arrival time is kept by its id from the webhook until its
last reply was handed to the Graph API, for the end-to-end latency histogram; messages taken
up again from the inbox after a restart have no arrival time here and are not timed. Ids are
only keys of that map, never labels.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from antrean import metrics

if TYPE_CHECKING:  # the client imports this module
    from addons.whatsapp.graph_client import SendResult
    from addons.whatsapp.payload import InboundMessage

CHANNEL = "whatsapp"
# Arrival times kept at most (a message never answered must not grow the map forever).
REMEMBERED = 50_000

_arrived: OrderedDict[str, float] = OrderedDict()
_received = metrics.MESSAGES_RECEIVED.labels(CHANNEL)
_sent = metrics.REPLIES_SENT.labels(CHANNEL)
_failed = metrics.REPLIES_FAILED.labels(CHANNEL)
_latency = metrics.REPLY_LATENCY.labels(CHANNEL)


def accepted(messages: Sequence[InboundMessage], taken: Collection[str]) -> None:
    """A signed delivery's messages arrived; ``taken`` are those to be answered (not seen before).

    Args:
        messages: The delivery's messages for this business number.
        taken: The ids leased to this process (the others are re-deliveries).
    """
    now = time.perf_counter()
    _received.inc(len(messages))
    skipped = 0
    for message in messages:
        if message.message_id in taken:
            _arrived.setdefault(message.message_id, now)
        else:
            skipped += 1
    if skipped:
        metrics.DUPLICATES.inc(skipped)
    while len(_arrived) > REMEMBERED:
        _arrived.popitem(last=False)


def answered(message_id: str) -> None:
    """The message's work is over (its last reply handed to the Graph API, or it failed)."""
    arrived = _arrived.pop(message_id, None)
    if arrived is not None:
        _latency.observe(time.perf_counter() - arrived)


def reply_sent(result: SendResult) -> None:
    """One reply went to the Graph API: accepted, or refused after every retry."""
    (_sent if result.ok else _failed).inc()


def graph_attempt(result: SendResult) -> None:
    """One Graph API request ended (retries are counted one by one); only failures count."""
    if result.ok:
        return
    code = str(result.error_code) if result.error_code is not None else "none"
    status = str(result.status) if result.status is not None else "none"
    metrics.GRAPH_ERRORS.labels(code, status).inc()
