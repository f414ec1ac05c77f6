"""The processes of the topology and their supervision: start, readiness, restart, stop.

``law-prod`` (``law_launch/prod.py``) builds the :class:`Child` list; this module runs it the
way systemd runs the units of ``deploy/systemd/`` on a real server: a process that dies is
started again after ``RESTART_DELAY_S`` (``Restart=``), and one that keeps dying stops the set
(``StartLimitBurst=``).
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
STOP_GRACE_S = 20.0
RESTART_DELAY_S = 1.0
RESTART_LIMIT = 5  # restarts of one process within RESTART_WINDOW_S before giving up
RESTART_WINDOW_S = 120.0


class StartError(Exception):
    """A process could not start; the message says which and shows its log."""


@dataclass(eq=False)
class Child:
    """One process of the topology.

    Attributes:
        ready_url: GET here answers 200 once the process works ("" if it has no such URL).
        where: What the summary shows as its address.
        optional: Whether the topology goes on without it when it cannot start (the console:
            not on the applicants' path).
        again: The command to start it with again, when that may have changed since (a Rasa
            process restarted after a promotion loads the promoted model).
    """

    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    log: Path
    where: str = "-"
    optional: bool = False
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)
    again: Callable[[], list[str]] | None = None

    def start(self, again: bool = False) -> None:
        if again and self.again is not None:
            self.command = self.again()
        out = self.log.open("a" if again else "w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops us in order
            preexec_fn=_die_with_parent,
        )
        out.close()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def may_restart(self, now: float) -> bool:
        self.restarts = [at for at in self.restarts if now - at < RESTART_WINDOW_S]
        self.restarts.append(now)
        return len(self.restarts) <= RESTART_LIMIT

    def line(self, note: str = "") -> str:
        pid = self.process.pid if self.process else "-"
        return f"  {self.name:<16} {self.where:<22} pid {pid:<8} log {self.log}{note}"

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


def wait_ready(children: list[Child], timeout_s: float, stopping: threading.Event) -> list[Child]:
    """Wait until each child answers; returns the optional ones that could not start."""
    deadline = time.monotonic() + timeout_s
    waiting, skipped = list(children), []
    while waiting:
        for child in list(waiting):
            code = child.exited()
            if code is not None and child.optional:
                print(f"warning: {child.name} exited with code {code} while starting; going on "
                      f"without it (--no-console leaves it out). {child.log}:\n{child.tail(5)}",
                      file=sys.stderr, flush=True)
                waiting.remove(child)
                skipped.append(child)
                continue
            if code is not None:
                raise StartError(f"{child.name} exited with code {code} while starting; "
                                 f"{child.log}:\n{child.tail()}")
            try:
                status = requests.get(child.ready_url, timeout=2).status_code
            except requests.RequestException:
                continue
            if status == 200 or (child.optional and status < 500):
                waiting.remove(child)
        if waiting and (time.monotonic() > deadline or stopping.is_set()):
            names = ", ".join(child.name for child in waiting)
            raise StartError(f"not ready after {timeout_s:.0f}s: {names}"
                             if not stopping.is_set() else "stopped while starting")
        if waiting:
            time.sleep(0.5)
    return skipped


def supervise(everyone: list[Child], stopping: threading.Event) -> int:
    """Restart what dies until Ctrl-C; 1 when a process keeps dying."""
    due: dict[Child, float] = {}  # children to start again, and when
    while not stopping.wait(0.5):
        now = time.monotonic()
        for child in everyone:
            if child in due:
                if now >= due[child]:
                    del due[child]
                    child.start(again=True)
                    print(child.line(" (started again)"), flush=True)
                continue
            code = child.exited()
            if code is None:
                continue
            if not child.may_restart(now):
                print(f"{child.name} exited with code {code}, the {RESTART_LIMIT + 1}th time "
                      f"in {RESTART_WINDOW_S:.0f}s; stopping everything. {child.log}:\n"
                      f"{child.tail()}", file=sys.stderr, flush=True)
                return 1
            print(f"{child.name} exited with code {code}; starting it again in "
                  f"{RESTART_DELAY_S:.0f}s", file=sys.stderr, flush=True)
            due[child] = now + RESTART_DELAY_S
    return 0


def stop_all(groups: list[list[Child]]) -> None:
    """Stop group by group, each with a grace period."""
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
