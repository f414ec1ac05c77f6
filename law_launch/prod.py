"""Start LAW's production topology on one machine (or one machine's share of several).

What runs (docs/deployment.md explains each part and how it scales out)::

    Meta ──► nginx front :5005 ──round robin──► Rasa processes :5006, :5007 … (+ --peer-rasa)
                                                   │ tracker store: PostgreSQL  locks: Redis
                                                   ▼
             nginx actions :5055 ──round robin──► action servers :5056, :5057 …
                                                   │ slot store: PostgreSQL
             staff console :5080 (internal)

One nginx (Debian's ``/usr/sbin/nginx``, configured by ``law_launch/nginx.py`` in a directory
of its own under the log directory) spreads the webhook over the Rasa processes and Rasa's
action calls over the action servers; no affinity, since the lock store serialises each
conversation across processes. Every process gets ``LAW_RASA_URLS``, the direct URL of every
Rasa process, through which a model is promoted into all of them (``PUT /model``).

Every setting comes from the environment (``endpoints.prod.yml`` names them); what is unset
gets a local default pointing at PostgreSQL and Redis on 127.0.0.1. Before Rasa starts the
supervisor creates what the processes would otherwise race to create (``law_launch/stores.py``).
A process that dies is started again after a second, as systemd's ``Restart=`` does on a real
server; one that keeps dying (``RESTART_LIMIT`` times in ``RESTART_WINDOW_S``) stops the whole
set, with the end of its log shown. Messages a dead Rasa process had accepted are not waiting
for it: another process takes them from the inbox once their lease runs out.

Several machines: each runs ``law-prod --bind <its private address>``; the one whose nginx is
the load balancer lists the others' Rasa processes with ``--peer-rasa``, the others run
``--no-front`` (their nginx serves their own action servers only).

Usage::

    law-prod --model models/law-….tar.gz [--rasa 2] [--actions 2] [--bind 127.0.0.1]
        [--peer-rasa HOST:PORT,…] [--no-front] [--no-console] [--notices]
        [--create-databases] [--rest-only]
"""
from __future__ import annotations

import argparse
import functools
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from law_launch import nginx
from law_launch.children import ROOT, Child, StartError, stop_all, supervise, wait_ready
from law_launch.stores import SetupError, prepare_stores, safe_url
from law_retrain.pointer import launch_model

# The console scripts of this environment (pyproject.toml [project.scripts]).
BIN = Path(sys.executable).parent
LAW_RASA = str(BIN / "law-rasa")
LAW_NOTICES = str(BIN / "law-notices")
LAW_CONSOLE = str(BIN / "law-console")

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


# --- settings -------------------------------------------------------------------------------


def environment(args: argparse.Namespace, rasa_urls: list[str]) -> dict[str, str]:
    """The environment of every child: the caller's, local defaults, and the topology's URLs."""
    env = dict(os.environ)
    for name, value in LOCAL_DEFAULTS.items():
        env.setdefault(name, value)
    env["LAW_ACTION_ENDPOINT_URL"] = f"http://{args.bind}:{args.action_port}/webhook"
    # Promotion (antrean promosikan, the console) loads a model into each of these directly.
    env["LAW_RASA_URLS"] = ",".join(rasa_urls)
    env["LAW_RASA_URL"] = rasa_urls[0]
    if env.get("LAW_RASA_AUTH_TOKEN"):
        env.setdefault("LAW_RASA_TOKEN", env["LAW_RASA_AUTH_TOKEN"])
    return env


def newest_model() -> Path | None:
    """The promoted model (models/current.tar.gz) if promoted after the newest law-*.tar.gz."""
    from law_retrain.pointer import launch_model

    return launch_model(ROOT / "models")


def ports(explicit: str | None, first: int, count: int) -> list[int]:
    if explicit:
        chosen = [int(p) for p in explicit.split(",") if p.strip()]
        if len(chosen) != count:
            raise SetupError(f"{len(chosen)} port(s) given for {count} process(es): {explicit}")
        return chosen
    return [first + i for i in range(count)]


def peers(value: str | None) -> list[str]:
    listed = [item.strip() for item in (value or "").split(",") if item.strip()]
    for item in listed:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise SetupError(f"--peer-rasa wants HOST:PORT, got {item!r}")
    return listed


def check_ports_free(wanted: list[tuple[tuple[str, int], str]]) -> None:
    """Fail before starting anything when a port is taken (another `make run`, a test…)."""
    seen: dict[tuple[str, int], str] = {}
    for address, role in wanted:
        if address in seen:
            raise SetupError(f"{address[0]}:{address[1]} is given to both {seen[address]} and "
                             f"{role}: choose other ports")
        seen[address] = role
    for (host, port), role in wanted:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise SetupError(f"{host}:{port} ({role}) cannot be used ({exc.strerror}): "
                                 "stop what listens there or choose other ports") from None


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


