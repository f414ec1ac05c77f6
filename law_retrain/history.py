"""What the retraining loop remembers: promoted models, every promotion, cached scores.

Kept in ``models/latih-ulang/riwayat.json``. ``promoted`` is a stack: the last entry is the
active model and rolling back returns to the one under it. ``events`` is the record staff
read (console "Riwayat", ``antrean riwayat-model``): every promotion and roll-back, who did it,
when, the macro-F1 figures and the processes it reached; it only grows. Models that sit outside
the retraining directory are copied into it before they become "previous", so pruning
``models/`` (``make train`` keeps two) cannot take them away.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from antrean.staff.common import StaffError
from law_retrain.models import ModelInfo
from law_retrain.scores import IntentScores

HISTORY_FILE = "riwayat.json"
KEPT_PREFIX = "cadangan-"  # not "law-": `make train` prunes models named law-*.tar.gz


@dataclass
class Promotion:
    model: str  # path of the archive
    model_id: str
    at: str  # when it became active (ISO)


@dataclass
class Event:
    """One promotion or roll-back, as staff read it."""

    kind: str  # "promosi" or "kembali"
    model: str  # file name of the model made active
    model_id: str
    at: str  # ISO
    by: str  # staff member (console login, or the system user of the command)
    macro_f1: float | None = None  # of the model made active, on the test set
    previous_macro_f1: float | None = None  # of the model it replaced
    processes: list[str] = field(default_factory=list)  # Rasa processes that loaded it


@dataclass
class History:
    """What the loop remembers between commands."""

    path: Path
    promoted: list[Promotion] = field(default_factory=list)  # the last one is active
    latest_candidate: str | None = None
    scores: dict[str, dict] = field(default_factory=dict)  # "<model_id>:<test digest>" → scores
    events: list[Event] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> History:
        path = directory / HISTORY_FILE
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, [Promotion(**p) for p in data.get("promoted", [])],
                       data.get("latest_candidate"), data.get("scores", {}),
                       [Event(**e) for e in data.get("events", [])])
        except (ValueError, TypeError) as exc:
            raise StaffError(f"Riwayat model rusak: {path}: {exc}", 3) from exc

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"promoted": [asdict(p) for p in self.promoted],
                "latest_candidate": self.latest_candidate, "scores": self.scores,
                "events": [asdict(e) for e in self.events]}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        temporary.replace(self.path)

    @property
    def active(self) -> Promotion | None:
        return self.promoted[-1] if self.promoted else None

    @property
    def previous(self) -> Promotion | None:
        return self.promoted[-2] if len(self.promoted) > 1 else None

    def cached_scores(self, model_id: str, test_digest: str) -> IntentScores | None:
        found = self.scores.get(f"{model_id}:{test_digest}")
        return IntentScores.from_dict(found) if found else None

    def remember_scores(self, model_id: str, test_digest: str, scores: IntentScores) -> None:
        self.scores[f"{model_id}:{test_digest}"] = scores.as_dict()

    def push(self, info: ModelInfo, now: dt.datetime) -> None:
        moment = now.isoformat(timespec="seconds")
        self.promoted.append(Promotion(str(info.path), info.model_id, moment))


def keep_copy(model: Path, directory: Path) -> Path:
    """``model`` itself when it lives in ``directory``, else a copy kept there."""
    if model.resolve().parent == directory.resolve():
        return model.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    name = model.name if model.name.startswith(KEPT_PREFIX) else KEPT_PREFIX + model.name
    copy = directory / name
    if not copy.exists() or copy.stat().st_size != model.stat().st_size:
        shutil.copy2(model, copy)
    return copy.resolve()
