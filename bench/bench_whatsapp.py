#!/usr/bin/env python
"""Benchmark of the WhatsApp channel: webhook latency, end-to-end latency, throughput.

Starts the Rasa Sanic app with the WhatsApp channel in a child process (the bot is either a
trained model loaded through ``rasa.core.agent`` or an echo handler), a fake Graph API in this
process (a small aiohttp server that records when each reply arrives), and drives the webhook
with signed payloads over loopback:

1. a fixed rate for a fixed time: webhook answer latency and end-to-end latency (webhook
   request sent → reply POSTed to the Graph API) as p50/p95/p99;
2. a ramp of rising rates, each for a few seconds: the highest rate at which every reply
   arrives and p95 end-to-end stays under a bound is the highest sustained messages/second.

Each message comes from a different (fake) applicant, so replies are matched by recipient.
Everything is bounded by ``--max-messages`` and ``--max-seconds`` and stays on 127.0.0.1.

Usage::

    .venv/bin/python bench/bench_whatsapp.py --echo
    .venv/bin/python bench/bench_whatsapp.py --model models/ --rate 5 --ramp 2,5,10,20
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
PHONE_NUMBER_ID = "100000000000001"
API_VERSION = "v21.0"
WEBHOOK = "/webhooks/whatsapp/webhook"


# --- the server side (child process) ----------------------------------------------------


class EchoAgent:
    """Stands in for Rasa's Agent: answers every message with its own text."""

    async def handle_message(self, message: Any) -> None:
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")


def serve(args: argparse.Namespace) -> None:
    """Run the Rasa app with the WhatsApp channel until terminated (child process)."""
    import logging

    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.WARNING)
    from rasa.core.run import configure_app

    from addons.whatsapp import WhatsAppInput
    from addons.whatsapp.settings import RetryPolicy, WhatsAppSettings

    settings = WhatsAppSettings(
        access_token="bench-token",
        phone_number_id=PHONE_NUMBER_ID,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        api_version=API_VERSION,
        api_base_url=args.graph_url,
        dedup_db_url=args.db_url,
        retry=RetryPolicy(max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.5),
    )
    channel = WhatsAppInput(settings)
    app = configure_app(input_channels=[channel], enable_api=False, port=args.port)

    async def load(app_: Any, _loop: Any) -> None:
        if args.model:
            from rasa.core.agent import load_agent
            from rasa.core.utils import AvailableEndpoints

            # Without --endpoints: in-memory trackers, no action server (nothing written).
            endpoints = (AvailableEndpoints.read_endpoints(args.endpoints) if args.endpoints
                         else AvailableEndpoints())
            agent = await load_agent(model_path=args.model, endpoints=endpoints)
            if not agent.is_ready():
                raise SystemExit(f"bench server: the model {args.model} did not load")
            app_.ctx.agent = agent
        else:
            app_.ctx.agent = EchoAgent()

    app.register_listener(load, "before_server_start")
    app.run(host="127.0.0.1", port=args.port, access_log=False, workers=1, motd=False)


# --- the driver side (this process) -----------------------------------------------------


@dataclass
class FakeGraph:
    """Records the first reply to each recipient and counts every call."""

    first_reply_at: dict[str, float] = field(default_factory=dict)
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
            self.first_reply_at.setdefault(str(body.get("to")), now)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return web.json_response({"messaging_product": "whatsapp",
                                  "messages": [{"id": f"wamid.fake.{self.replies}"}]})


@dataclass
class Sample:
    sender: str
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
    def __init__(self, base_url: str, graph: FakeGraph, text: str, max_messages: int) -> None:
        self.base_url = base_url
        self.graph = graph
        self.text = text
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
            sample = Sample(sender=f"6280{self.counter:09d}", sent_at=0.0, number=self.counter)
            samples.append(sample)
            tasks.append(asyncio.create_task(self._send(sample)))
        await asyncio.gather(*tasks)
        return samples

    async def _send(self, sample: Sample) -> None:
        assert self.session is not None
        body, headers = signed(delivery(sample.sender, sample.number, self.text))
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


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return f"p50 {pick(0.50):7.1f} ms   p95 {pick(0.95):7.1f} ms   p99 {pick(0.99):7.1f} ms"


def end_to_end(samples: list[Sample], graph: FakeGraph) -> list[float]:
    return [graph.first_reply_at[s.sender] - s.sent_at
            for s in samples if s.sender in graph.first_reply_at]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the bench server exited during start-up")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


