"""Scoring models on the held-out test set, and the rule that decides a promotion.

Scores are intent F1 per intent of the test set (``tests/nlu/test_nlu.yml``), computed the way
``rasa test nlu`` computes them; macro-F1 is their plain mean over the intents the test set
contains. A candidate may replace the current model when its macro-F1 is not lower and no
intent's F1 drops by more than a margin (default 0.05): the same rule for ``antrean
promosikan`` and the console.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from antrean.staff.common import StaffError
from law_retrain.models import ProjectPaths
from law_retrain.rasa_env import prepare_rasa, silence_structlog

DEFAULT_MARGIN = 0.05
TOLERANCE = 1e-9  # F1 values are floats: equal within this counts as equal


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


def load_agent(model: Path, paths: ProjectPaths) -> Any:
    """A Rasa agent for ``model`` in this process (for scoring and parsing)."""
    prepare_rasa(paths)
    from rasa.core.agent import Agent

    silence_structlog()
    print(f"  memuat {model.name} ...", file=sys.stderr, flush=True)
    return Agent.load(str(model))


def evaluate_model(model: Path, paths: ProjectPaths, agent: Any = None) -> IntentScores:
    """Intent scores of ``model`` on the test set, the way ``rasa test nlu`` computes them."""
    if not paths.test_set.exists():
        raise StaffError(f"Set uji tidak ditemukan: {paths.test_set}", 3)
    agent = agent or load_agent(model, paths)
    from rasa.nlu.test import run_evaluation

    print(f"  menguji dengan {paths.test_set.name} ...", file=sys.stderr, flush=True)
    result = asyncio.run(run_evaluation(
        str(paths.test_set), agent.processor, output_directory=None, disable_plotting=True,
        report_as_dict=True, domain_path=str(paths.domain)))
    intent_result = result.get("intent_evaluation") or {}
    if not intent_result.get("report"):
        raise StaffError(f"Set uji {paths.test_set} tidak berisi contoh intent.", 3)
    return IntentScores.from_report(intent_result["report"])


def predictions(agent: Any, texts: Iterable[str]) -> dict[str, tuple[str, float]]:
    """Text → (intent, confidence) as ``agent``'s NLU reads it."""
    found: dict[str, tuple[str, float]] = {}
    for text in texts:
        parsed = asyncio.run(agent.parse_message(text))
        intent = parsed.get("intent") or {}
        found[text] = (str(intent.get("name")), round(float(intent.get("confidence") or 0), 3))
    return found


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

    def dropped(self, change: float) -> bool:
        """Whether an intent's F1 change is a drop beyond the margin."""
        return -change > self.margin + TOLERANCE

    def problems(self) -> list[str]:
        """Why the candidate is worse (Indonesian); empty when it may be promoted."""
        problems = []
        before, after = self.current.macro_f1, self.candidate.macro_f1
        if after < before - TOLERANCE:
            problems.append(f"macro-F1 turun dari {before:.3f} ke {after:.3f}")
        for intent, old, new, change in self.rows():
            if self.dropped(change):
                problems.append(f"F1 intent {intent} turun {-change:.3f} ({old:.3f} → {new:.3f}), "
                                f"lebih dari batas {self.margin:.2f}")
        return problems

    @property
    def acceptable(self) -> bool:
        return not self.problems()
