#!/usr/bin/env python
"""Production figures of LAW beside a stock ``rasa init`` bot, measured in the same run.

For each bot (ours: the project, one ``rasa run`` with its action server and SQLite stores;
stock: the example bot that ``rasa init --no-prompt`` generates and trains, with our WhatsApp
channel added to its credentials; prod: the production topology of ``make run-prod``, i.e.
``law-prod`` with our model, N Rasa processes and M action servers behind their
routers, PostgreSQL and Redis) this script prints:

1. full training time, cold (a fresh Rasa cache; ours with ``law-rasa train``, stock with
   ``rasa init --no-prompt``, which generates the bot and trains it; run without network);
2. start-to-ready time of ``rasa run`` (process started → its HTTP root answers, i.e. the
   model is loaded; prod: ``law-prod`` started → every process answers and the front
   router sees all Rasa processes healthy) and the Rasa processes' memory (RSS) once ready;
3. end-to-end latency, webhook delivery sent → first reply POSTed to a fake Graph API,
   p50/p95/p99 at a fixed rate (20 msg/s), through the WhatsApp channel (``bench/
   whatsapp_traffic.py``: signed deliveries, each from a new fake applicant);
4. a ramp of rising rates: the highest sustained rate (every reply arrives, ≥ 95 % of the
   offered rate achieved, p95 end-to-end ≤ 1 s);
5. the Rasa processes' RSS after the traffic.

The bots run on this machine at once (all loaded, the ones not measured idle) and every
phase alternates between them, so a neighbour's load hits all alike; the load average is
printed beside each phase. Trackers go to a SQLite file per bot in a temporary folder (the
embedded default), as does our slot store; nothing is written under ``var/`` or ``models/``.
The prod bot (``--topology``, on by default) needs PostgreSQL and Redis (``--prod-postgres``,
``--prod-redis``): it gets two fresh databases and a Redis key prefix of its own, dropped and
deleted at the end, also after a failure or Ctrl-C. Figures are printed, never asserted
(docs/performance.md has the runs and the targets).

Usage::

    .venv/bin/python bench/bench_prod.py                   # everything, ~20-30 min
    .venv/bin/python bench/bench_prod.py --quick           # no training, short phases
    .venv/bin/python bench/bench_prod.py --skip-training --model models/law-….tar.gz
    .venv/bin/python bench/bench_prod.py --quick --prod-rasa 3 --ramp 20,40,80,120,150
    .venv/bin/python bench/bench_prod.py --quick --no-topology  # no PostgreSQL/Redis needed
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
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
from processes import (  # noqa: E402
    free_port,
    free_ports,
    sqlite_tracker_store,
    start_action_server,
    stop,
    wait_for,
)
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
# Stock Rasa's command line (the stock bot, --plain-rasa) and LAW's launcher (law_rasa/cli.py:
# the pinned Rasa with LAW's patches), which make run, the tests and production start.
RASA = str(Path(sys.executable).with_name("rasa"))
LAW_RASA = str(Path(sys.executable).with_name("law-rasa"))
PROD_RASA = [LAW_RASA]
OURS_TEXTS = ["halo", "jam buka kantor jam berapa?", "mau daftar antrean paspor"]
STOCK_TEXTS = ["hello", "I am sad"]
RAMP = [2, 4, 6, 8, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 150]
QUICK_RAMP = [2, 4, 6, 8, 10, 15, 20, 40, 80]
PROD = [str(Path(sys.executable).with_name("law-prod"))]
# The prod bot's servers: an admin URL (its own databases are created next to it) and a Redis
# database (its keys get a prefix of their own).
PROD_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
PROD_REDIS = "redis://127.0.0.1:6379/15"
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
    # How Rasa is started: as production does (law-rasa), or plain `rasa`.
    rasa: list[str] = field(default_factory=lambda: [RASA])
    # prod: the stores of the topology; `process` is then law-prod.
    topology: Topology | None = None
    rasa_pids: list[int] = field(default_factory=list)  # whose RSS is reported
    pids: list[int] = field(default_factory=list)  # all of the bot's processes: settle()
    rasa_ports: list[int] = field(default_factory=list)
    # Every process that serves the bot, by role ("rasa", "action-server", "front-router"…):
    # the CPU each role spends per message is printed after the fixed rate.
    roles: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Topology:
    """PostgreSQL databases and a Redis key prefix of the prod bot's own, removed at the end."""

    admin_url: str
    redis_url: str
    name: str = field(default_factory=lambda: f"{os.getpid()}_{secrets.token_hex(3)}")

    @property
    def slot_url(self) -> str:
        return self._url(f"law_bench_{self.name}_slots")

    @property
    def tracker_url(self) -> str:
        return self._url(f"law_bench_{self.name}_tracker")

    @property
    def key_prefix(self) -> str:
        return f"lawbench{self.name.replace('_', '')}"  # Rasa wants it alphanumeric

    def _url(self, database: str) -> str:
        from sqlalchemy.engine import make_url
        return make_url(self.admin_url).set(database=database).render_as_string(
            hide_password=False)

    def redis_env(self) -> dict[str, str]:
        import redis
        options = redis.Redis.from_url(self.redis_url).connection_pool.connection_kwargs
        return {"LAW_REDIS_HOST": str(options.get("host", "127.0.0.1")),
                "LAW_REDIS_PORT": str(options.get("port", 6379)),
                "LAW_REDIS_DB": str(options.get("db", 0)),
                "LAW_REDIS_PASSWORD": str(options.get("password") or ""),
                "LAW_REDIS_KEY_PREFIX": self.key_prefix}

    def unavailable(self) -> str | None:
        """Why PostgreSQL or Redis cannot serve the prod bot, or None."""
        import redis
        from sqlalchemy import create_engine, text
        try:
            engine = create_engine(self.admin_url, future=True,
                                   connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
            return f"PostgreSQL ({safe_url(self.admin_url)}): {exc.__class__.__name__}: " \
                   f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        client = redis.Redis.from_url(self.redis_url, socket_timeout=3)
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"Redis ({safe_url(self.redis_url)}): {exc.__class__.__name__}: {exc}"
        finally:
            client.close()
        return None

    def remove(self) -> None:
        """Drop the databases (law-prod created them) and delete the Redis keys."""
        import redis
        from sqlalchemy import create_engine, text
        try:
            admin = create_engine(self.admin_url, future=True, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for url in (self.slot_url, self.tracker_url):
                    database = url.rsplit("/", 1)[1]
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
        except Exception as exc:  # noqa: BLE001 - say what is left behind, go on
            print(f"  prod: could not drop the databases law_bench_{self.name}_*: "
                  f"{exc.__class__.__name__}", flush=True)
        client = redis.Redis.from_url(self.redis_url, socket_timeout=3)
        try:
            keys = list(client.scan_iter(match=f"{self.key_prefix}:*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError as exc:
            print(f"  prod: could not delete the Redis keys {self.key_prefix}:*: "
                  f"{exc.__class__.__name__}", flush=True)
        finally:
            client.close()


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a database URL (redis://…)
        return url.split("@")[-1]


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
    seconds = timed([LAW_RASA, "train", "--out", str(out), "--fixed-model-name", "law-bench"],
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
    """Wait until the bot is idle: its Rasa process, or for prod all the processes of the
    topology together, below 5 % of a core, so that a backlog left by one phase does not run
    during the next one (of any bot)."""
    assert bot.pids
    deadline = time.monotonic() + timeout_s
    busy = 0.0
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in bot.pids)
        await asyncio.sleep(1.0)
        busy = sum(cpu_seconds(pid) for pid in bot.pids) - before
        if busy < 0.05:
            return
    print(f"  {bot.name:5} still busy after {timeout_s:.0f} s ({100 * busy:.0f} % of a core)",
          flush=True)


def rss_figure(bot: Bot) -> str:
    """RSS of the bot's Rasa process; for prod the sum over its Rasa processes, each of them,
    and all the processes of the topology (routers and action servers too)."""
    each = [rss_mb(pid) for pid in bot.rasa_pids]
    if bot.topology is None:
        return f"{sum(each):6.0f} MB"
    everything = sum(rss_mb(pid) for pid in bot.pids)
    return (f"{sum(each):6.0f} MB ({len(each)} Rasa × ~{sum(each) / len(each):.0f} MB: "
            f"{' + '.join(f'{mb:.0f}' for mb in each)}; all {len(bot.pids)} processes "
            f"{everything:.0f} MB)")


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
    lines += sqlite_tracker_store(workdir / f"{bot.name}-tracker.db")
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
    # As law-prod runs Rasa: parallelism from processes, not TensorFlow thread pools.
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


async def start_prod(bot: Bot, workdir: Path, args: argparse.Namespace) -> float:
    """Start the production topology as `make run-prod` does (law-prod); seconds until
    law-prod reports every process up and both routers see all their backends healthy.
    """
    assert bot.model is not None and bot.topology is not None
    front, action_router, *rest = free_ports(2 + args.prod_rasa + args.prod_actions)
    bot.port, bot.rasa_ports = front, rest[:args.prod_rasa]
    action_ports = rest[args.prod_rasa:]
    log_dir = workdir / "prod-logs"
    log = workdir / "prod-supervisor.log"
    env = {**base_env(workdir), **bot.topology.redis_env(),
           "LAW_DATABASE_URL": bot.topology.slot_url,
           "LAW_TRACKER_URL": bot.topology.tracker_url,
           "WHATSAPP_ACCESS_TOKEN": "bench-token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "bench-verify",
           "WHATSAPP_API_VERSION": API_VERSION, "WHATSAPP_API_BASE_URL": bot.graph_url}
    env.pop("LAW_RASA_AUTH_TOKEN", None)
    command = [*PROD, "--model", str(bot.model), "--rasa", str(args.prod_rasa),
               "--actions", str(args.prod_actions), "--create-databases",
               "--port", str(front), "--action-port", str(action_router),
               "--rasa-ports", ",".join(map(str, bot.rasa_ports)),
               "--action-ports", ",".join(map(str, action_ports)),
               "--log-dir", str(log_dir), "--ready-timeout", str(args.startup_timeout)]
    options = subprocess.run([*PROD, "--help"], capture_output=True, text=True).stdout
    if "--no-console" in options:  # the staff console is not measured here
        command.append("--no-console")
    started = time.monotonic()
    with log.open("w") as out:
        bot.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                       stderr=subprocess.STDOUT)
    # law-prod with nginx in front says "is up" once nginx reaches every Rasa process; the
    # earlier sender-affinity routers are asked for their backends' health as well.
    routers = ([] if "nginx" in options else
               [f"http://127.0.0.1:{port}/_router/health" for port in (front, action_router)])
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < args.startup_timeout + 30:
            if bot.process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise SystemExit(f"prod: law-prod exited during start-up; see {log} "
                                 f"and {log_dir}:\n{tail}")
            if " is up:" in log.read_text(errors="replace") \
                    and all([await all_backends_healthy(session, url) for url in routers]):
                seconds = time.monotonic() - started
                break
            await asyncio.sleep(0.2)
        else:
            raise SystemExit(f"prod: not up after {args.startup_timeout:.0f} s; see {log}")
    # The processes law-prod lists once the topology is up: "  rasa-1  port … pid …".
    listed = [(line.split()[0], int(line.split(" pid ")[1].split()[0]))
              for line in log.read_text().splitlines() if " pid " in line]
    bot.pids = [pid for _, pid in listed]
    for name, pid in listed:
        bot.roles.setdefault(name.rstrip("0123456789").rstrip("-"), []).append(pid)
    bot.roles["postgresql"] = pids_named("postgres")
    bot.roles["redis"] = pids_named("redis-server")
    bot.rasa_pids = [pid for name, pid in listed if name.startswith("rasa-")]
    if len(bot.rasa_pids) != args.prod_rasa:
        raise SystemExit(f"prod: {len(bot.rasa_pids)} Rasa processes listed in {log}, "
                         f"{args.prod_rasa} expected")
    return seconds


async def all_backends_healthy(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            return response.status == 200 and all((await response.json())["backends"].values())
    except (aiohttp.ClientError, ValueError, KeyError):
        return False


async def warm_each_process(bot: Bot, args: argparse.Namespace) -> None:
    """prod: warm every Rasa process directly as ours is warmed (through the front router
    the warm-up messages could all land on one process). Senders of their own."""
    for index, port in enumerate(bot.rasa_ports):
        async with Driver(f"http://127.0.0.1:{port}", bot.graph, bot.texts,
                          args.max_messages) as direct:
            direct.counter = 900_000_000 + index * 1_000_000  # never a sender of `driver`
            warm = await direct.run_rate(2.0, 1.0)
            await direct.wait_for_replies(warm, args.grace)


# --- traffic --------------------------------------------------------------------------------


def pids_named(command: str) -> list[int]:
    """The processes whose command name is ``command`` (e.g. the PostgreSQL server's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_by_role(bot: Bot) -> dict[str, float]:
    """CPU seconds used so far by each role of the bot's processes, and by this benchmark
    (traffic and the fake Graph API)."""
    spent = {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in bot.roles.items()}
    own = os.times()
    spent["bench (traffic, Graph API)"] = own.user + own.system
    return spent


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> str:
    """Milliseconds of CPU per message of each role, their total, and the rate at which the
    total would fill every core of the machine."""
    each = {role: 1000 * (after[role] - before.get(role, 0.0)) / max(messages, 1)
            for role in after}
    total = sum(each.values())
    parts = ", ".join(f"{role} {ms:.1f}" for role, ms in each.items())
    cores = os.cpu_count() or 1
    return (f"{parts}; total {total:.1f} ms (all {cores} cores full at "
            f"~{1000 * cores / total:.0f} msg/s)" if total else parts)



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
    if bot.topology is not None:
        await warm_each_process(bot, args)
    await settle(bot)
    profilers = []
    for index, pid in enumerate(bot.rasa_pids if args.profile else []):
        raw = workdir / f"{bot.name}-{index + 1}-profile.raw"
        profilers.append((start_profiler(pid, raw), raw, f"{bot.name} (Rasa pid {pid})"))
    cpu_before = cpu_by_role(bot)
    samples = await driver.run_rate(args.rate, args.duration)
    await driver.wait_for_replies(samples, args.grace)
    cpu_after = cpu_by_role(bot)
    for profiler, raw, name in profilers:
        if profiler:
            stop(profiler)
            print_profile(name if len(profilers) > 1 else bot.name, raw)
    _, text = e2e_figures(samples, bot.graph)
    bot.figures["e2e"] = text
    print(f"  {bot.name:5} {text}   [{load()}]", flush=True)
    bot.figures["cpu"] = cpu_per_message(cpu_before, cpu_after, len(samples))
    print(f"        CPU per message: {bot.figures['cpu']}", flush=True)
    await settle(bot)


async def ramp_step(bot: Bot, driver: Driver, rate: float,
                    args: argparse.Namespace) -> tuple[bool, float]:
    """One ramp step: whether ``rate`` was sustained, and its p95 in ms."""
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
    return ok, p95


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
    prod = None
    if args.topology:  # the production topology of `make run-prod`, with ours' model
        prod = Bot("prod", ROOT, ours.texts, with_actions=True,
                   topology=Topology(args.prod_postgres, args.prod_redis))
        reason = prod.topology.unavailable()
        if reason:
            raise SystemExit(f"the prod bot needs PostgreSQL and Redis: {reason} "
                             "(--prod-postgres, --prod-redis; --no-topology leaves it out)")
        bots.append(prod)
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
    if prod is not None:
        prod.model = ours.model  # not trained again
        prod.figures["train"] = "(ours' model, not trained again)"
    for bot in bots:
        size = bot.model.stat().st_size / 1e6
        print(f"  {bot.name:5} model {bot.model.name} ({size:.1f} MB)")

    runners = []
    children: list[subprocess.Popen] = []
    completed = False
    try:
        for bot in bots:
            runners.append(await start_graph(bot))
        action_port = free_port()
        actions = start_action_server(ROOT, workdir, action_port)
        children.append(actions)
        await wait_for(f"http://127.0.0.1:{action_port}/health", actions, "action server",
                       args.startup_timeout, workdir / "action-server.log")
        print("\nStart to ready (rasa run: process started → HTTP root answers; prod: "
              "law-prod started → topology up), then RSS:")
        for bot in bots:
            if bot.topology is not None:
                try:
                    seconds = await start_prod(bot, workdir, args)
                finally:
                    if bot.process is not None:
                        children.insert(0, bot.process)
            else:
                credentials = write_files(bot, workdir,
                                          action_port if bot.with_actions else None)
                seconds = await start_rasa(bot, workdir, credentials, args)
                children.insert(0, bot.process)
                bot.rasa_pids = bot.pids = [bot.process.pid]
                bot.roles = {"rasa": [bot.process.pid]}
                if bot.with_actions:
                    bot.roles["action-server"] = [actions.pid]
            await asyncio.sleep(1.0)
            bot.figures["ready"] = f"{seconds:6.1f} s"
            bot.figures["rss_ready"] = rss_figure(bot)
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
            ramping = list(bots)  # those sustaining every step so far
            for rate in args.ramp:
                for bot in list(ramping):
                    if (await ramp_step(bot, drivers[bot.name], rate, args))[0]:
                        bot.sustained = rate
                    else:
                        ramping.remove(bot)
                if not ramping:
                    break
        finally:
            for driver in drivers.values():
                await driver.__aexit__(None, None, None)
        for bot in bots:
            bot.figures["rss_after"] = rss_figure(bot)
            bot.figures["sustained"] = f"{bot.sustained or 0:6g} msg/s" + (
                " (the ramp's last step: may sustain more, see --ramp)"
                if any(b is bot for b in ramping) else "")
        report(bots, args)
        completed = True
    finally:
        for child in children:
            # law-prod stops its processes group by group, each with 20 s of grace.
            stop(child, timeout=120.0 if prod is not None and child is prod.process else 20.0)
        for runner in runners:
            await runner.cleanup()
        if prod is not None and prod.topology is not None:
            prod.topology.remove()
    if completed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its logs
    return 0


def report(bots: list[Bot], args: argparse.Namespace) -> None:
    rows = [("full training (cold)", "train"), ("start to ready", "ready"),
            ("RSS once ready", "rss_ready"), (f"end to end at {args.rate:g} msg/s", "e2e"),
            (f"CPU per message at {args.rate:g} msg/s, ms", "cpu"),
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
                        "`rasa run`, not law-rasa as production does")
    parser.add_argument("--compare-plain-rasa", action="store_true",
                        help="start the --compare-model bot with plain `rasa run`")
    parser.add_argument("--topology", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the production topology as 'prod' (law-prod "
                        "with ours' model, PostgreSQL, Redis; default on)")
    parser.add_argument("--prod-rasa", type=int, default=2,
                        help="Rasa processes of the prod bot (law-prod --rasa)")
    parser.add_argument("--prod-actions", type=int, default=2,
                        help="action servers of the prod bot (law-prod --actions)")
    parser.add_argument("--prod-postgres", default=PROD_POSTGRES,
                        help="PostgreSQL admin URL for the prod bot; two fresh databases are "
                        "created beside it and dropped at the end")
    parser.add_argument("--prod-redis", default=PROD_REDIS,
                        help="Redis for the prod bot's lock store (keys under a prefix of the "
                        "run, deleted at the end)")
    parser.add_argument("--stock-dir", default=str(Path(tempfile.gettempdir()) / "law-stock-bot"),
                        help="where the stock bot is generated (kept for --skip-training)")
    parser.add_argument("--rate", type=float, default=20.0, help="fixed rate, msg/s")
    # Defaults of these four depend on --quick; given explicitly, they win over it.
    parser.add_argument("--duration", type=float,
                        help="fixed-rate seconds (default 15; --quick 5)")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",")],
                        help="ramp rates, msg/s, comma-separated (default "
                        f"{','.join(map(str, RAMP))}; --quick {','.join(map(str, QUICK_RAMP))})")
    parser.add_argument("--step-seconds", type=float,
                        help="seconds a ramp step (default 8; --quick 4)")
    parser.add_argument("--grace", type=float,
                        help="seconds to wait for the last replies of a phase (default 60; "
                        "--quick 30)")
    parser.add_argument("--max-p95-ms", type=float, default=1000.0)
    parser.add_argument("--tf-threads", type=int, default=1,
                        help="TensorFlow intra/inter-op threads of rasa run (as law-prod; "
                        "0 leaves TensorFlow's default)")
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
    if args.prod_rasa < 1 or args.prod_actions < 1:
        parser.error("--prod-rasa and --prod-actions must be at least 1")
    if args.quick:
        args.skip_training = True
    defaults = {"duration": (15.0, 5.0), "step_seconds": (8.0, 4.0), "grace": (60.0, 30.0),
                "ramp": (RAMP, QUICK_RAMP)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def main() -> int:
    # `kill` stops the run as Ctrl-C does: children stopped, the prod bot's stores removed.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return asyncio.run(run(parse_args()))
    except KeyboardInterrupt:
        print("\ninterrupted (children stopped; the work folder is kept)", file=sys.stderr)
        return 130


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
