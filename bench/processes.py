"""Child processes of a benchmark run: the action server, waiting for start-up, stopping.

``bench_whatsapp.py --with-actions`` starts ``rasa run actions`` from the project root on a
free port, with ``LAW_DATABASE_URL`` pointing at a SQLite file in the run's temporary folder
(never ``var/law.db``), and writes an ``endpoints.yml`` there that names that action server and
a tracker store: in memory, or a SQLite file in the same folder.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

TRACKER_STORES = ("memory", "sqlite")


def bench_environment(workdir: Path) -> dict[str, str]:
    """The environment of every process of a run: the slot store lives in ``workdir``."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONDONTWRITEBYTECODE": "1", "LAW_DATABASE_URL": f"sqlite:///{workdir}/law.db"}


def start_action_server(root: Path, workdir: Path, port: int) -> subprocess.Popen:
    """Start ``law-rasa run actions`` (the project's ``actions`` package), as production
    does; its log goes to workdir."""
    rasa = Path(sys.executable).with_name("law-rasa")
    command = [str(rasa), "run", "actions", "--actions", "actions", "--port", str(port),
               "--quiet"]
    log = open(workdir / "action-server.log", "w")  # noqa: SIM115 - the child writes it
    return subprocess.Popen(command, cwd=root, env=bench_environment(workdir),
                            stdout=log, stderr=subprocess.STDOUT)


def write_endpoints(workdir: Path, action_port: int, tracker_store: str) -> Path:
    """An endpoints.yml naming the local action server and the chosen tracker store."""
    if tracker_store not in TRACKER_STORES:
        raise ValueError(f"tracker store {tracker_store!r} is not one of {TRACKER_STORES}")
    lines = ["action_endpoint:", f'  url: "http://127.0.0.1:{action_port}/webhook"']
    if tracker_store == "sqlite":
        lines += sqlite_tracker_store(workdir / "tracker.db")
    # No tracker_store key: Rasa keeps trackers in memory. The lock store is in memory too.
    path = workdir / "endpoints.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def sqlite_tracker_store(database: Path) -> list[str]:
    """endpoints.yml lines of the project's tracker store (as in endpoints.yml) on ``database``."""
    return ["tracker_store:", "  type: addons.tracker_store.KnownCountSQLTrackerStore",
            '  dialect: "sqlite"', f'  db: "{database}"']


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (each held until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def wait_for(url: str, proc: subprocess.Popen, name: str, timeout: float,
                   log: Path) -> None:
    """Wait until ``url`` answers 200; stop the run if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the {name} exited during start-up; see {log}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit(f"the {name} was not ready after {timeout:.0f} s; see {log}")


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Ask a child to stop (SIGINT, as Ctrl-C would), kill it if it does not."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
