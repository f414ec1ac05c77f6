#!/usr/bin/env python
"""Benchmark of the WhatsApp channel: webhook latency, end-to-end latency, throughput.

Starts the Rasa Sanic app with the WhatsApp channel in a child process (the bot is either a
trained model loaded through ``rasa.core.agent`` or an echo handler), a fake Graph API in this
process (a small aiohttp server that records when each reply arrives), and drives the webhook
with signed payloads over loopback (``whatsapp_traffic.py``):

1. a fixed rate for a fixed time: webhook answer latency and end-to-end latency (webhook
   request sent → reply POSTed to the Graph API) as p50/p95/p99;
2. a ramp of rising rates, each for a few seconds: the highest rate at which every reply
   arrives and p95 end-to-end stays under a bound is the highest sustained messages/second.

Each message comes from a different (fake) applicant, so replies are matched by recipient.
The messages cycle through the ``--text`` values. With ``--with-actions`` the project's action
server is started too (``processes.py``): throwaway slot store and tracker store in a
temporary folder, never ``var/``. Everything is bounded by ``--max-messages`` and
``--max-seconds`` and stays on 127.0.0.1.

Usage (docs/whatsapp.md, "Benchmark", has the runs reported there)::

    .venv/bin/python bench/bench_whatsapp.py --echo
    .venv/bin/python bench/bench_whatsapp.py --model models/ --with-actions --rate 2
        --text halo --text "jam buka kantor jam berapa?" --text "mau daftar antrean paspor"
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from processes import (
    TRACKER_STORES,
    bench_environment,
    free_port,
    start_action_server,
    stop,
    wait_for,
    write_endpoints,
)
from whatsapp_traffic import (
    API_VERSION,
    APP_SECRET,
    PHONE_NUMBER_ID,
    Driver,
    FakeGraph,
    end_to_end,
    percentiles,
    quantile_ms,
)

ROOT = Path(__file__).resolve().parents[1]
VERIFY_TOKEN = "bench-verify-token"
ECHO_RAMP = [25, 50, 100, 150, 200, 300, 400, 600, 800]
MODEL_RAMP = [1, 2, 3, 4, 6, 8, 10, 15, 20]


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


async def drive(args: argparse.Namespace) -> int:
    """Start the fake Graph API, the action server if asked, the channel; then measure."""
    graph = FakeGraph(latency_s=args.graph_latency_ms / 1000)
    graph_app = web.Application()
    graph_app.router.add_post(f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages", graph.handle)
    runner = web.AppRunner(graph_app, access_log=None)
    await runner.setup()
    graph_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", graph_port).start()

    if args.model:
        args.model = resolve_model(args.model)  # once: training may add a newer one meanwhile
    workdir = Path(tempfile.mkdtemp(prefix="law-bench-"))
    children: list[subprocess.Popen] = []
    completed = False
    try:
        endpoints = str(Path(args.endpoints).resolve()) if args.endpoints else None
        if args.with_actions:
            action_port = free_port()
            actions = start_action_server(ROOT, workdir, action_port)
            children.append(actions)
            await wait_for(f"http://127.0.0.1:{action_port}/health", actions, "action server",
                           args.startup_timeout, workdir / "action-server.log")
            endpoints = str(write_endpoints(workdir, action_port, args.tracker_store))

        port = free_port()
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port),
                   "--graph-url", f"http://127.0.0.1:{graph_port}",
                   "--db-url", f"sqlite:///{workdir}/dedup.db"]
        if args.model:
            command += ["--model", args.model]
        if endpoints:
            command += ["--endpoints", endpoints]
        server = subprocess.Popen(command, cwd=ROOT, env=bench_environment(workdir),
                                  stdout=subprocess.DEVNULL,
                                  stderr=open(workdir / "server.log", "w"))  # noqa: SIM115
        children.insert(0, server)  # stopped first: it may still be calling the actions
        base = f"http://127.0.0.1:{port}"
        await wait_for(base + "/webhooks/whatsapp/", server, "bench server",
                       args.startup_timeout, workdir / "server.log")
        print(f"WhatsApp channel benchmark ({describe(args)}), all on 127.0.0.1")
        print(f"Messages, in turn: {' | '.join(args.text)}\n")
        async with Driver(base, graph, args.text, args.max_messages) as driver:
            await measure(args, driver, graph)
        completed = True
    finally:
        for child in children:
            stop(child)
        await runner.cleanup()
    if completed:
        shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its logs
    return 0


async def measure(args: argparse.Namespace, driver: Driver, graph: FakeGraph) -> None:
    """The fixed-rate run, then the ramp; prints the figures."""
    started = time.monotonic()
    warm_up = await driver.run_rate(min(5.0, args.rate), 1.0)  # not reported
    await driver.wait_for_replies(warm_up, args.grace)

    samples = await driver.run_rate(args.rate, args.duration)
    await driver.wait_for_replies(samples, args.grace)
    webhook_s = [s.answered_s for s in samples if s.status == 200 and s.answered_s]
    e2e = end_to_end(samples, graph)
    print(f"Fixed rate {args.rate:g} msg/s for {args.duration:g} s "
          f"({len(samples)} messages, {len(e2e)} answered):")
    print(f"  webhook answer   {percentiles(webhook_s)}")
    print(f"  end-to-end       {percentiles(e2e)}")
    for text in args.text:
        own = [s for s in samples if s.text == text]
        opening = next((graph.first_reply_text[s.sender] for s in own
                        if s.sender in graph.first_reply_text), "(no reply)")
        print(f"    {text[:28]!r:30} {percentiles(end_to_end(own, graph))}")
        print(f"    {'':30} first reply: {opening!r}")
    print()

    best = 0.0
    print(f"Ramp ({args.step_seconds:g} s per step; sustained = every reply within "
          f"{args.grace:g} s, ≥ 95 % of the offered rate achieved, p95 end-to-end "
          f"≤ {args.max_p95_ms:g} ms):")
    for rate in args.ramp:
        if driver.counter >= args.max_messages or time.monotonic() - started > args.max_seconds:
            print("  (stopped: message or time budget used up)")
            break
        step_started = time.monotonic()
        samples = await driver.run_rate(rate, args.step_seconds)
        await driver.wait_for_replies(samples, args.grace)
        e2e = end_to_end(samples, graph)
        answered = len(e2e) / len(samples) if samples else 0.0
        last = max((graph.first_reply_at.get(s.sender, 0.0) for s in samples),
                   default=step_started)
        # Replies per second over the step, or until its last reply if that came later.
        achieved = len(e2e) / max(args.step_seconds, last - step_started)
        p95 = quantile_ms(e2e, 0.95)
        ok = answered >= 1.0 and achieved >= 0.95 * rate and p95 <= args.max_p95_ms
        print(f"  offered {rate:6g} msg/s: answered {answered:6.1%}, achieved "
              f"{achieved:7.1f} msg/s, p95 end-to-end {p95:8.1f} ms "
              f"{'ok' if ok else 'NOT sustained'}")
        if not ok:
            break
        best = rate
    print(f"\nHighest sustained rate: {best:g} messages/second "
          f"({graph.replies} replies and {graph.read_receipts} read receipts recorded)")


def describe(args: argparse.Namespace) -> str:
    if not args.model:
        return "echo handler"
    model = Path(args.model).name
    if args.with_actions:
        return f"model {model}, action server, {args.tracker_store} tracker store"
    if args.endpoints:
        return f"model {model}, endpoints {args.endpoints}"
    return f"model {model}, no action server, in-memory trackers"


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
    parser.add_argument("--rate", type=float,
                        help="fixed rate, msg/s (default 50 for --echo, 2 for --model)")
    parser.add_argument("--duration", type=float, default=10.0, help="fixed-rate seconds")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",")],
                        help="ramp rates, msg/s (comma-separated; default "
                        f"{','.join(map(str, ECHO_RAMP))} for --echo, "
                        f"{','.join(map(str, MODEL_RAMP))} for --model)")
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--grace", type=float,
                        help="seconds to wait for the last replies of a run or step (default "
                        "5 for --echo, 30 for --model)")
    parser.add_argument("--max-p95-ms", type=float, default=1000.0)
    parser.add_argument("--graph-latency-ms", type=float, default=0.0,
                        help="simulated Graph API answer time")
    parser.add_argument("--text", action="append",
                        help="a message the applicants send; repeat it and the messages are "
                        "sent in turn (default: halo). Without an action server, pick "
                        "messages the bot answers by itself")
    stores = parser.add_mutually_exclusive_group()
    stores.add_argument("--endpoints", help="endpoints.yml for --model (action server, stores)")
    stores.add_argument("--with-actions", action="store_true",
                        help="with --model: start the project's action server on a free port "
                        "with a throwaway slot store and write the endpoints.yml for it")
    parser.add_argument("--tracker-store", choices=TRACKER_STORES, default="sqlite",
                        help="with --with-actions: trackers in memory or in a temporary "
                        "SQLite file, like the embedded endpoints.yml (default)")
    parser.add_argument("--max-messages", type=int, default=20_000)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--startup-timeout", type=float, default=600.0,
                        help="seconds each server may take to start (a model loads slowly)")
    # Internal: the child process serving the channel.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--graph-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.with_actions and not args.model:
        parser.error("--with-actions needs --model")
    args.text = args.text or ["halo"]
    args.ramp = args.ramp or (MODEL_RAMP if args.model else ECHO_RAMP)
    args.rate = args.rate or (2.0 if args.model else 50.0)
    args.grace = args.grace if args.grace is not None else (30.0 if args.model else 5.0)
    return args


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args)
        return 0
    return asyncio.run(drive(args))


if __name__ == "__main__":
    sys.exit(main())
