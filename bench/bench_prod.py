#!/usr/bin/env python
"""Production figures of LAW beside a stock ``rasa init`` bot, measured in the same run.

For each of the two bots (ours: the project with its action server; stock: the example bot
that ``rasa init --no-prompt`` generates and trains, with our WhatsApp channel added to its
credentials) this script prints:

1. full training time, cold (a fresh Rasa cache; ours with ``rasa train``, stock with
   ``rasa init --no-prompt``, which generates the bot and trains it; run without network);
2. start-to-ready time of ``rasa run`` (process started → its HTTP root answers, i.e. the
   model is loaded) and the Rasa process's memory (RSS) once ready;
3. end-to-end latency, webhook delivery sent → first reply POSTed to a fake Graph API,
   p50/p95/p99 at a fixed rate (20 msg/s), through the WhatsApp channel (``bench/
   whatsapp_traffic.py``: signed deliveries, each from a new fake applicant);
4. a ramp of rising rates: the highest sustained rate (every reply arrives, ≥ 95 % of the
   offered rate achieved, p95 end-to-end ≤ 1 s);
5. the Rasa process's RSS after the traffic.

The two bots run on this machine at once (both loaded, the one not measured idle) and every
phase alternates between them, so a neighbour's load hits both alike; the load average is
printed beside each phase. Trackers go to a SQLite file per bot in a temporary folder (the
embedded default), as does our slot store; nothing is written under ``var/`` or ``models/``.
Figures are printed, never asserted (docs/performance.md has the runs and the targets).

Usage::

    .venv/bin/python bench/bench_prod.py                   # everything, ~20-30 min
    .venv/bin/python bench/bench_prod.py --quick           # no training, short phases
    .venv/bin/python bench/bench_prod.py --skip-training --model models/law-….tar.gz
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_stats import cpu_seconds, print_profile, rss_mb, start_profiler  # noqa: E402
from processes import free_port, start_action_server, stop, wait_for  # noqa: E402
from whatsapp_traffic import (  # noqa: E402
    API_VERSION,
    APP_SECRET,
    PHONE_NUMBER_ID,
    Driver,
    FakeGraph,
    end_to_end,
    quantile_ms,
)

ROOT = Path(__file__).resolve().parents[1]
RASA = str(Path(sys.executable).with_name("rasa"))
PROD_RASA = [sys.executable, str(ROOT / "scripts" / "rasa_run.py")]
OURS_TEXTS = ["halo", "jam buka kantor jam berapa?", "mau daftar antrean paspor"]
STOCK_TEXTS = ["hello", "I am sad"]
RAMP = [2, 4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 100]
# The WhatsApp channel added to a bot's credentials; its settings come from the environment.
CREDENTIALS = "rest:\naddons.whatsapp.WhatsAppInput:\n"
# Only loopback is reachable while the stock bot is generated and trained: proves it offline.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@dataclass
class Bot:
    """One bot under test and what was measured of it."""

    name: str
    cwd: Path
    texts: list[str]
    model: Path | None = None
    with_actions: bool = False
    figures: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    port: int = 0
    graph: FakeGraph = field(default_factory=FakeGraph)
    graph_url: str = ""
    endpoints: Path | None = None
    sustained: float | None = None
    # How Rasa is started: as scripts/prod.py does (rasa_run.py), or plain `rasa`.
    rasa: list[str] = field(default_factory=lambda: [RASA])


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"


def base_env(workdir: Path) -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONDONTWRITEBYTECODE": "1", "RASA_CACHE_DIRECTORY": str(workdir / "cache")}


# --- training -------------------------------------------------------------------------------


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=cwd, env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode
    if code:
        raise SystemExit(f"{' '.join(command[:3])} failed ({code}); see {log}")
    return time.monotonic() - started


def train_ours(workdir: Path) -> tuple[Path, float]:
    out = workdir / "ours-models"
    env = {**base_env(workdir), "RASA_CACHE_DIRECTORY": str(workdir / "ours-cache")}
    seconds = timed([RASA, "train", "--out", str(out), "--fixed-model-name", "law-bench"],
                    ROOT, env, workdir / "ours-train.log")
    return out / "law-bench.tar.gz", seconds


def init_stock(directory: Path, workdir: Path) -> tuple[Path, float]:
    """``rasa init --no-prompt`` (generates and trains the bot) offline, timed."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)  # --no-prompt does not create it
    env = {**base_env(workdir), **OFFLINE,
           "RASA_CACHE_DIRECTORY": str(workdir / "stock-cache")}
    seconds = timed([RASA, "init", "--no-prompt", "--init-dir", str(directory)],
                    workdir, env, workdir / "stock-init.log")
    return newest(directory / "models"), seconds


