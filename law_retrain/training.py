"""Training a candidate model, and checking the training data first.

Candidates go to ``models/latih-ulang/kandidat-<date>-<time>.tar.gz``, never over the model
the servers run. Training runs Rasa's Python API (what ``rasa train`` calls) in this process:
the command ``antrean latih-kandidat`` does it in its own process, the console through
``law_retrain.job`` in a process of its own too, so the web server never imports Rasa.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from antrean.staff.common import StaffError
from law_retrain.models import CANDIDATE_PREFIX, ProjectPaths
from law_retrain.rasa_env import (
    component_progress,
    prepare_rasa,
    print_progress,
    silence_structlog,
    with_ticker,
)


def validate_project(paths: ProjectPaths, ticker: bool = True) -> subprocess.CompletedProcess:
    """``rasa data validate`` on the project, in a process of its own."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    command = [sys.executable, "-m", "rasa", "data", "validate", "--domain", str(paths.domain),
               "--data", str(paths.data), "--config", str(paths.config)]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=paths.root, env=env, capture_output=True, text=True)

    return with_ticker("Memeriksa data latih (rasa data validate)", run) if ticker else run()


def validation_errors(check: subprocess.CompletedProcess) -> list[str]:
    """The lines of ``rasa data validate``'s output that say what is wrong (at most 15)."""
    output = (check.stdout + check.stderr).strip().splitlines()
    errors = [line for line in output if "ERROR" in line or "Error" in line] or output[-15:]
    return errors[-15:]


def candidate_name(now: dt.datetime, directory: Path) -> str:
    """``kandidat-20261201-143000``, made unique within ``directory``."""
    name = base = f"{CANDIDATE_PREFIX}{now:%Y%m%d-%H%M%S}"
    number = 1
    while (directory / f"{name}.tar.gz").exists():
        number += 1
        name = f"{base}-{number}"
    return name


def train_candidate(paths: ProjectPaths, name: str, nlu_only: bool = False,
                    report: Callable[[str], None] = print_progress) -> Path:
    """Train a model from the project's data into the retraining directory."""
    for needed in (paths.domain, paths.config, paths.data):
        if not needed.exists():
            raise StaffError(f"Tidak ditemukan: {needed}", 3)
    prepare_rasa(paths)
    from rasa.shared.exceptions import RasaException

    paths.retrain.mkdir(parents=True, exist_ok=True)
    silence_structlog()
    try:
        with component_progress(report):
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
