"""What the metrics cost per WhatsApp message: the channel's hooks and the lock timing.

Runs the hooks one message goes through — arrival (``instrumentation.accepted``), two replies
(each a Graph API attempt and a reply counted), the lock wait observed, the end-to-end
latency observed (``instrumentation.answered``) — many times in one process and prints the
time per message beside a loop that only builds the message. Compare with Rasa's own work per
message (docs/performance.md: milliseconds).

    .venv/bin/python bench/bench_metrics.py
"""
from __future__ import annotations

import itertools
import timeit

from addons.whatsapp import instrumentation
from addons.whatsapp.graph_client import SendResult
from addons.whatsapp.payload import InboundMessage, MessageKind
from antrean import metrics

MESSAGES = 20_000
REPLIES = 2
_ids = itertools.count()
_OK = SendResult(ok=True, attempts=1)


def _message() -> InboundMessage:
    return InboundMessage(message_id=f"wamid.{next(_ids)}", sender_id="6281200000000",
                          kind=MessageKind.TEXT, wire_type="text", text="halo")


def build_only() -> None:
    _message()


def one_message() -> None:
    message = _message()
    instrumentation.accepted([message], {message.message_id})
    metrics.LOCK_WAIT.observe(0.002)
    for _ in range(REPLIES):
        instrumentation.graph_attempt(_OK)
        instrumentation.reply_sent(_OK)
    instrumentation.answered(message.message_id)


def main() -> None:
    hooked = min(timeit.repeat(one_message, number=MESSAGES, repeat=5)) / MESSAGES
    base = min(timeit.repeat(build_only, number=MESSAGES, repeat=5)) / MESSAGES
    print(f"metrics per WhatsApp message ({REPLIES} replies): {(hooked - base) * 1e6:.1f} µs "
          f"({MESSAGES} messages, best of 5)")


if __name__ == "__main__":
    main()
