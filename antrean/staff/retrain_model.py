"""Models of the retraining loop: where they live, training a candidate, scoring on the test set.

Training and evaluation run in this process through Rasa's Python API (what ``rasa train`` and
``rasa test nlu`` call), so Rasa is imported once per command, and its progress is shown in
Indonesian. Scores are intent F1 on the held-out test set; macro-F1 is their plain mean over
the intents the test set contains.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
import sys
import tarfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from antrean.config import PROJECT_ROOT
from antrean.staff.common import StaffError

RETRAIN_DIR = Path("models") / "latih-ulang"
CANDIDATE_PREFIX = "kandidat-"
NLU_ONLY = 1  # rasa.shared.data.TrainingType.NLU in a model's metadata.json
TOLERANCE = 1e-9  # F1 values are floats: equal within this counts as equal

T = TypeVar("T")


@dataclass(frozen=True)
class ProjectPaths:
    """The files of one Rasa project the loop reads and writes."""

    root: Path
    domain: Path
    config: Path
    data: Path  # all training data (NLU, stories, rules)
    nlu: Path  # NLU training data only
    reviewed: Path  # where imported review rows go
    test_set: Path
    models: Path  # where `make train` puts models
    retrain: Path  # candidates, kept copies and the history of this loop

    @classmethod
    def at(cls, root: Path | str | None = None,
           test_set: Path | str | None = None) -> ProjectPaths:
        base = Path(root or PROJECT_ROOT).resolve()
        tests = Path(test_set).resolve() if test_set else base / "tests" / "nlu" / "test_nlu.yml"
        return cls(
            root=base,
            domain=base / "domain.yml",
            config=base / "config.yml",
            data=base / "data",
            nlu=base / "data" / "nlu",
            reviewed=base / "data" / "nlu" / "reviewed.yml",
            test_set=tests,
            models=base / "models",
            retrain=base / RETRAIN_DIR,
        )


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    model_id: str
    training_type: int
    trained_at: str

    @property
    def nlu_only(self) -> bool:
        return self.training_type == NLU_ONLY


def model_info(path: Path) -> ModelInfo:
    """Identity of a trained model, read from the ``metadata.json`` inside its archive."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("./") == "metadata.json":
                    handle = archive.extractfile(member)
                    metadata = json.load(handle) if handle else {}
                    break
            else:
                metadata = {}
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise StaffError(f"Model tidak dapat dibaca: {path}: {exc}", 3) from exc
    if "model_id" not in metadata:
        raise StaffError(f"{path} bukan model Rasa (tidak ada metadata.json).", 3)
    return ModelInfo(path, metadata["model_id"], int(metadata.get("training_type", 3)),
                     str(metadata.get("trained_at", "")))


def newest_model(directory: Path) -> Path | None:
    """The newest ``*.tar.gz`` directly in ``directory`` (what `make train` last wrote)."""
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# --- quiet, Indonesian progress around Rasa ---------------------------------------------
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


def _silence_structlog() -> None:
    # Rasa's structured debug log repeats every parsed message; keep it off the screen.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


