#!/usr/bin/env python
"""Scale-out figures: the production topology with 1, 2 and 3 Rasa processes, one after another.

For each count N, ``law-prod --rasa N`` (as ``make run-prod`` starts it: the load balancer in
front, the action servers, PostgreSQL and Redis, the lock store of ``law_rasa/lock_store.py``)
gets fresh databases and a Redis key prefix of its own, is warmed process by process, then
receives signed WhatsApp deliveries (``bench/whatsapp_traffic.py``, each from a new fake
applicant) through its front:

1. end to end (delivery sent → first reply at a fake Graph API) at a fixed rate, p50/p95;
2. a ramp of rising rates: the highest sustained rate (every reply arrives, ≥ 95 % of the
   offered rate achieved, p95 ≤ 1 s) and the p95 at that rate.

Only one topology runs at a time: on a small machine N processes share its cores, and the
table shows what another process buys there (docs/performance.md, "Scale-out"). Printed,
never asserted. ``make bench`` runs it after ``bench/bench_prod.py``; it shares that script's
phases and flags (``--quick``, ``--no-topology``; the others are ignored here).

Usage::

    .venv/bin/python bench/bench_scale.py                  # 1, 2, 3 Rasa processes
    .venv/bin/python bench/bench_scale.py --quick          # short phases, short ramp
    .venv/bin/python bench/bench_scale.py --counts 1,2 --rate 10
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_prod import (  # noqa: E402
    OURS_TEXTS,
    PROD,
    PROD_POSTGRES,
    PROD_REDIS,
    QUICK_RAMP,
    RAMP,
    Bot,
    Topology,
    base_env,
    e2e_figures,
    load,
    newest_law_model,
    ramp_step,
    settle,
    start_graph,
    warm_each_process,
)
from processes import free_ports, stop  # noqa: E402
from whatsapp_traffic import (  # noqa: E402
    API_VERSION,
    APP_SECRET,
    PHONE_NUMBER_ID,
    Driver,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    rasa: int
    ready_s: float = 0.0
    fixed: str = "(not measured)"
    sustained: float = 0.0
    p95_at_sustained: float = float("nan")
    ramp_ended: bool = False  # every step was sustained: the machine may do more


def law_prod_options() -> str:
    """``law-prod --help``: which options this checkout's launcher has."""
    return subprocess.run([*PROD, "--help"], capture_output=True, text=True, cwd=ROOT).stdout


async def start(bot: Bot, rasa: int, workdir: Path, args: argparse.Namespace) -> float:
    """Start ``law-prod --rasa <rasa>``; seconds until it reports the topology up."""
    assert bot.model is not None and bot.topology is not None
    front, action_front, *rest = free_ports(2 + rasa + args.actions)
    bot.port, bot.rasa_ports = front, rest[:rasa]
    log_dir = workdir / f"prod-{rasa}-logs"
    log = workdir / f"prod-{rasa}-supervisor.log"
    env = {**base_env(workdir), **bot.topology.redis_env(),
           "LAW_DATABASE_URL": bot.topology.slot_url,
           "LAW_TRACKER_URL": bot.topology.tracker_url,
           "WHATSAPP_ACCESS_TOKEN": "bench-token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "bench-verify",
           "WHATSAPP_API_VERSION": API_VERSION, "WHATSAPP_API_BASE_URL": bot.graph_url}
    env.pop("LAW_RASA_AUTH_TOKEN", None)
    command = [*PROD, "--model", str(bot.model), "--rasa", str(rasa),
               "--actions", str(args.actions), "--create-databases",
               "--port", str(front), "--action-port", str(action_front),
               "--rasa-ports", ",".join(map(str, bot.rasa_ports)),
               "--action-ports", ",".join(map(str, rest[rasa:])),
               "--log-dir", str(log_dir), "--ready-timeout", str(args.startup_timeout)]
    if "--no-console" in law_prod_options():  # the staff console is not measured here
        command.append("--no-console")
    started = time.monotonic()
    with log.open("w") as out:
        bot.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                       stderr=subprocess.STDOUT)
    while " is up:" not in log.read_text(errors="replace"):
        if bot.process.poll() is not None or time.monotonic() - started > args.startup_timeout:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise SystemExit(f"law-prod --rasa {rasa} did not come up; see {log} and "
                             f"{log_dir}:\n{tail}")
        await asyncio.sleep(0.2)
    seconds = time.monotonic() - started
    listed = [(line.split()[0], int(line.split(" pid ")[1].split()[0]))
              for line in log.read_text().splitlines() if " pid " in line]
    bot.pids = [pid for _, pid in listed]
    bot.rasa_pids = [pid for name, pid in listed if name.startswith("rasa-")]
    if len(bot.rasa_pids) != rasa:
        raise SystemExit(f"{len(bot.rasa_pids)} Rasa processes listed in {log}, {rasa} expected")
    return seconds


