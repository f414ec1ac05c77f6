"""Where the retraining loop keeps its files, and what a trained model is.

A model is a Rasa archive (``*.tar.gz``); its identity is the ``model_id`` of the
``metadata.json`` inside it, which is also what a running Rasa server reports in
``GET /status``. Candidates, kept copies, the history and the pointer to the promoted model
live under ``models/`` (``models/latih-ulang/`` and ``models/current.tar.gz``).
"""
from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from antrean.config import PROJECT_ROOT
from antrean.staff.common import StaffError

RETRAIN_DIR = Path("models") / "latih-ulang"
CANDIDATE_PREFIX = "kandidat-"
TRAINED_GLOB = "law-*.tar.gz"  # what `make train` writes (and prunes)
NLU_ONLY = 1  # rasa.shared.data.TrainingType.NLU in a model's metadata.json


@dataclass(frozen=True)
class ProjectPaths:
    """The files of one Rasa project the loop reads and writes."""

    root: Path
    domain: Path
    config: Path
    data: Path  # all training data (NLU, stories, rules)
    nlu: Path  # NLU training data only
    reviewed: Path  # where reviewed and labelled messages go
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


def newest_model(directory: Path, pattern: str = "*.tar.gz") -> Path | None:
    """The newest regular model file directly in ``directory`` (what `make train` last wrote).

    The pointer ``current.tar.gz`` is a link, not a model of its own, and is left out.
    """
    models = sorted((p for p in directory.glob(pattern) if not p.is_symlink() and p.is_file()),
                    key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