class _ComponentProgress(logging.Handler):
    """Turns Rasa's "Starting to train component 'X'" log lines into short Indonesian ones."""

    WORDS = (("Starting to train component", "melatih"),
             ("Finished training component", "selesai"),
             ("Restored component", "dari cache"))

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for english, indonesian in self.WORDS:
            if message.startswith(english):
                name = message.split("'")[1] if "'" in message else message
                print(f"  · {indonesian:10s} {name}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def component_progress() -> Iterator[None]:
    hooks = logging.getLogger("rasa.engine.training.hooks")
    handler = _ComponentProgress()
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


def validate_project(paths: ProjectPaths) -> subprocess.CompletedProcess:
    """``rasa data validate`` on the project, in a process of its own."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    command = [sys.executable, "-m", "rasa", "data", "validate", "--domain", str(paths.domain),
               "--data", str(paths.data), "--config", str(paths.config)]
    return with_ticker("Memeriksa data latih (rasa data validate)", lambda: subprocess.run(
        command, cwd=paths.root, env=env, capture_output=True, text=True))


# --- training ----------------------------------------------------------------------------
def candidate_name(now: dt.datetime, directory: Path) -> str:
    """``kandidat-20261201-143000``, made unique within ``directory``."""
    name = base = f"{CANDIDATE_PREFIX}{now:%Y%m%d-%H%M%S}"
    number = 1
    while (directory / f"{name}.tar.gz").exists():
        number += 1
        name = f"{base}-{number}"
    return name


def train_candidate(paths: ProjectPaths, name: str, nlu_only: bool = False) -> Path:
    """Train a model from the project's data into the retraining directory."""
    for needed in (paths.domain, paths.config, paths.data):
        if not needed.exists():
            raise StaffError(f"Tidak ditemukan: {needed}", 3)
    prepare_rasa(paths)
    from rasa.shared.exceptions import RasaException

    paths.retrain.mkdir(parents=True, exist_ok=True)
    _silence_structlog()
    try:
        with component_progress():
            if nlu_only:
                from rasa.model_training import train_nlu

                model = train_nlu(str(paths.config), str(paths.data), str(paths.retrain),
                                  fixed_model_name=name, domain=str(paths.domain))
            else:
                from rasa.api import train

                model = train(str(paths.domain), str(paths.config), [str(paths.data)],
                              str(paths.retrain), fixed_model_name=name).model
    except (RasaException, SystemExit) as exc:  # Rasa exits on some data errors
        raise StaffError(f"Pelatihan gagal: {exc}", 1) from exc
    if not model or not Path(model).exists():
        raise StaffError("Pelatihan gagal; lihat pesan Rasa di atas.", 1)
    return Path(model)


# --- evaluation --------------------------------------------------------------------------
@dataclass
class IntentScores:
    """Intent F1 per intent of the test set."""

    f1: dict[str, float] = field(default_factory=dict)
    support: dict[str, int] = field(default_factory=dict)  # test examples per intent

    @property
    def macro_f1(self) -> float:
        tested = [i for i, n in self.support.items() if n > 0]
        return sum(self.f1.get(i, 0.0) for i in tested) / len(tested) if tested else 0.0

    def as_dict(self) -> dict:
        return {"f1": self.f1, "support": self.support}

    @classmethod
    def from_dict(cls, data: dict) -> IntentScores:
        return cls(dict(data["f1"]), {k: int(v) for k, v in data["support"].items()})

    @classmethod
    def from_report(cls, report: dict) -> IntentScores:
        """From Rasa's intent classification report (``intent_report.json``)."""
        scores = cls()
        for name, values in report.items():
            if isinstance(values, dict) and "f1-score" in values and name not in (
                    "macro avg", "weighted avg", "micro avg"):
                scores.f1[name] = float(values["f1-score"])
                scores.support[name] = int(values.get("support", 0))
        return scores


def evaluate_model(model: Path, paths: ProjectPaths) -> IntentScores:
    """Intent scores of ``model`` on the test set, the way ``rasa test nlu`` computes them."""
    if not paths.test_set.exists():
        raise StaffError(f"Set uji tidak ditemukan: {paths.test_set}", 3)
    prepare_rasa(paths)
    from rasa.core.agent import Agent
    from rasa.nlu.test import run_evaluation

    _silence_structlog()
    print(f"  memuat {model.name} ...", file=sys.stderr, flush=True)
    agent = Agent.load(str(model))
    print(f"  menguji dengan {paths.test_set.name} ...", file=sys.stderr, flush=True)
    result = asyncio.run(run_evaluation(
        str(paths.test_set), agent.processor, output_directory=None, disable_plotting=True,
        report_as_dict=True, domain_path=str(paths.domain)))
    intent_result = result.get("intent_evaluation") or {}
    if not intent_result.get("report"):
        raise StaffError(f"Set uji {paths.test_set} tidak berisi contoh intent.", 3)
    return IntentScores.from_report(intent_result["report"])


# --- comparison --------------------------------------------------------------------------
DEFAULT_MARGIN = 0.05


@dataclass
class Comparison:
    current: IntentScores
    candidate: IntentScores
    margin: float = DEFAULT_MARGIN

    def intents(self) -> list[str]:
        support = {**self.candidate.support, **self.current.support}
        return sorted(i for i, n in support.items() if n > 0)

    def rows(self) -> list[tuple[str, float, float, float]]:
        """(intent, current F1, candidate F1, change) per intent of the test set."""
        rows = []
        for intent in self.intents():
            before = self.current.f1.get(intent, 0.0)
            after = self.candidate.f1.get(intent, 0.0)
            rows.append((intent, before, after, after - before))
        return rows

    def problems(self) -> list[str]:
        """Why the candidate is worse (Indonesian); empty when it may be promoted."""
        problems = []
        before, after = self.current.macro_f1, self.candidate.macro_f1
        if after < before - TOLERANCE:
            problems.append(f"macro-F1 turun dari {before:.3f} ke {after:.3f}")
        for intent, old, new, change in self.rows():
            if -change > self.margin + TOLERANCE:
                problems.append(f"F1 intent {intent} turun {-change:.3f} ({old:.3f} → {new:.3f}), "
                                f"lebih dari batas {self.margin:.2f}")
        return problems

    @property
    def acceptable(self) -> bool:
        return not self.problems()
