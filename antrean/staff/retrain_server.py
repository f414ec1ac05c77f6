"""The running Rasa server, the history of promoted models, and which models to compare.

A model is promoted by asking the server to load it (``PUT /model`` of Rasa's HTTP API, which
needs ``rasa run --enable-api``; with ``--auth-token`` the token goes in the query string), and
checked by ``GET /status``, which names the loaded model's id. The history is a stack of the
models promoted in turn, kept in ``models/latih-ulang/riwayat.json``; rolling back loads the one
under the top. Models that sit outside the retraining directory are copied into it before they
become "previous", so pruning ``models/`` (``make train`` keeps two) cannot take them away.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from antrean.settings import RASA_TOKEN_ENV, RASA_URL_ENV
from antrean.staff.common import StaffError
from antrean.staff.retrain_model import (
    CANDIDATE_PREFIX,
    IntentScores,
    ModelInfo,
    ProjectPaths,
    evaluate_model,
    file_digest,
    model_info,
    newest_model,
    with_ticker,
)

DEFAULT_RASA_URL = "http://localhost:5005"
HISTORY_FILE = "riwayat.json"
KEPT_PREFIX = "cadangan-"  # not "law-": `make train` prunes models named law-*.tar.gz
LOAD_TIMEOUT = 900.0  # seconds; the full model takes a while to load on a busy server


class RasaServer:
    """Rasa's HTTP API at ``url``."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        from antrean.settings import Settings

        settings = Settings.from_env() if url is None or token is None else None
        self.url = (url or (settings.rasa_url if settings else DEFAULT_RASA_URL)).rstrip("/")
        self.token = token if token is not None else (settings.rasa_token if settings else None)

    def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> requests.Response:
        params = {"token": self.token} if self.token else None
        try:
            reply = requests.request(method, f"{self.url}{path}", params=params,
                                     timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise StaffError(
                f"Server Rasa di {self.url} tidak dapat dihubungi ({exc.__class__.__name__}). "
                f"Pastikan server berjalan dengan --enable-api dan {RASA_URL_ENV} benar.", 3
            ) from exc
        if reply.status_code in (401, 403):
            raise StaffError(
                f"Server Rasa menolak permintaan ({reply.status_code}): periksa token di "
                f"{RASA_TOKEN_ENV} (sama dengan --auth-token server).", 3)
        return reply

    def loaded_model(self) -> dict[str, Any] | None:
        """``{"model_file", "model_id"}`` of the loaded model; None when none is loaded."""
        reply = self._request("GET", "/status", timeout=30)
        if reply.status_code == 409:  # Rasa: "No agent loaded"
            return None
        if reply.status_code != 200:
            raise StaffError(f"GET /status gagal ({reply.status_code}): {_message(reply)}", 3)
        return reply.json()

    def load_model(self, model: Path) -> None:
        """Ask the server to load ``model`` and wait until it has (PUT /model)."""
        reply = with_ticker(
            f"Memuat {model.name} ke server {self.url}",
            lambda: self._request("PUT", "/model", timeout=LOAD_TIMEOUT,
                                  json={"model_file": str(model.resolve())}))
        partial = _per_process(reply)
        if partial:
            raise StaffError(
                f"Tidak semua proses Rasa dapat memuat {model.name}: {partial}. Proses yang "
                "gagal tetap memakai model lama. Perbaiki penyebabnya lalu nyalakan ulang "
                "server dengan model yang diinginkan (docs/deployment.md).", 1)
        if reply.status_code != 204:
            raise StaffError(
                f"Server tidak dapat memuat {model.name} ({reply.status_code}): "
                f"{_message(reply)}. Model yang lama tetap dipakai.", 1)


def _per_process(reply: requests.Response) -> str | None:
    """What each Rasa process answered, when not all of them succeeded; None otherwise.

    The front router (law_launch/prod_router.py) sends some requests to every Rasa process.
    """
    if reply.status_code != 502:
        return None
    try:
        backends = reply.json().get("backends")
    except ValueError:
        return None
    if not isinstance(backends, dict):
        return None
    return ", ".join(
        f"{url} {'berhasil' if isinstance(status, int) and status < 300 else f'gagal ({status})'}"
        for url, status in backends.items())


def _message(reply: requests.Response) -> str:
    try:
        return str(reply.json().get("message") or reply.text)[:300]
    except ValueError:
        return reply.text[:300]


# --- history -----------------------------------------------------------------------------
@dataclass
class Promotion:
    model: str  # path of the archive
    model_id: str
    at: str  # when it became active (ISO)


@dataclass
class History:
    """What the loop remembers between commands."""

    path: Path
    promoted: list[Promotion] = field(default_factory=list)  # the last one is active
    latest_candidate: str | None = None
    scores: dict[str, dict] = field(default_factory=dict)  # "<model_id>:<test digest>" → scores

    @classmethod
    def load(cls, directory: Path) -> History:
        path = directory / HISTORY_FILE
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, [Promotion(**p) for p in data.get("promoted", [])],
                       data.get("latest_candidate"), data.get("scores", {}))
        except (ValueError, TypeError) as exc:
            raise StaffError(f"Riwayat model rusak: {path}: {exc}", 3) from exc

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"promoted": [p.__dict__ for p in self.promoted],
                "latest_candidate": self.latest_candidate, "scores": self.scores}
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


# --- which models ------------------------------------------------------------------------
def resolve_candidate(given: str | None, history: History, paths: ProjectPaths) -> ModelInfo:
    """The candidate: as given, else the last one trained."""
    chosen = Path(given) if given else None
    if chosen is None and history.latest_candidate and Path(history.latest_candidate).exists():
        chosen = Path(history.latest_candidate)
    if chosen is None:
        found = sorted(paths.retrain.glob(f"{CANDIDATE_PREFIX}*.tar.gz"))
        chosen = found[-1] if found else None
    if chosen is None or not chosen.exists():
        raise StaffError("Model kandidat tidak ditemukan; jalankan dulu: antrean latih-kandidat "
                         "(atau beri --kandidat FILE).", 1)
    return model_info(chosen)


def resolve_current(given: str | None, history: History, paths: ProjectPaths) -> ModelInfo:
    """The model to beat: as given, else the last promoted one, else the newest in models/."""
    chosen = Path(given) if given else None
    if chosen is None and history.active and Path(history.active.model).exists():
        chosen = Path(history.active.model)
    if chosen is None:
        chosen = newest_model(paths.models)
    if chosen is None or not chosen.exists():
        raise StaffError(f"Model saat ini tidak ditemukan di {paths.models}; beri "
                         "--model-saat-ini FILE (model yang sedang dipakai server).", 1)
    return model_info(chosen)


def scores_of(info: ModelInfo, paths: ProjectPaths, history: History) -> IntentScores:
    """Test-set scores of a model: remembered from an earlier run, else evaluated now."""
    digest = file_digest(paths.test_set) if paths.test_set.exists() else ""
    scores = history.cached_scores(info.model_id, digest)
    if scores is None:
        scores = evaluate_model(info.path, paths)
        history.remember_scores(info.model_id, digest, scores)
        history.save()
    return scores