# --- processes ------------------------------------------------------------------------------


def build_children(args: argparse.Namespace, env: dict[str, str], model: Path,
                   rasa_ports: list[int], action_ports: list[int]) -> dict[str, list[Child]]:
    log_dir, bind = Path(args.log_dir), args.bind
    actions_env = {**env, "SANIC_HOST": bind, "ACTION_SERVER_SANIC_WORKERS": "1",
                   "LAW_AUTO_MIGRATE": "0"}  # migrated above: N servers must not race to it
    # One Sanic worker per Rasa process; parallelism comes from processes, so TensorFlow's own
    # thread pools only contend with them.
    rasa_env = {**env, "SANIC_WORKERS": "1"}
    rasa_env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    rasa_env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    credentials = args.credentials or ("credentials.yml" if args.rest_only
                                       else "credentials.prod.yml")
    api = ["--enable-api", "--auth-token", env["LAW_RASA_AUTH_TOKEN"]] \
        if env.get("LAW_RASA_AUTH_TOKEN") else []
    health = "/" if args.rest_only else nginx.WHATSAPP_HEALTH_PATH
    actions = [
        Child(f"action-server-{i + 1}",
              [LAW_RASA, "run", "actions", "--actions", "actions", "--port", str(port)],
              actions_env, f"http://{bind}:{port}/health", log_dir / f"actions-{port}.log",
              f"{bind}:{port}")
        for i, port in enumerate(action_ports)
    ]
    def rasa_command(port: int, serving: Path) -> list[str]:
        return [LAW_RASA, "run", "-m", str(serving), "-i", bind, "-p", str(port),
                "--endpoints", "endpoints.prod.yml", "--credentials", credentials, *api]

    def promoted_or_started(port: int) -> list[str]:
        # Promoted since law-prod started (models/current.tar.gz): the others serve that now.
        return rasa_command(port, launch_model(model.parent, model) or model)

    rasa = [
        Child(f"rasa-{i + 1}", rasa_command(port, model), rasa_env,
              f"http://{bind}:{port}{health}", log_dir / f"rasa-{port}.log", f"{bind}:{port}",
              again=functools.partial(promoted_or_started, port))
        for i, port in enumerate(rasa_ports)
    ]
    front = None if args.no_front else f"{args.host}:{args.port}"
    site = nginx.Site(
        prefix=log_dir / "nginx",
        rasa=[f"{bind}:{port}" for port in rasa_ports] + peers(args.peer_rasa),
        actions=[f"{bind}:{port}" for port in action_ports],
        actions_listen=f"{bind}:{args.action_port}",
        front_listen=front,
        health_path=health,
    )
    try:
        nginx.write(site)
    except nginx.NginxError as exc:
        raise SetupError(f"nginx refused its configuration {site.conf}: {exc}") from exc
    ready = (f"http://{_reachable(args.host)}:{args.port}{health}" if front
             else f"http://{bind}:{args.action_port}/health")
    balancer = [Child("nginx", nginx.command(site), env, ready, log_dir / "nginx.log",
                      front or site.actions_listen)]
    console = []
    if args.console:
        console.append(Child(
            "console", [LAW_CONSOLE, "--host", args.console_host, "--port",
                        str(args.console_port)],
            env, f"http://{_reachable(args.console_host)}:{args.console_port}/",
            log_dir / "console.log", f"{args.console_host}:{args.console_port}",
            optional=True))
    return {"actions": actions, "rasa": rasa, "nginx": balancer, "console": console}


