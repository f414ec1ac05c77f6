"""What the WhatsApp channel records for ``/metrics`` (``antrean.metrics``), in one place.

The channel, its output and its Graph client call these one-line hooks; each is a few
in-memory increments. A message's arrival time is kept by its id from the webhook until its
last reply was handed to the Graph API, for the end-to-end latency histogram; messages taken
up again from the inbox after a restart have no arrival time here and are not timed. Ids are
only keys of that map, never labels. The hooks may run on a worker thread (the channel sorts a
large delivery out there), so the map is guarded by a lock.
"""
from __future__ import annotations

import threading
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
CHUNK = 1000

_arrived: OrderedDict[str, float] = OrderedDict()
_arrived_lock = threading.Lock()
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
    fresh = [message.message_id for message in messages if message.message_id in taken]
    if len(fresh) < len(messages):
        metrics.DUPLICATES.inc(len(messages) - len(fresh))
    for start in range(0, len(fresh), CHUNK):  # the loop's answered() waits one chunk at most
        with _arrived_lock:
            for message_id in fresh[start:start + CHUNK]:
                _arrived.setdefault(message_id, now)
            while len(_arrived) > REMEMBERED:
                _arrived.popitem(last=False)


def answered(message_id: str) -> None:
    """The message's work is over (its last reply handed to the Graph API, or it failed)."""
    with _arrived_lock:
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