async def measure(rasa: int, model: Path, workdir: Path, args: argparse.Namespace) -> Figures:
    figures = Figures(rasa)
    bot = Bot(f"rasa×{rasa}", ROOT, args.ours_text or OURS_TEXTS, model=model, with_actions=True,
              topology=Topology(args.prod_postgres, args.prod_redis))
    assert bot.topology is not None
    reason = bot.topology.unavailable()
    if reason:
        raise SystemExit(f"the topology needs PostgreSQL and Redis: {reason}")
    runner = await start_graph(bot)
    try:
        figures.ready_s = await start(bot, rasa, workdir, args)
        print(f"\n{rasa} Rasa process(es): up in {figures.ready_s:.1f} s   [{load()}]",
              flush=True)
        async with Driver(f"http://127.0.0.1:{bot.port}", bot.graph, bot.texts,
                          args.max_messages) as driver:
            warm = await driver.run_rate(2.0, 1.0)
            await driver.wait_for_replies(warm, args.grace)
            await warm_each_process(bot, args)
            await settle(bot)
            samples = await driver.run_rate(args.rate, args.duration)
            await driver.wait_for_replies(samples, args.grace)
            _, figures.fixed = e2e_figures(samples, bot.graph)
            print(f"  {bot.name} at {args.rate:g} msg/s: {figures.fixed}   [{load()}]", flush=True)
            await settle(bot)
            figures.ramp_ended = True
            for rate in args.ramp:
                ok, p95 = await ramp_step(bot, driver, rate, args)
                if not ok:
                    figures.ramp_ended = False
                    break
                figures.sustained, figures.p95_at_sustained = rate, p95
    finally:
        if bot.process is not None:
            stop(bot.process, timeout=120.0)  # law-prod stops its groups, 20 s grace each
        await runner.cleanup()
        bot.topology.remove()
    return figures


def report(results: list[Figures], args: argparse.Namespace) -> None:
    cores = os.cpu_count()
    print(f"\nScale-out ({cores} cores, {args.actions} action servers, one topology at a time; "
          f"sustained = all answered, ≥ 95 % achieved, p95 ≤ {args.max_p95_ms:g} ms) "
          f"[{load()}]:")
    print(f"  {'Rasa':>4}  {'up':>7}  {'highest sustained':>18}  {'p95 there':>9}  "
          f"end to end at {args.rate:g} msg/s")
    for f in results:
        more = "+" if f.ramp_ended else " "
        print(f"  {f.rasa:>4}  {f.ready_s:5.0f} s  {f.sustained:12g} msg/s{more}  "
              f"{f.p95_at_sustained:6.0f} ms  {f.fixed}")
    if any(f.ramp_ended for f in results):
        print("  (+: the ramp's last step; the topology may sustain more, see --ramp)")


async def run(args: argparse.Namespace) -> int:
    model = Path(args.model).resolve() if args.model else newest_law_model()
    workdir = Path(tempfile.mkdtemp(prefix="law-bench-scale-"))
    print(f"LAW scale-out benchmark, {os.cpu_count()} cores, model {model.name}, {load()}; "
          f"work folder {workdir}", flush=True)
    results = []
    for rasa in args.counts:
        try:
            results.append(await measure(rasa, model, workdir, args))
        except SystemExit as failure:  # one count failing still leaves the others' figures
            print(f"  {rasa} Rasa process(es): {failure}", flush=True)
            args.keep = True
    report(results, args)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases, a shorter ramp")
    parser.add_argument("--topology", action=argparse.BooleanOptionalAction, default=True,
                        help="--no-topology: measure nothing (make bench without PostgreSQL)")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2, 3], help="Rasa process counts, comma-separated")
    parser.add_argument("--actions", type=int, default=2, help="action servers, every run")
    parser.add_argument("--model", help="trained model (default newest models/law-*.tar.gz)")
    parser.add_argument("--prod-postgres", default=PROD_POSTGRES)
    parser.add_argument("--prod-redis", default=PROD_REDIS)
    parser.add_argument("--rate", type=float, default=20.0, help="fixed rate, msg/s")
    parser.add_argument("--duration", type=float, help="fixed-rate seconds (15; --quick 5)")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",")],
                        help="ramp rates, msg/s, comma-separated (bench_prod's)")
    parser.add_argument("--step-seconds", type=float, help="seconds a step (8; --quick 4)")
    parser.add_argument("--grace", type=float, help="seconds for the last replies (60; 30)")
    parser.add_argument("--max-p95-ms", type=float, default=1000.0)
    parser.add_argument("--ours-text", action="append")
    parser.add_argument("--max-messages", type=int, default=20_000)
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    # `make bench` passes BENCH_ARGS to both scripts: bench_prod's other flags mean nothing here.
    args, ignored = parser.parse_known_args(argv)
    if ignored:
        print(f"bench_scale: ignoring {' '.join(ignored)} (bench_prod's)", flush=True)
    defaults = {"duration": (15.0, 5.0), "step_seconds": (8.0, 4.0), "grace": (60.0, 30.0),
                "ramp": (RAMP, QUICK_RAMP)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # children stopped, stores removed, as Ctrl-C
    args = parse_args()
    if not args.topology:
        print("bench_scale: --no-topology, nothing to measure")
        return 0
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("\ninterrupted (children stopped; the work folder is kept)", file=sys.stderr)
        return 130


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