async def drive(args: argparse.Namespace) -> int:
    graph = FakeGraph(latency_s=args.graph_latency_ms / 1000)
    graph_app = web.Application()
    graph_app.router.add_post(f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages", graph.handle)
    runner = web.AppRunner(graph_app, access_log=None)
    await runner.setup()
    graph_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", graph_port).start()

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="law-bench-")
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port),
               "--graph-url", f"http://127.0.0.1:{graph_port}",
               "--db-url", f"sqlite:///{workdir}/dedup.db"]
    if args.model:
        command += ["--model", resolve_model(args.model)]
    if args.endpoints:
        command += ["--endpoints", str(Path(args.endpoints).resolve())]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(Path(workdir) / "server.log", "w"))
    started = time.monotonic()
    completed = False
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(base + "/webhooks/whatsapp/", server, timeout=args.startup_timeout)
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(f"{exc}; see {workdir}/server.log") from None
        mode = f"model {resolve_model(args.model)}" if args.model else "echo handler"
        print(f"WhatsApp channel benchmark ({mode}), server and fake Graph API on 127.0.0.1\n")
        async with Driver(base, graph, args.text, args.max_messages) as driver:
            warm_up = await driver.run_rate(min(5.0, args.rate), 1.0)  # not reported
            await driver.wait_for_replies(warm_up, args.grace)

            samples = await driver.run_rate(args.rate, args.duration)
            await driver.wait_for_replies(samples, args.grace)
            webhook_ms = [s.answered_s for s in samples if s.status == 200 and s.answered_s]
            e2e = end_to_end(samples, graph)
            print(f"Fixed rate {args.rate:g} msg/s for {args.duration:g} s "
                  f"({len(samples)} messages, {len(e2e)} answered):")
            print(f"  webhook answer   {percentiles(webhook_ms)}")
            print(f"  end-to-end       {percentiles(e2e)}\n")

            best = 0.0
            print(f"Ramp ({args.step_seconds:g} s per step; sustained = every reply within "
                  f"{args.grace:g} s, ≥ 95 % of the offered rate achieved, p95 end-to-end "
                  f"≤ {args.max_p95_ms:g} ms):")
            for rate in args.ramp:
                if driver.counter >= args.max_messages or \
                        time.monotonic() - started > args.max_seconds:
                    print("  (stopped: message or time budget used up)")
                    break
                step_started = time.monotonic()
                samples = await driver.run_rate(rate, args.step_seconds)
                await driver.wait_for_replies(samples, args.grace)
                e2e = end_to_end(samples, graph)
                answered = len(e2e) / len(samples) if samples else 0.0
                last = max((graph.first_reply_at.get(s.sender, 0.0) for s in samples),
                           default=step_started)
                achieved = len(e2e) / max(1e-9, last - step_started)
                p95 = sorted(e2e)[int(0.95 * (len(e2e) - 1))] * 1000 if e2e else float("inf")
                ok = answered >= 1.0 and achieved >= 0.95 * rate and p95 <= args.max_p95_ms
                print(f"  offered {rate:6g} msg/s: answered {answered:6.1%}, achieved "
                      f"{achieved:7.1f} msg/s, p95 end-to-end {p95:8.1f} ms "
                      f"{'ok' if ok else 'NOT sustained'}")
                if not ok:
                    break
                best = rate
            print(f"\nHighest sustained rate: {best:g} messages/second "
                  f"({graph.replies} replies and {graph.read_receipts} read receipts recorded)")
        completed = True
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        await runner.cleanup()
    if completed:
        shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its log
    return 0


def resolve_model(path: str) -> str:
    candidate = Path(path)
    if candidate.is_dir():
        models = sorted(candidate.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not models:
            raise SystemExit(f"no *.tar.gz model in {candidate}")
        return str(models[-1].resolve())
    return str(candidate.resolve())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bot = parser.add_mutually_exclusive_group()
    bot.add_argument("--model", help="trained model (file or directory, e.g. models/)")
    bot.add_argument("--echo", action="store_true", help="echo handler instead of a model "
                     "(the default when no --model is given)")
    parser.add_argument("--rate", type=float, default=50.0, help="fixed rate, msg/s")
    parser.add_argument("--duration", type=float, default=10.0, help="fixed-rate seconds")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",")],
                        default=[25, 50, 100, 150, 200, 300, 400, 600, 800],
                        help="ramp rates, msg/s (comma-separated)")
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds to wait for the last replies of a step")
    parser.add_argument("--max-p95-ms", type=float, default=1000.0)
    parser.add_argument("--graph-latency-ms", type=float, default=0.0,
                        help="simulated Graph API answer time")
    parser.add_argument("--text", default="halo",
                        help="what every applicant sends (with --model, pick a message the "
                        "bot answers without the action server, or pass --endpoints)")
    parser.add_argument("--endpoints", help="endpoints.yml for --model (action server, stores)")
    parser.add_argument("--max-messages", type=int, default=20_000)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    # Internal: the child process serving the channel.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--graph-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args)
        return 0
    return asyncio.run(drive(args))


if __name__ == "__main__":
    sys.exit(main())
