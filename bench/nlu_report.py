#!/usr/bin/env python
"""Per-intent F1 and the most-confused intent pairs of a trained model on the NLU test set.

Loads the model once through ``rasa.core.agent.Agent``, parses every message of the held-out
test set (``tests/nlu/test_nlu.yml``) through ``agent.parse_message`` and compares the top
intent with the annotated one. As ``rasa test nlu`` does, a ``nlu_fallback`` prediction is
undone first, so the figures are those of the classifier and agree with the test gate
(``tests/nlu/test_nlu_gate.py``); how often the fallback fires is ``nlu_threshold.py``'s
business.

The loading and parsing helpers here are shared with ``bench_nlu.py`` and
``nlu_threshold.py``.

Usage::

    .venv/bin/python bench/nlu_report.py                      # newest models/law-*.tar.gz
    .venv/bin/python bench/nlu_report.py --model models/law-abc.tar.gz --pairs 15
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"


@dataclass(frozen=True)
class Prediction:
    """One parsed message, with the fallback undone."""

    text: str
    gold: str | None          # annotated intent; None for messages outside the test set
    intent: str | None        # top intent of the classifier
    confidence: float         # its confidence
    runner_up: float          # confidence of the second intent (0.0 when there is none)
    fallback: bool            # whether the message went to nlu_fallback (by either rule)
    unfamiliar: str | None    # why the UnfamiliarInputClassifier rejected it, if it did


def quiet_rasa() -> None:
    """Silences TensorFlow, Rasa and warnings chatter so the figures stand out."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    warnings.simplefilter("ignore")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)  # parse results are logged through structlog
    for name in ("rasa", "tensorflow", "absl", "apscheduler", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


def find_model(named: str | None = None) -> Path:
    """The model given, else ``LAW_MODEL``, else the newest ``models/*.tar.gz``."""
    for candidate in (named, os.environ.get("LAW_MODEL")):
        if candidate:
            path = Path(candidate)
            path = path if path.is_absolute() else ROOT / path
            if path.is_dir():
                return _newest(path)
            if path.exists():
                return path
            sys.exit(f"no model at {path}")
    return _newest(ROOT / "models")


def _newest(folder: Path) -> Path:
    models = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit(f"no trained model in {folder}: run `make train`")
    return models[-1]


def load_agent(model: Path) -> Any:
    """Loads the model once; returns the ``Agent``."""
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def load_test_set(path: Path = TEST_SET) -> list[tuple[str, str]]:
    """(text, intent) for every example of an NLU YAML file, annotations stripped."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def to_prediction(text: str, gold: str | None, result: dict[str, Any]) -> Prediction:
    """Reads a parse result the way ``rasa test nlu`` does (fallback undone)."""
    from rasa.nlu.classifiers import fallback_classifier

    fallback = fallback_classifier.is_fallback_classifier_prediction(result)
    unfamiliar = result.get("unfamiliar_input")
    if fallback:
        result = fallback_classifier.undo_fallback_prediction(result)
    intent = result.get("intent") or {}
    ranking = result.get("intent_ranking") or []
    runner_up = ranking[1].get("confidence", 0.0) if len(ranking) > 1 else 0.0
    return Prediction(text, gold, intent.get("name"), float(intent.get("confidence") or 0.0),
                      float(runner_up or 0.0), fallback, unfamiliar)


async def _parse_all(agent: Any, texts: Iterable[str]) -> list[tuple[dict[str, Any], float]]:
    results = []
    for text in texts:
        start = time.perf_counter()
        result = await agent.parse_message(text)
        results.append((result, time.perf_counter() - start))
    return results


def parse_timed(agent: Any, texts: Iterable[str]) -> list[tuple[dict[str, Any], float]]:
    """Parses each text in turn; returns (result, seconds) per text."""
    return asyncio.run(_parse_all(agent, texts))


def predict(agent: Any, examples: list[tuple[str, str | None]]) -> list[Prediction]:
    """Parses (text, gold intent) pairs into :class:`Prediction` s."""
    results = parse_timed(agent, [text for text, _ in examples])
    return [to_prediction(text, gold, result)
            for (text, gold), (result, _) in zip(examples, results)]


def per_intent_scores(predictions: list[Prediction]) -> dict[str, tuple[float, float, float, int]]:
    """Precision, recall, F1 and support per gold intent."""
    labels = sorted({p.gold for p in predictions if p.gold})
    scores = {}
    for label in labels:
        tp = sum(1 for p in predictions if p.gold == label and p.intent == label)
        predicted = sum(1 for p in predictions if p.intent == label)
        support = sum(1 for p in predictions if p.gold == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = (precision, recall, f1, support)
    return scores


def macro_f1(scores: dict[str, tuple[float, float, float, int]]) -> float:
    return sum(f1 for _, _, f1, _ in scores.values()) / len(scores) if scores else 0.0


def print_report(predictions: list[Prediction], pairs: int) -> None:
    scores = per_intent_scores(predictions)
    correct = sum(1 for p in predictions if p.intent == p.gold)
    print(f"test set: {len(predictions)} messages, accuracy {correct / len(predictions):.3f}, "
          f"intent macro-F1 {macro_f1(scores):.3f}\n")
    print(f"{'intent':22s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'n':>4s}")
    for label, (precision, recall, f1, support) in sorted(scores.items(), key=lambda i: i[1][2]):
        print(f"{label:22s} {precision:6.3f} {recall:6.3f} {f1:6.3f} {support:4d}")

    confused = Counter((p.gold, p.intent) for p in predictions if p.intent != p.gold)
    print(f"\nmost-confused pairs (gold -> predicted), {sum(confused.values())} errors in all:")
    for (gold, predicted), count in confused.most_common(pairs):
        print(f"  {count:2d}  {gold} -> {predicted}")
        for p in predictions:
            if p.gold == gold and p.intent == predicted:
                print(f"        {p.confidence:.2f}  {p.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model file or folder (default: LAW_MODEL, models/)")
    parser.add_argument("--test-set", type=Path, default=TEST_SET)
    parser.add_argument("--pairs", type=int, default=10, help="confused pairs to list")
    args = parser.parse_args()

    quiet_rasa()
    model = find_model(args.model)
    print(f"model: {model.relative_to(ROOT) if model.is_relative_to(ROOT) else model}")
    predictions = predict(load_agent(model), load_test_set(args.test_set))
    print_report(predictions, args.pairs)


if __name__ == "__main__":
    main()
