"""Promoting a candidate and rolling back: the same steps for ``antrean`` and the console.

A promotion happens only when the candidate is not worse than the current model (the rule of
``law_retrain.scores``), every Rasa process runs the current model, and every process loads
the candidate (``law_retrain.server.Topology``: all or none). Then the pointer
``models/current.tar.gz`` names it, so processes started later load it too, and the history
records who promoted what, when, with which figures. The model replaced is kept in
``models/latih-ulang/`` for a roll-back, which is the same steps in reverse.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from antrean.staff.common import StaffError
from law_retrain.history import Event, History, Promotion, keep_copy
from law_retrain.models import (
    CANDIDATE_PREFIX,
    TRAINED_GLOB,
    ModelInfo,
    ProjectPaths,
    file_digest,
    model_info,
    newest_model,
)
from law_retrain.pointer import point_to, pointed_model
from law_retrain.scores import Comparison, IntentScores, evaluate_model
from law_retrain.server import Topology


# --- which models ------------------------------------------------------------------------
def resolve_candidate(given: str | Path | None, history: History, paths: ProjectPaths
                      ) -> ModelInfo:
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


def resolve_current(given: str | Path | None, history: History, paths: ProjectPaths
                    ) -> ModelInfo:
    """The model to beat.

    As given, else the last promoted one, else the one processes start with (the pointer),
    else the newest in models/.
    """
    chosen = Path(given) if given else None
    if chosen is None and history.active and Path(history.active.model).exists():
        chosen = Path(history.active.model)
    if chosen is None:
        chosen = pointed_model(paths.models) or newest_model(paths.models, TRAINED_GLOB) \
            or newest_model(paths.models)
    if chosen is None or not chosen.exists():
        raise StaffError(f"Model saat ini tidak ditemukan di {paths.models}; beri "
                         "--model-saat-ini FILE (model yang sedang dipakai server).", 1)
    return model_info(chosen)


def test_set_digest(paths: ProjectPaths) -> str:
    return file_digest(paths.test_set) if paths.test_set.exists() else ""


def scores_of(info: ModelInfo, paths: ProjectPaths, history: History) -> IntentScores:
    """Test-set scores of a model: remembered from an earlier run, else evaluated now."""
    digest = test_set_digest(paths)
    scores = history.cached_scores(info.model_id, digest)
    if scores is None:
        scores = evaluate_model(info.path, paths)
        history.remember_scores(info.model_id, digest, scores)
        history.save()
    return scores


def cached_comparison(current: ModelInfo, candidate: ModelInfo, paths: ProjectPaths,
                      history: History, margin: float) -> Comparison | None:
    """The comparison from remembered scores only (the console never evaluates itself)."""
    digest = test_set_digest(paths)
    before = history.cached_scores(current.model_id, digest)
    after = history.cached_scores(candidate.model_id, digest)
    return Comparison(before, after, margin) if before and after else None


# --- promote and roll back ---------------------------------------------------------------
@dataclass
class Promoted:
    model: ModelInfo  # now active everywhere
    replaced: Path  # the model it replaced, kept for a roll-back
    processes: list[str]
    pointer: Path


def promote(paths: ProjectPaths, history: History, topology: Topology, current: ModelInfo,
            candidate: ModelInfo, comparison: Comparison, by: str, now: dt.datetime
            ) -> Promoted:
    """Load ``candidate`` into every process if it is not worse than ``current``.

    Raises:
        StaffError: Refused (worse, the same, NLU only, processes on another model) or a
            process failed to load it (then none runs it; the message says which).
    """
    if candidate.model_id == current.model_id:
        raise StaffError("Kandidat ini sudah menjadi model aktif.", 1)
    if not comparison.acceptable:
        raise StaffError("Kandidat tidak dipromosikan; model saat ini tetap dipakai.", 1)
    if candidate.nlu_only and not current.nlu_only:
        raise StaffError("Kandidat hanya berisi NLU, sedangkan model saat ini juga berisi "
                         "dialog; latih ulang tanpa --hanya-nlu.", 1)
    topology.require(current.model_id, current.path.name)
    if history.active is None or history.active.model_id != current.model_id:
        kept = keep_copy(current.path, paths.retrain)  # the roll-back target must stay
        history.push(dataclasses.replace(current, path=kept), now)
        history.save()
    replaced = Path(history.promoted[-1].model)
    topology.load_everywhere(candidate.path, candidate.model_id, replaced)
    pointer = point_to(paths.models, candidate.path)
    history.push(candidate, now)
    history.events.append(Event(
        "promosi", candidate.path.name, candidate.model_id, now.isoformat(timespec="seconds"),
        by, round(comparison.candidate.macro_f1, 4), round(comparison.current.macro_f1, 4),
        topology.urls))
    history.save()
    return Promoted(candidate, replaced, topology.urls, pointer)


def roll_back(paths: ProjectPaths, history: History, topology: Topology, by: str,
              now: dt.datetime) -> Promoted:
    """Load the model active before the last promotion into every process again."""
    if history.previous is None:
        raise StaffError("Tidak ada model sebelumnya untuk dikembalikan: model aktif adalah "
                         "yang pertama dalam riwayat (antrean riwayat-model).", 1)
    active: Promotion = history.promoted[-1]
    target = Path(history.previous.model)
    if not target.exists():
        raise StaffError(f"File model sebelumnya hilang: {target}", 3)
    info = model_info(target)
    topology.load_everywhere(target, info.model_id, Path(active.model))
    pointer = point_to(paths.models, target)
    history.promoted.pop()
    digest = test_set_digest(paths)
    after = history.cached_scores(info.model_id, digest)
    before = history.cached_scores(active.model_id, digest)
    history.events.append(Event(
        "kembali", target.name, info.model_id, now.isoformat(timespec="seconds"), by,
        round(after.macro_f1, 4) if after else None,
        round(before.macro_f1, 4) if before else None, topology.urls))
    history.save()
    return Promoted(info, Path(active.model), topology.urls, pointer)
