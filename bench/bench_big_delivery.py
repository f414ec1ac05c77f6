#!/usr/bin/env python
"""How long one huge webhook delivery holds the WhatsApp channel's event loop.

Issue 14 (point 8): a signed delivery of 200,000 messages stopped the loop for 11.7 s in one
piece, so every other applicant waited. This script serves the channel the way Rasa does
(``configure_app``, Sanic on loopback, an embedded SQLite inbox in a temporary folder), with a
handler that only counts messages, posts one delivery of ``--messages`` messages from another
thread, and samples the loop every 5 ms from a task on it. It prints the longest pauses of
the loop (the aim: none over 100 ms), how long the webhook took to answer 200, the most
asyncio tasks alive at once (bounded: the channel keeps at most a few thousand messages of one
delivery in memory, the rest waits in the inbox), and how many messages were handled in the
time given. JAX is left out as ``law-rasa`` does in production (its garbage-collector hook
would be measured otherwise). Read receipts go to a closed port and fail quietly.

Usage::

    .venv/bin/python bench/bench_big_delivery.py [--messages 200000] [--seconds 30]
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.modules.setdefault("jax", None)  # type: ignore[arg-type]  # as law-rasa: no JAX

from rasa.core.channels.channel import UserMessage  # noqa: E402
from rasa.core.run import configure_app  # noqa: E402
from whatsapp_traffic import API_VERSION, APP_SECRET, PHONE_NUMBER_ID, signed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from addons.whatsapp import WhatsAppInput  # noqa: E402
from addons.whatsapp.settings import WhatsAppSettings  # noqa: E402


class CountingAgent:
    """Stands in for Rasa's agent: counts the messages handed to it."""

    def __init__(self) -> None:
        self.handled = 0

    async def handle_message(self, message: UserMessage) -> None:
        self.handled += 1


def big_delivery(count: int) -> dict[str, Any]:
    now = str(int(time.time()))
    messages = [{"from": f"62812{index:08d}", "id": f"wamid.big.{index}", "timestamp": now,
                 "type": "text", "text": {"body": "halo"}} for index in range(count)]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "620000", "phone_number_id": PHONE_NUMBER_ID},
             "messages": messages}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=600) as answer:
        return int(answer.status), time.monotonic() - started


async def measure(count: int, seconds: float, workdir: Path) -> None:
    settings = WhatsAppSettings(
        access_token="bench-token", phone_number_id=PHONE_NUMBER_ID, app_secret=APP_SECRET,
        verify_token="bench-verify", api_version=API_VERSION,
        api_base_url="http://127.0.0.1:9", dedup_db_url=f"sqlite:///{workdir / 'inbox.db'}")
    channel = WhatsAppInput(settings)
    agent = CountingAgent()
    app = configure_app(input_channels=[channel], enable_api=False, port=0)
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True,
                                     access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    port = server.server.sockets[0].getsockname()[1]
    body, headers = signed(big_delivery(count))
    print(f"delivery: {count} messages, {len(body) / 1e6:.1f} MB", flush=True)

    gaps: list[float] = []
    most_tasks = 0

    async def watch() -> None:
        nonlocal most_tasks
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last - 0.005)
            last = now
            most_tasks = max(most_tasks, len(asyncio.all_tasks()))

    watcher = asyncio.get_running_loop().create_task(watch())
    status, answered_s = await asyncio.get_running_loop().run_in_executor(
        None, post, f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook", body, headers)
    await asyncio.sleep(seconds)
    watcher.cancel()
    channel.queues.cancel()
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()

    worst = sorted(gaps, reverse=True)
    over = sum(1 for gap in gaps if gap > 0.1)
    print(f"webhook answered {status} after {answered_s:.1f} s")
    print(f"loop pauses: longest {worst[0] * 1000:.0f} ms, then "
          f"{', '.join(f'{gap * 1000:.0f}' for gap in worst[1:5])} ms; "
          f"{over} over 100 ms in {len(gaps)} samples")
    print(f"asyncio tasks alive at most: {most_tasks}")
    print(f"messages handled in {answered_s + seconds:.0f} s: {agent.handled}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long to keep measuring after the 200")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("addons.whatsapp").setLevel(logging.CRITICAL)  # read receipts fail
    with tempfile.TemporaryDirectory(prefix="law-bench-") as workdir:
        asyncio.run(measure(args.messages, args.seconds, Path(workdir)))
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
