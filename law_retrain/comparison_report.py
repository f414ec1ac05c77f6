"""The comparison the console shows after a candidate is trained (run inside the training job).

Per-intent F1 of the current model and the candidate on the held-out test set, side by side,
with the verdict of the promotion rule; how each newly labelled message is read by both; and
the messages whose prediction changes (the labelled ones and those still in the inbox). Saved
as JSON for the comparison page, so the web server never loads a model.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from antrean.staff.tracker import TrackerStore
from law_retrain.history import History
from law_retrain.inbox import review_inbox
from law_retrain.labels import WRITTEN, load_book
from law_retrain.models import ModelInfo, ProjectPaths, model_info
from law_retrain.promotion import resolve_current, test_set_digest
from law_retrain.scores import Comparison, IntentScores, evaluate_model, load_agent, predictions
from law_retrain.training_data import plain_text, training_examples

INBOX_TEXTS = 200  # inbox messages read with both models, the most frequent first


def _scores(info: ModelInfo, paths: ProjectPaths, history: History, agent: Any
            ) -> IntentScores:
    digest = test_set_digest(paths)
    scores = history.cached_scores(info.model_id, digest)
    if scores is None:
        scores = evaluate_model(info.path, paths, agent)
        history.remember_scores(info.model_id, digest, scores)
        history.save()
    return scores


def labelled_since_promotion(paths: ProjectPaths, history: History) -> list[tuple[str, str]]:
    """(text, intent) of the labels written since the active model was promoted."""
    since = history.active.at if history.active else ""
    found = []
    for label in load_book(paths).labels:
        if label.state == WRITTEN and (label.written_at or "") >= since:
            found.append((plain_text(label.text), label.intent))
    return found


def inbox_texts(paths: ProjectPaths, tracker_url: str | None) -> list[str]:
    if not tracker_url:
        return []
    store = TrackerStore(tracker_url)
    try:
        hidden = set(training_examples(paths.nlu)) | load_book(paths).hidden()
        return [g.text for g in review_inbox(store, hidden)[:INBOX_TEXTS]]
    except Exception:  # noqa: BLE001 - the comparison stands without the inbox
        return []
    finally:
        store.dispose()


def build_report(paths: ProjectPaths, history: History, candidate_path: Path, margin: float,
                 tracker_url: str | None, report: Callable[[str], None]) -> dict[str, Any]:
    current = resolve_current(None, history, paths)
    candidate = model_info(candidate_path)
    labelled = labelled_since_promotion(paths, history)
    texts = list(dict.fromkeys([t for t, _ in labelled] + inbox_texts(paths, tracker_url)))
    read: dict[str, dict[str, tuple[str, float]]] = {}
    scores: dict[str, IntentScores] = {}
    for role, info in (("current", current), ("candidate", candidate)):
        report(f"  memuat dan menguji {info.path.name} ...")
        agent = load_agent(info.path, paths)
        scores[role] = _scores(info, paths, history, agent)
        read[role] = predictions(agent, texts)
    comparison = Comparison(scores["current"], scores["candidate"], margin)
    rows = [{"intent": intent, "current": before, "candidate": after, "change": change,
             "dropped": comparison.dropped(change)}
            for intent, before, after, change in comparison.rows()]
    labelled_rows = [{"text": text, "intent": intent, "current": read["current"][text],
                      "candidate": read["candidate"][text]} for text, intent in labelled]
    changed = [{"text": text, "current": read["current"][text],
                "candidate": read["candidate"][text]}
               for text in texts if read["current"][text][0] != read["candidate"][text][0]]
    return {
        "current": {"file": current.path.name, "path": str(current.path),
                    "model_id": current.model_id},
        "candidate": {"file": candidate.path.name, "path": str(candidate.path),
                      "model_id": candidate.model_id},
        "test_set": paths.test_set.name,
        "margin": margin,
        "rows": rows,
        "macro_f1": {"current": comparison.current.macro_f1,
                     "candidate": comparison.candidate.macro_f1},
        "problems": comparison.problems(),
        "acceptable": comparison.acceptable,
        "labelled": labelled_rows,
        "labelled_right": sum(1 for r in labelled_rows
                              if r["candidate"][0] == r["intent"]),
        "changed": changed,
        "read_texts": len(texts),
    }
