"""Running Rasa's Python API inside a staff process: quiet, and with progress in Indonesian.

Rasa reads settings from the environment at import time, its libraries warn about their own
deprecations, and its training logs every component in English. ``prepare_rasa`` sets what
Rasa needs before it is imported; ``component_progress`` turns the training log into short
Indonesian lines for a callback (the terminal, or the console's progress page);
``with_ticker`` shows the seconds a long step has been running on a terminal.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from law_retrain.models import ProjectPaths

T = TypeVar("T")

_NOISE = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_show_warning = warnings.showwarning


def _show_relevant_warning(message: Warning | str, category: type[Warning], *args: Any,
                           **kwargs: Any) -> None:
    """Show a warning unless it is library noise staff can do nothing about."""
    if issubclass(category, _NOISE) or category.__name__ == "UndefinedMetricWarning":
        return
    _show_warning(message, category, *args, **kwargs)


def prepare_rasa(paths: ProjectPaths) -> None:
    """Settings Rasa reads from the environment; call before importing it."""
    global _show_warning
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Rasa caches trained components under the working directory unless told otherwise.
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(paths.root / ".rasa" / "cache"))
    # Libraries Rasa imports warn about their own deprecations, and Sanic re-enables those
    # warnings when imported, so they are dropped where they are shown instead.
    if warnings.showwarning is not _show_relevant_warning:
        _show_warning = warnings.showwarning
        warnings.showwarning = _show_relevant_warning


def silence_structlog() -> None:
    # Rasa's structured debug log repeats every parsed message; keep it off the screen.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _ComponentProgress(logging.Handler):
    """Turns Rasa's "Starting to train component 'X'" log lines into short Indonesian ones."""

    WORDS = (("Starting to train component", "melatih"),
             ("Finished training component", "selesai"),
             ("Restored component", "dari cache"))

    def __init__(self, report: Callable[[str], None]) -> None:
        super().__init__()
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for english, indonesian in self.WORDS:
            if message.startswith(english):
                name = message.split("'")[1] if "'" in message else message
                self.report(f"  · {indonesian:10s} {name}")


@contextlib.contextmanager
def component_progress(report: Callable[[str], None] = print_progress) -> Iterator[None]:
    """While training, each component started, finished or taken from cache is reported."""
    hooks = logging.getLogger("rasa.engine.training.hooks")
    handler = _ComponentProgress(report)
    saved = hooks.level, hooks.propagate
    hooks.addHandler(handler)
    hooks.setLevel(logging.INFO)
    hooks.propagate = False
    try:
        yield
    finally:
        hooks.removeHandler(handler)
        hooks.setLevel(saved[0])
        hooks.propagate = saved[1]


def with_ticker(label: str, work: Callable[[], T], every: float = 2.0) -> T:
    """Run ``work`` while the seconds it has been running tick on the terminal."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    tty = sys.stderr.isatty()
    while thread.is_alive():
        thread.join(every)
        elapsed = int(time.monotonic() - started)
        if tty:
            print(f"\r{label} ... {elapsed} dtk", end="", file=sys.stderr, flush=True)
        elif thread.is_alive() and elapsed % 30 < every:
            print(f"{label} ... {elapsed} dtk", file=sys.stderr, flush=True)
    took = time.monotonic() - started
    print(f"{chr(13) if tty else ''}{label} ... selesai ({took:.0f} dtk)", file=sys.stderr)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
