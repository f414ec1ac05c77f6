"""Start the real action server and Rasa server as subprocesses for end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

ROOT = Path(__file__).resolve().parents[2]
# Rasa as production starts it: the pinned release with LAW's patches (law_rasa/cli.py).
LAW_RASA = str(Path(sys.executable).with_name("law-rasa"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_model() -> Path | None:
    """The model ``make test`` trained (LAW_MODEL), else the newest under models/."""
    named = os.environ.get("LAW_MODEL")
    if named and (ROOT / named).exists():
        return ROOT / named
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} process exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(cmd: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(ready_url, proc, log)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    # law-rasa closes the HTTP sessions it kept open when the server stops.
    unclosed = [line for line in log.read_text(errors="replace").splitlines()
                if "Unclosed client session" in line or "Unclosed connector" in line]
    assert not unclosed, f"{cmd[1:3]} left sessions open at shutdown: {unclosed}"


class Assistant:
    """A running action server + Rasa server pair, talked to over HTTP."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url

    def say(self, sender: str, text: str) -> list[dict]:
        reply = requests.post(f"{self.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": text}, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def tracker(self, sender: str) -> dict:
        reply = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker", timeout=30)
        reply.raise_for_status()
        return reply.json()

    def bot_actions_since(self, sender: str, user_turn: int) -> list[str]:
        """Names of the actions run after the ``user_turn``-th user message (0-based)."""
        events = self.tracker(sender)["events"]
        seen, names = -1, []
        for event in events:
            if event["event"] == "user":
                seen += 1
            elif event["event"] == "action" and seen == user_turn:
                names.append(event["name"])
        return names


@contextmanager
def assistant(tmp: Path, model: Path, extra_env: dict[str, str] | None = None) -> Iterator[Assistant]:
    """Action server and Rasa server on free ports with stores under ``tmp``."""
    action_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LAW_DATABASE_URL": f"sqlite:///{tmp / 'law.db'}",
        **(extra_env or {}),
    }
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: addons.tracker_store.KnownCountSQLTrackerStore\n  dialect: "sqlite"\n  db: "{tmp / "tracker.db"}"\n'
    )
    with running([LAW_RASA, "run", "actions", "--actions", "actions", "-p", str(action_port)],
                 env, f"http://127.0.0.1:{action_port}/health", tmp / "actions.log"):
        with running([LAW_RASA, "run", "--enable-api", "-m", str(model), "-p", str(rasa_port),
                      "--endpoints", str(endpoints), "--credentials", "credentials.yml",
                      "-i", "127.0.0.1"],
                     env, f"http://127.0.0.1:{rasa_port}/status", tmp / "rasa.log"):
            yield Assistant(f"http://127.0.0.1:{rasa_port}")
