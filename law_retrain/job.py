"""Training a candidate in the background, one at a time, with progress anyone can read.

The console starts ``python -m law_retrain.job`` as a process of its own (the web server never
imports Rasa). The job writes the waiting labels to the training data and checks it (``rasa
data validate``), trains the candidate, scores it and the current model on the test set,
reads the newly labelled messages and the inbox with both models, and leaves the comparison in
``models/latih-ulang/perbandingan.json``. Its state and progress lines are in
``models/latih-ulang/pelatihan.json``, which the console's progress page polls.

One at a time: whoever starts a job takes an exclusive lock on
``models/latih-ulang/.pelatihan.lock`` and the job holds it until it ends (the console passes
its locked file to the job), so a second request, from any console process or from ``antrean
latih-kandidat``, is told that training is running.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from antrean.staff.common import StaffError
from law_retrain.models import ProjectPaths

STATUS_FILE = "pelatihan.json"
REPORT_FILE = "perbandingan.json"
LOCK_FILE = ".pelatihan.lock"
BUSY_EXIT = 75
RUNNING, DONE, FAILED = "berjalan", "selesai", "gagal"
BUSY_MESSAGE = "Pelatihan model kandidat sedang berjalan; tunggu sampai selesai."


@dataclass
class Status:
    """What the progress page shows."""

    state: str
    by: str
    started: str
    finished: str | None = None
    steps: list[str] = field(default_factory=list)
    message: str = ""  # the outcome, or why it failed (Indonesian)
    candidate: str | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING


def read_status(paths: ProjectPaths) -> Status | None:
    try:
        return Status(**json.loads((paths.retrain / STATUS_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def read_report(paths: ProjectPaths) -> dict[str, Any] | None:
    try:
        report = json.loads((paths.retrain / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _write_json(path: Path, data: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)


def try_lock(paths: ProjectPaths) -> IO[str] | None:
    """The training lock, taken; None when a training holds it."""
    paths.retrain.mkdir(parents=True, exist_ok=True)
    handle = (paths.retrain / LOCK_FILE).open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def training_lock(paths: ProjectPaths) -> Iterator[None]:
    """For ``antrean latih-kandidat``: refuse while another training runs."""
    handle = try_lock(paths)
    if handle is None:
        raise StaffError(BUSY_MESSAGE, 1)
    try:
        yield
    finally:
        handle.close()


def start(paths: ProjectPaths, by: str, tracker_url: str | None = None, nlu_only: bool = False,
          margin: float | None = None, log: Path | None = None) -> bool:
    """Start a job for ``by``; False when one is running already."""
    handle = try_lock(paths)
    if handle is None:
        return False
    try:
        _write_json(paths.retrain / STATUS_FILE, asdict(Status(
            RUNNING, by, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            steps=["Menunggu giliran ..."])))
        command = [sys.executable, "-m", "law_retrain.job", "--proyek", str(paths.root),
                   "--set-uji", str(paths.test_set), "--oleh", by,
                   "--kunci-fd", str(handle.fileno())]
        if tracker_url:
            command += ["--tracker", tracker_url]
        if nlu_only:
            command.append("--hanya-nlu")
        if margin is not None:
            command += ["--batas-turun", str(margin)]
        output = (log or paths.retrain / "pelatihan.log").open("w")
        process = subprocess.Popen(command, cwd=paths.root, stdout=output,
                                   stderr=subprocess.STDOUT, pass_fds=(handle.fileno(),),
                                   start_new_session=True)
        output.close()
        # Reaped when it ends, so a long-running console leaves no zombie behind.
        threading.Thread(target=process.wait, daemon=True).start()
    finally:
        handle.close()  # the job holds the lock now
    return True


# --- the job itself ----------------------------------------------------------------------
class _Progress:
    def __init__(self, paths: ProjectPaths, status: Status) -> None:
        self.path, self.status = paths.retrain / STATUS_FILE, status
        self.save()

    def save(self) -> None:
        _write_json(self.path, asdict(self.status))

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        self.status.steps.append(line.strip())
        self.save()

    def end(self, state: str, message: str) -> None:
        self.status.state, self.status.message = state, message
        self.status.finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.save()


def run(paths: ProjectPaths, by: str, tracker_url: str | None, nlu_only: bool,
        margin: float, report: _Progress) -> None:
    from antrean.bootstrap import office_clock
    from antrean.settings import Settings
    from law_retrain.comparison_report import build_report
    from law_retrain.history import History
    from law_retrain.labels import write_waiting
    from law_retrain.training import candidate_name, train_candidate

    now = office_clock(Settings.from_env()).now()
    report("Menulis label ke data latih dan memeriksanya (rasa data validate) ...")
    written = write_waiting(paths, now)
    report(f"{written.count} contoh baru ditulis ke {paths.reviewed.name}.")
    name = candidate_name(now, paths.retrain)
    report(f"Melatih model kandidat {name} ...")
    started = time.monotonic()
    model = train_candidate(paths, name, nlu_only=nlu_only, report=report)
    report(f"Kandidat selesai dilatih dalam {time.monotonic() - started:.0f} dtk.")
    history = History.load(paths.retrain)
    history.latest_candidate = str(model)
    history.save()
    report.status.candidate = model.name
    report("Menguji model saat ini dan kandidat pada set uji ...")
    comparison = build_report(paths, history, model, margin, tracker_url, report)
    _write_json(paths.retrain / REPORT_FILE, comparison)
    verdict = "LAYAK" if comparison["acceptable"] else "TIDAK LAYAK"
    report.end(DONE, f"Kandidat {model.name} siap: {verdict} dipromosikan.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m law_retrain.job")
    parser.add_argument("--proyek")
    parser.add_argument("--set-uji")
    parser.add_argument("--oleh", required=True)
    parser.add_argument("--tracker")
    parser.add_argument("--hanya-nlu", action="store_true")
    parser.add_argument("--batas-turun", type=float)
    parser.add_argument("--kunci-fd", type=int)
    args = parser.parse_args(argv)
    paths = ProjectPaths.at(args.proyek, args.set_uji)
    if args.kunci_fd is None:  # started by hand: take the lock here
        handle = try_lock(paths)
        if handle is None:
            print(BUSY_MESSAGE, file=sys.stderr)
            return BUSY_EXIT
    from law_retrain.scores import DEFAULT_MARGIN

    status = read_status(paths)
    progress = _Progress(paths, Status(
        RUNNING, args.oleh, status.started if status and status.running else
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
    try:
        run(paths, args.oleh, args.tracker, args.hanya_nlu,
            DEFAULT_MARGIN if args.batas_turun is None else args.batas_turun, progress)
    except StaffError as problem:
        progress.end(FAILED, problem.message)
        return 1
    except Exception as exc:  # noqa: BLE001 - the page must say it ended, whatever happened
        progress.end(FAILED, f"Pelatihan gagal: {exc.__class__.__name__}: {exc}")
        raise
    finally:
        if args.kunci_fd is not None:
            os.close(args.kunci_fd)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