def prepare_only(env: dict[str, str], create_databases: bool) -> int:
    """The one-off step of a deployment (deploy/systemd/law-prepare.service)."""
    try:
        prepare_stores(env, create_databases)
    except SetupError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means "stores not ready"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SetupError(f"stores not ready: {exc.__class__.__name__}: {first}") from exc
    print(f"stores ready: slot store {safe_url(env['LAW_DATABASE_URL'])}, tracker store "
          f"{safe_url(env['LAW_TRACKER_URL'])}", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        raise SetupError(f"no trained model ({args.model or 'models/law-*.tar.gz'}): "
                         "run `make train`")
    rasa_ports = ports(args.rasa_ports, args.port + 1, args.rasa)
    action_ports = ports(args.action_ports, args.action_port + 1, args.actions)
    wanted = [((args.bind, p), "Rasa") for p in rasa_ports]
    wanted += [((args.bind, p), "action server") for p in action_ports]
    wanted.append(((args.bind, args.action_port), "nginx, actions"))
    if not args.no_front:
        wanted.append(((args.host, args.port), "nginx, front"))
    if args.console:
        wanted.append(((args.console_host, args.console_port), "console"))
    check_ports_free(wanted)
    rasa_urls = [f"http://{args.bind}:{p}" for p in rasa_ports] + \
        [f"http://{peer}" for peer in peers(args.peer_rasa)]
    env = environment(args, rasa_urls)
    missing = [name for name in WHATSAPP_REQUIRED if not env.get(name)]
    if missing and not args.rest_only:
        raise SetupError(f"WhatsApp settings missing: {', '.join(missing)} (docs/whatsapp.md); "
                         "set them, or pass --rest-only to serve the REST channel alone")
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    groups = build_children(args, env, model, rasa_ports, action_ports)
    # Stopping order: the console; Rasa finishes its queued messages (what it cannot is
    # handed back to the inbox) while nginx still carries its action calls; then nginx (new
    # deliveries meanwhile get no 200, and Meta delivers them again later); the actions last.
    order = [groups["console"], groups["rasa"], groups["nginx"], groups["actions"]]
    try:
        for child in [*groups["actions"], *groups["nginx"]]:
            child.start()
        prepare_only(env, args.create_databases)
        if stopping.is_set():
            return 0
        print(f"starting {len(rasa_ports)} Rasa process(es) with {model.name}", flush=True)
        for child in [*groups["rasa"], *groups["console"]]:
            child.start()
        skipped = wait_ready([*groups["actions"], *groups["rasa"], *groups["console"]],
                             args.ready_timeout, stopping)
        # Asked through nginx only now: asked earlier, every Rasa process would have
        # refused and been left out for nginx.FAIL_TIMEOUT.
        wait_ready(groups["nginx"], args.ready_timeout, stopping)
        everyone = [child for group in order for child in group if child not in skipped]
        if args.notices and not args.rest_only:
            # The office speaks first: one sender process (several would be safe too).
            notices = Child("notices", [LAW_NOTICES], env, "",
                            Path(args.log_dir) / "notices.log")
            notices.start()
            everyone.append(notices)
            order.insert(0, [notices])
        print(summary(args, everyone, rasa_urls), flush=True)
        code = supervise(everyone, stopping)
        print("stopping …", flush=True)
        return code
    finally:
        stop_all(order)


def summary(args: argparse.Namespace, children: list[Child], rasa_urls: list[str]) -> str:
    lines = ["LAW production topology is up:", *(child.line() for child in children)]
    if not args.no_front:
        kind, path = (("REST webhook", "/webhooks/rest/webhook") if args.rest_only
                      else ("WhatsApp webhook", nginx.WEBHOOK_PATH))
        lines.append(f"{kind}: http://{args.host}:{args.port}{path} (nginx, round robin over "
                     f"{len(rasa_urls)} Rasa process(es))")
    lines.append(f"Rasa processes (LAW_RASA_URLS): {', '.join(rasa_urls)}")
    lines.append("Ctrl-C stops everything.")
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
                        help="interface of nginx's front (LAW_HOST)")
    parser.add_argument("--port", type=int, default=int(env("LAW_PORT", "5005")),
                        help="nginx's front port (LAW_PORT); Rasa processes take the next ones")
    parser.add_argument("--action-port", type=int, default=int(env("LAW_ACTION_PORT", "5055")),
                        help="nginx's port for action calls (LAW_ACTION_PORT); the action "
                             "servers take the next ones")
    parser.add_argument("--bind", default="127.0.0.1",
                        help="address the Rasa processes, action servers and nginx's actions "
                             "server listen on: this machine's private address when a load "
                             "balancer on another machine reaches them")
    parser.add_argument("--peer-rasa",
                        help="HOST:PORT of Rasa processes on other machines, comma-separated: "
                             "the front spreads the webhook over them too, and promotion "
                             "reaches them (LAW_RASA_URLS)")
    parser.add_argument("--no-front", action="store_true",
                        help="no webhook front on this machine (another machine's load "
                             "balancer reaches its Rasa processes)")
    parser.add_argument("--rasa-ports", help="comma-separated ports of the Rasa processes")
    parser.add_argument("--action-ports", help="comma-separated ports of the action servers")
    parser.add_argument("--console", action=argparse.BooleanOptionalAction, default=True,
                        help="run the staff console (law-console) on an internal port; "
                             "skipped with a warning when it cannot start (default: on)")
    parser.add_argument("--console-host", default="127.0.0.1")
    parser.add_argument("--console-port", type=int, default=5080)
    parser.add_argument("--log-dir", default=str(ROOT / "var" / "prod"),
                        help="process logs, and nginx's directory (nginx/) with its "
                             "configuration and access log")
    parser.add_argument("--credentials",
                        help="Rasa's credentials file (default credentials.prod.yml, "
                             "credentials.yml with --rest-only)")
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
        if args.prepare_only:
            return prepare_only(environment(args, [f"http://{args.bind}:{args.port + 1}"]),
                                args.create_databases)
        return run(args)
    except (SetupError, StartError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