def newest(folder: Path) -> Path:
    models = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model in {folder}")
    return models[-1].resolve()


# --- serving --------------------------------------------------------------------------------


async def settle(bot: Bot, timeout_s: float = 60.0) -> None:
    """Wait until the bot's Rasa process is idle (< 5 % of a core), so that a backlog left by
    one phase does not run during the next one (of either bot)."""
    assert bot.process is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_seconds(bot.process.pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(bot.process.pid) - before < 0.05:
            return


async def start_graph(bot: Bot) -> web.AppRunner:
    app = web.Application()
    app.router.add_post(f"/{API_VERSION}/{PHONE_NUMBER_ID}/messages", bot.graph.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bot.graph_url = f"http://127.0.0.1:{port}"
    return runner


def write_files(bot: Bot, workdir: Path, action_port: int | None) -> Path:
    lines = []
    if action_port:
        lines += ["action_endpoint:", f'  url: "http://127.0.0.1:{action_port}/webhook"']
    lines += ["tracker_store:", "  type: SQL", '  dialect: "sqlite"',
              f'  db: "{workdir / (bot.name + "-tracker.db")}"']
    bot.endpoints = workdir / f"{bot.name}-endpoints.yml"
    bot.endpoints.write_text("\n".join(lines) + "\n")
    credentials = workdir / "credentials-whatsapp.yml"
    credentials.write_text(CREDENTIALS)
    return credentials


def rasa_env(bot: Bot, workdir: Path, args: argparse.Namespace) -> dict[str, str]:
    env = {**base_env(workdir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "LAW_DATABASE_URL": f"sqlite:///{workdir / (bot.name + '-law.db')}",
           "WHATSAPP_ACCESS_TOKEN": "bench-token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "bench-verify",
           "WHATSAPP_API_VERSION": API_VERSION, "WHATSAPP_API_BASE_URL": bot.graph_url,
           "SANIC_WORKERS": "1"}
    # As scripts/prod.py runs Rasa: parallelism from processes, not TensorFlow thread pools.
    if args.tf_threads:
        env["TF_INTRA_OP_PARALLELISM_THREADS"] = str(args.tf_threads)
        env["TF_INTER_OP_PARALLELISM_THREADS"] = str(args.tf_threads)
    return env


async def start_rasa(bot: Bot, workdir: Path, credentials: Path,
                     args: argparse.Namespace) -> float:
    """Start ``rasa run`` for the bot; seconds until its HTTP root answers 200."""
    assert bot.model is not None and bot.endpoints is not None
    bot.port = free_port()
    log = workdir / f"{bot.name}-rasa.log"
    command = [*bot.rasa, "run", "-m", str(bot.model), "-i", "127.0.0.1", "-p", str(bot.port),
               "--endpoints", str(bot.endpoints), "--credentials", str(credentials)]
    started = time.monotonic()
    bot.process = subprocess.Popen(command, cwd=bot.cwd, env=rasa_env(bot, workdir, args),
                                   stdout=log.open("w"), stderr=subprocess.STDOUT)
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < args.startup_timeout:
            if bot.process.poll() is not None:
                raise SystemExit(f"{bot.name}: rasa run exited during start-up; see {log}")
            try:
                async with session.get(f"http://127.0.0.1:{bot.port}/") as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{bot.name}: not ready after {args.startup_timeout:.0f} s; see {log}")


# --- traffic --------------------------------------------------------------------------------


def e2e_figures(samples: list, graph: FakeGraph) -> tuple[list[float], str]:
    """End-to-end latencies (a message never answered counts as infinitely late)."""
    e2e = end_to_end(samples, graph)
    everything = e2e + [float("inf")] * (len(samples) - len(e2e))
    p50, p95, p99 = (quantile_ms(everything, q) for q in (0.50, 0.95, 0.99))
    return e2e, (f"p50 {p50:7.0f} ms  p95 {p95:7.0f} ms  p99 {p99:7.0f} ms  "
                 f"({len(e2e)}/{len(samples)} answered)")


async def fixed_rate(bot: Bot, driver: Driver, args: argparse.Namespace,
                     workdir: Path) -> None:
    warm = await driver.run_rate(2.0, 1.0)  # first turns load lazily; not reported
    await driver.wait_for_replies(warm, args.grace)
    await settle(bot)
    raw = workdir / f"{bot.name}-profile.raw"
    profiler = start_profiler(bot.process.pid, raw) if args.profile and bot.process else None
    samples = await driver.run_rate(args.rate, args.duration)
    await driver.wait_for_replies(samples, args.grace)
    if profiler:
        stop(profiler)
        print_profile(bot.name, raw)
    _, text = e2e_figures(samples, bot.graph)
    bot.figures["e2e"] = text
    print(f"  {bot.name:5} {text}   [{load()}]", flush=True)
    await settle(bot)


async def ramp_step(bot: Bot, driver: Driver, rate: float, args: argparse.Namespace) -> bool:
    started = time.monotonic()
    samples = await driver.run_rate(rate, args.step_seconds)
    await driver.wait_for_replies(samples, args.grace)
    e2e = end_to_end(samples, bot.graph)
    last = max((bot.graph.first_reply_at.get(s.sender, 0.0) for s in samples), default=started)
    achieved = len(e2e) / max(args.step_seconds, last - started)
    p95 = quantile_ms(e2e + [float("inf")] * (len(samples) - len(e2e)), 0.95)
    ok = len(e2e) == len(samples) and achieved >= 0.95 * rate and p95 <= args.max_p95_ms
    print(f"  {bot.name:5} offered {rate:5g} msg/s: achieved {achieved:6.1f} msg/s, "
          f"p95 {p95:7.0f} ms  {'ok' if ok else 'NOT sustained'}   [{load()}]", flush=True)
    await settle(bot)
    return ok


# --- the run --------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="law-bench-prod-"))
    ours = Bot("ours", ROOT, args.ours_text or OURS_TEXTS, with_actions=True,
               rasa=[RASA] if args.plain_rasa else PROD_RASA)
    stock = Bot("stock", Path(args.stock_dir), args.stock_text or STOCK_TEXTS)
    bots = [ours, stock]
    other = None
    if args.compare_model:  # another model of ours (e.g. before a change), in the same run
        other = Bot("other", ROOT, ours.texts, with_actions=True,
                    rasa=[RASA] if args.compare_plain_rasa else PROD_RASA)
        if args.compare_model != "same":
            other.model = Path(args.compare_model).resolve()
        bots.insert(1, other)
    print(f"LAW production benchmark, {os.cpu_count()} cores, {load()}; work folder {workdir}")
    if args.skip_training:
        ours.model = Path(args.model).resolve() if args.model else newest_law_model()
        stock.model = (newest(stock.cwd / "models") if (stock.cwd / "models").is_dir()
                       else None)
    if not args.skip_training or stock.model is None:
        print("\nFull training, cold (fresh cache), one after the other:", flush=True)
        if not args.skip_training:
            ours.model, seconds = train_ours(workdir)
            ours.figures["train"] = f"{seconds:6.1f} s"
            print(f"  ours  rasa train          {seconds:6.1f} s   [{load()}]", flush=True)
        stock.model, seconds = init_stock(stock.cwd, workdir)
        stock.figures["train"] = f"{seconds:6.1f} s"
        print(f"  stock rasa init --no-prompt {seconds:6.1f} s (offline)   [{load()}]",
              flush=True)
    if other is not None and other.model is None:
        other.model = ours.model
    for bot in bots:
        size = bot.model.stat().st_size / 1e6
        print(f"  {bot.name:5} model {bot.model.name} ({size:.1f} MB)")

    runners = [await start_graph(bot) for bot in bots]
    children: list[subprocess.Popen] = []
    completed = False
    try:
        action_port = free_port()
        actions = start_action_server(ROOT, workdir, action_port)
        children.append(actions)
        await wait_for(f"http://127.0.0.1:{action_port}/health", actions, "action server",
                       args.startup_timeout, workdir / "action-server.log")
        print("\nStart to ready (rasa run: process started → HTTP root answers), then RSS:")
        for bot in bots:
            credentials = write_files(bot, workdir, action_port if bot.with_actions else None)
            seconds = await start_rasa(bot, workdir, credentials, args)
            children.insert(0, bot.process)
            await asyncio.sleep(1.0)
            bot.figures["ready"] = f"{seconds:6.1f} s"
            bot.figures["rss_ready"] = f"{rss_mb(bot.process.pid):6.0f} MB"
            print(f"  {bot.name:5} ready {seconds:6.1f} s, RSS {bot.figures['rss_ready']}   "
                  f"[{load()}]", flush=True)
        drivers = {}
        for bot in bots:
            drivers[bot.name] = await Driver(f"http://127.0.0.1:{bot.port}", bot.graph,
                                             bot.texts, args.max_messages).__aenter__()
        try:
            print(f"\nEnd to end at {args.rate:g} msg/s for {args.duration:g} s "
                  "(delivery sent → first reply at the Graph API):", flush=True)
            for bot in bots:
                await fixed_rate(bot, drivers[bot.name], args, workdir)
            print(f"\nRamp ({args.step_seconds:g} s a step, the bots in turn; sustained = "
                  f"all answered, ≥ 95 % achieved, p95 ≤ {args.max_p95_ms:g} ms):", flush=True)
            ramping = list(bots)
            for rate in args.ramp:
                for bot in list(ramping):
                    if await ramp_step(bot, drivers[bot.name], rate, args):
                        bot.sustained = rate
                    else:
                        ramping.remove(bot)
                if not ramping:
                    break
        finally:
            for driver in drivers.values():
                await driver.__aexit__(None, None, None)
        for bot in bots:
            bot.figures["rss_after"] = f"{rss_mb(bot.process.pid):6.0f} MB"
            bot.figures["sustained"] = f"{bot.sustained or 0:6g} msg/s"
        report(bots, args)
        completed = True
    finally:
        for child in children:
            stop(child)
        for runner in runners:
            await runner.cleanup()
    if completed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its logs
    return 0


def report(bots: list[Bot], args: argparse.Namespace) -> None:
    rows = [("full training (cold)", "train"), ("start to ready", "ready"),
            ("RSS once ready", "rss_ready"), (f"end to end at {args.rate:g} msg/s", "e2e"),
            (f"highest sustained (p95 ≤ {args.max_p95_ms:g} ms)", "sustained"),
            ("RSS after the traffic", "rss_after")]
    print(f"\nSummary ({load()}):")
    for label, key in rows:
        print(f"  {label}")
        for bot in bots:
            print(f"    {bot.name:5} {bot.figures.get(key, '(not measured)')}")


def newest_law_model() -> Path:
    models = sorted((ROOT / "models").glob("law-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no models/law-*.tar.gz: run `make train` or drop --skip-training")
    return models[-1].resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="no training (newest models/law-*, a stock bot kept from an "
                        "earlier run if any), 5 s phases, a shorter ramp")
    parser.add_argument("--skip-training", action="store_true",
                        help="use --model (default newest models/law-*.tar.gz) and the stock "
                        "bot in --stock-dir if it has a model")
    parser.add_argument("--model", help="our trained model, with --skip-training")
    parser.add_argument("--compare-model", help="a second model of ours measured beside the "
                        "first (served as 'other'; not trained here); 'same': ours again, "
                        "e.g. with --compare-plain-rasa")
    parser.add_argument("--plain-rasa", action="store_true", help="start our bot with plain "
                        "`rasa run`, not scripts/rasa_run.py as production does")
    parser.add_argument("--compare-plain-rasa", action="store_true",
                        help="start the --compare-model bot with plain `rasa run`")
    parser.add_argument("--stock-dir", default=str(Path(tempfile.gettempdir()) / "law-stock-bot"),
                        help="where the stock bot is generated (kept for --skip-training)")
    parser.add_argument("--rate", type=float, default=20.0, help="fixed rate, msg/s")
    parser.add_argument("--duration", type=float, default=15.0, help="fixed-rate seconds")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",")],
                        default=RAMP, help="ramp rates, msg/s, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--grace", type=float, default=60.0,
                        help="seconds to wait for the last replies of a phase")
    parser.add_argument("--max-p95-ms", type=float, default=1000.0)
    parser.add_argument("--tf-threads", type=int, default=1,
                        help="TensorFlow intra/inter-op threads of rasa run (as scripts/"
                        "prod.py; 0 leaves TensorFlow's default)")
    parser.add_argument("--ours-text", action="append", help="a message sent to our bot "
                        f"(repeatable; default {OURS_TEXTS})")
    parser.add_argument("--stock-text", action="append", help="a message sent to the stock "
                        f"bot (repeatable; default {STOCK_TEXTS})")
    parser.add_argument("--max-messages", type=int, default=20_000)
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--profile", action="store_true",
                        help="sample each Rasa process with py-spy during the fixed rate")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    args = parser.parse_args(argv)
    if args.quick:
        args.skip_training = True
        args.duration, args.step_seconds, args.grace = 5.0, 4.0, 30.0
        args.ramp = [2, 4, 6, 8, 10, 15, 20, 40, 80]
    return args


def main() -> int:
    return asyncio.run(run(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
