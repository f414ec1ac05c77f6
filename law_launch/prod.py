"""Start LAW's production topology on one machine and stop it all on Ctrl-C.

What runs (docs/deployment.md explains each part and how it scales out)::

    Meta ──► front router :5005 ──► Rasa processes :5006, :5007 …   (WhatsApp affinity)
                                        │ tracker store: PostgreSQL   lock store: Redis
                                        ▼
             actions router :5055 ──► action servers :5056, :5057 …  (round robin)
                                        │ slot store: PostgreSQL

Every setting comes from the environment (``endpoints.prod.yml`` names them); what is unset
gets a local default pointing at PostgreSQL and Redis on 127.0.0.1. Before Rasa starts the
supervisor creates what the processes would otherwise race to create: the databases (with
``--create-databases``), the slot store's schema, the WhatsApp message-id tables and Rasa's
``events`` table. Any process that dies stops the whole set, with the end of its log shown.

Every Rasa process and action server is started with ``law-rasa`` (``law_rasa.cli``: the
pinned Rasa with LAW's patches, as ``make run`` and the tests start it), the routers with
``law-router``.

Usage::

    law-prod --model models/law-….tar.gz [--rasa 2] [--actions 2]
        [--create-databases] [--rest-only]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
# The console scripts of this environment (pyproject.toml [project.scripts]).
BIN = Path(sys.executable).parent
LAW_RASA = str(BIN / "law-rasa")
LAW_ROUTER = str(BIN / "law-router")
LAW_NOTICES = str(BIN / "law-notices")

# Local defaults of the settings endpoints.prod.yml reads; a real server sets them all.
LOCAL_DEFAULTS = {
    "LAW_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/law",
    "LAW_TRACKER_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/law_tracker",
    "LAW_REDIS_HOST": "127.0.0.1",
    "LAW_REDIS_PORT": "6379",
    "LAW_REDIS_DB": "1",
    "LAW_REDIS_PASSWORD": "",
    "LAW_REDIS_KEY_PREFIX": "law",
    # Rasa's tracker store pool (its defaults, 50 + 100 per process, are for big servers).
    "SQL_POOL_SIZE": "5",
    "SQL_MAX_OVERFLOW": "10",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
}
WHATSAPP_REQUIRED = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID",
                     "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")
STOP_GRACE_S = 20.0


class SetupError(Exception):
    """The topology cannot start; the message says what to do."""


@dataclass
class Child:
    """One process of the topology."""

    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        out = self.log.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops us in order
            preexec_fn=_die_with_parent,
        )
        out.close()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child when the supervisor dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# --- settings -------------------------------------------------------------------------------


def environment(action_port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in LOCAL_DEFAULTS.items():
        env.setdefault(name, value)
    env["LAW_ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{action_port}/webhook"
    return env


def newest_model() -> Path | None:
    models = sorted((ROOT / "models").glob("law-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def ports(explicit: str | None, first: int, count: int) -> list[int]:
    if explicit:
        chosen = [int(p) for p in explicit.split(",") if p.strip()]
        if len(chosen) != count:
            raise SetupError(f"{len(chosen)} port(s) given for {count} process(es): {explicit}")
        return chosen
    return [first + i for i in range(count)]


def check_ports_free(wanted: dict[int, str], host: str) -> None:
    """Fail before starting anything when a port is taken (another `make run`, a test…)."""
    for port, role in wanted.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host if role == "front router" else "127.0.0.1", port))
            except OSError:
                raise SetupError(f"port {port} ({role}) is in use: stop what listens there "
                                 "or choose other ports (--port, --action-port)") from None


# --- stores ---------------------------------------------------------------------------------


def prepare_stores(env: dict[str, str], create_databases: bool) -> None:
    """Databases, schemas and a Redis check, once, before any Rasa process starts."""
    slot_url, events_url = env["LAW_DATABASE_URL"], env["LAW_TRACKER_URL"]
    if create_databases:
        for url in (slot_url, events_url):
            _create_database(url)
    from sqlalchemy import create_engine

    from antrean.store.engine import migrate
    migrate(slot_url)  # the slot store's tables and the WhatsApp channel's (migration 0004)
    # Created here once, not by every process at its first message.
    from rasa.core.tracker_store import SQLTrackerStore
    engine = create_engine(events_url, future=True)
    SQLTrackerStore.Base.metadata.create_all(engine, checkfirst=True)
    engine.dispose()
    _check_redis(env)


def _create_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_engine(parsed.set(database="postgres"), future=True,
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": parsed.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                print(f"created database {parsed.database}", flush=True)
    finally:
        admin.dispose()


def _check_redis(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis(host=env["LAW_REDIS_HOST"], port=int(env["LAW_REDIS_PORT"]),
                         db=int(env["LAW_REDIS_DB"]), password=env["LAW_REDIS_PASSWORD"] or None,
                         socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SetupError(f"Redis at {env['LAW_REDIS_HOST']}:{env['LAW_REDIS_PORT']} is not "
                         f"reachable ({exc.__class__.__name__}): the lock store needs it") from exc
    finally:
        client.close()


def _safe(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --- processes ------------------------------------------------------------------------------


def build_children(args: argparse.Namespace, env: dict[str, str], model: Path,
                   rasa_ports: list[int], action_ports: list[int]) -> dict[str, list[Child]]:
    log_dir, host = Path(args.log_dir), args.host
    actions_env = {**env, "SANIC_HOST": "127.0.0.1", "ACTION_SERVER_SANIC_WORKERS": "1",
                   "LAW_AUTO_MIGRATE": "0"}  # migrated above: N servers must not race to it
    # One Sanic worker per Rasa process: the front router keeps each applicant on one
    # process, whose WhatsApp queue orders the applicant's messages (docs/deployment.md).
    rasa_env = {**env, "SANIC_WORKERS": "1"}
    # Parallelism comes from processes; TensorFlow's own thread pools only contend with them.
    rasa_env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    rasa_env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    credentials = "credentials.yml" if args.rest_only else "credentials.prod.yml"
    api = ["--enable-api", "--auth-token", env["LAW_RASA_AUTH_TOKEN"]] \
        if env.get("LAW_RASA_AUTH_TOKEN") else []
    actions = [
        Child(f"action-server-{i + 1}",
              [LAW_RASA, "run", "actions", "--actions", "actions", "--port", str(port)],
              actions_env, f"http://127.0.0.1:{port}/health", log_dir / f"actions-{port}.log")
        for i, port in enumerate(action_ports)
    ]
    rasa = [
        Child(f"rasa-{i + 1}",
              [LAW_RASA, "run", "-m", str(model), "-i", "127.0.0.1", "-p", str(port),
               "--endpoints", "endpoints.prod.yml", "--credentials", credentials, *api],
              rasa_env, f"http://127.0.0.1:{port}/", log_dir / f"rasa-{port}.log")
        for i, port in enumerate(rasa_ports)
    ]
    router = [LAW_ROUTER]
    routers = [
        Child("actions-router",
              [*router, "--name", "actions", "--listen", f"127.0.0.1:{args.action_port}",
               "--backends", ",".join(f"127.0.0.1:{p}" for p in action_ports),
               "--health-path", "/health"],
              env, f"http://127.0.0.1:{args.action_port}/_router/health",
              log_dir / "router-actions.log"),
        Child("front-router",
              [*router, "--name", "front", "--listen", f"{host}:{args.port}",
               "--backends", ",".join(f"127.0.0.1:{p}" for p in rasa_ports),
               # The WhatsApp channel's readiness answers 503 while its database does not
               # answer, so the router stops sending to that process (issue 14).
               "--health-path", "/" if args.rest_only else "/webhooks/whatsapp/",
               "--affinity", "whatsapp"],
              env, f"http://127.0.0.1:{args.port}/_router/health",
              log_dir / "router-front.log"),
    ]
    return {"actions": actions, "rasa": rasa, "routers": routers}


def wait_ready(children: list[Child], timeout_s: float, stopping: threading.Event) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(children)
    while waiting:
        for child in list(waiting):
            code = child.exited()
            if code is not None:
                raise SetupError(f"{child.name} exited with code {code} while starting; "
                                 f"{child.log}:\n{child.tail()}")
            try:
                if requests.get(child.ready_url, timeout=2).status_code == 200:
                    waiting.remove(child)
            except requests.RequestException:
                pass
        if waiting and (time.monotonic() > deadline or stopping.is_set()):
            names = ", ".join(child.name for child in waiting)
            raise SetupError(f"not ready after {timeout_s:.0f}s: {names}"
                             if not stopping.is_set() else "stopped while starting")
        if waiting:
            time.sleep(0.5)


def stop_all(groups: list[list[Child]]) -> None:
    """Stop group by group (front first, action servers last), each with a grace period."""
    for group in groups:
        running = [(c.name, c.process) for c in group
                   if c.process is not None and c.exited() is None]
        for _, process in running:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        for name, process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in {STOP_GRACE_S:.0f}s: killed", flush=True)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def prepare_only(args: argparse.Namespace) -> int:
    """The one-off step of a deployment (deploy/systemd/law-prepare.service)."""
    env = environment(args.action_port)
    try:
        prepare_stores(env, args.create_databases)
    except SetupError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means "stores not ready"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SetupError(f"stores not ready: {exc.__class__.__name__}: {first}") from exc
    print(f"stores ready: slot store {_safe(env['LAW_DATABASE_URL'])}, tracker store "
          f"{_safe(env['LAW_TRACKER_URL'])}", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        raise SetupError(f"no trained model ({args.model or 'models/law-*.tar.gz'}): "
                         "run `make train`")
    rasa_ports = ports(args.rasa_ports, args.port + 1, args.rasa)
    action_ports = ports(args.action_ports, args.action_port + 1, args.actions)
    check_ports_free({args.port: "front router", args.action_port: "actions router",
                      **{p: "Rasa" for p in rasa_ports},
                      **{p: "action server" for p in action_ports}}, args.host)
    env = environment(args.action_port)
    missing = [name for name in WHATSAPP_REQUIRED if not env.get(name)]
    if missing and not args.rest_only:
        raise SetupError(f"WhatsApp settings missing: {', '.join(missing)} (docs/whatsapp.md); "
                         "set them, or pass --rest-only to serve the REST channel alone")
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    groups = build_children(args, env, model, rasa_ports, action_ports)
    # Stopping order: nothing new comes in, Rasa finishes its turns, then the actions.
    order = [groups["routers"][1:], groups["rasa"], groups["routers"][:1], groups["actions"]]
    everyone = [child for group in order for child in group]
    try:
        for child in [*groups["actions"], *groups["routers"]]:
            child.start()
        prepare_only(args)
        if stopping.is_set():
            return 0
        print(f"starting {len(rasa_ports)} Rasa process(es) with {model.name}", flush=True)
        for child in groups["rasa"]:
            child.start()
        wait_ready(everyone, args.ready_timeout, stopping)
        print(summary(args, everyone), flush=True)
        if args.notices and not args.rest_only:
            # The office speaks first: one sender process (several would be safe too).
            notices = Child("notices", [LAW_NOTICES], env, "",
                            Path(args.log_dir) / "notices.log")
            notices.start()
            everyone.append(notices)
            order.insert(0, [notices])
            print(f"  {'notices':<16} pid {notices.process.pid if notices.process else '-':<8} "
                  f"log {notices.log}", flush=True)
        while not stopping.wait(0.5):
            for child in everyone:
                code = child.exited()
                if code is not None:
                    print(f"{child.name} exited with code {code}; stopping everything. "
                          f"{child.log}:\n{child.tail()}", file=sys.stderr, flush=True)
                    return 1
        print("stopping …", flush=True)
        return 0
    finally:
        stop_all(order)


def summary(args: argparse.Namespace, children: list[Child]) -> str:
    lines = ["LAW production topology is up:"]
    for child in children:
        port = child.ready_url.split(":")[2].split("/")[0]
        pid = child.process.pid if child.process else "-"
        lines.append(f"  {child.name:<16} port {port:<6} pid {pid:<8} "
                     f"log {child.log}")
    lines.append(f"WhatsApp webhook: http://{args.host}:{args.port}/webhooks/whatsapp/webhook"
                 "  (Ctrl-C stops everything)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="trained model (default: newest models/law-*.tar.gz)")
    parser.add_argument("--rasa", type=int, default=int(env("LAW_RASA_PROCESSES", "2")),
                        help="Rasa processes (LAW_RASA_PROCESSES, default 2)")
    parser.add_argument("--actions", type=int, default=int(env("LAW_ACTION_SERVERS", "2")),
                        help="action servers (LAW_ACTION_SERVERS, default 2)")
    parser.add_argument("--host", default=env("LAW_HOST", "127.0.0.1"),
                        help="interface of the front router (LAW_HOST)")
    parser.add_argument("--port", type=int, default=int(env("LAW_PORT", "5005")),
                        help="front router port (LAW_PORT); Rasa processes take the next ones")
    parser.add_argument("--action-port", type=int, default=int(env("LAW_ACTION_PORT", "5055")),
                        help="actions router port (LAW_ACTION_PORT); servers take the next ones")
    parser.add_argument("--rasa-ports", help="comma-separated ports of the Rasa processes")
    parser.add_argument("--action-ports", help="comma-separated ports of the action servers")
    parser.add_argument("--log-dir", default=str(ROOT / "var" / "prod"))
    parser.add_argument("--create-databases", action="store_true",
                        help="create missing PostgreSQL databases (needs CREATEDB)")
    parser.add_argument("--rest-only", action="store_true",
                        help="no WhatsApp channel: credentials.yml instead of credentials.prod.yml")
    parser.add_argument("--notices", action="store_true",
                        help="also run law-notices: reminders and closure notices over WhatsApp")
    parser.add_argument("--prepare-only", action="store_true",
                        help="create and migrate the stores, check Redis, then exit")
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if args.rasa < 1 or args.actions < 1:
        parser.error("--rasa and --actions must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        return prepare_only(args) if args.prepare_only else run(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
