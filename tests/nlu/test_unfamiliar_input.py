"""``UnfamiliarInputClassifier`` sends empty, overlong and unknown input to ``nlu_fallback``."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from addons.unfamiliar_input import (
    EMPTY,
    REASON_KEY,
    TOO_LONG,
    UNKNOWN_WORDS,
    UnfamiliarInputClassifier,
)

DIET_INTENT = {"name": "affirm", "confidence": 0.99}
DIET_RANKING = [DIET_INTENT, {"name": "deny", "confidence": 0.01}]
DATE = {"entity": "date", "start": 0, "end": 5, "value": "2026-12-02"}


def classifier(max_chars: int = 50) -> UnfamiliarInputClassifier:
    return UnfamiliarInputClassifier({**UnfamiliarInputClassifier.get_default_config(),
                                      "max_chars": max_chars})


def message(text: str, known: dict[str, int]) -> Message:
    """A classified message; ``known`` gives each featurizer's count of known n-grams."""
    msg = Message(data={TEXT: text, "intent": dict(DIET_INTENT),
                        "intent_ranking": [dict(r) for r in DIET_RANKING],
                        "entities": [dict(DATE)]})
    for origin, count in known.items():
        row = np.zeros((1, 8))
        row[0, :count] = 1
        msg.add_features(Features(scipy.sparse.coo_matrix(row), "sentence", TEXT, origin))
    return msg


def classify(msg: Message, max_chars: int = 50) -> Message:
    (processed,) = classifier(max_chars).process([msg])
    return processed


@pytest.mark.parametrize("text, known, reason", [
    ("", {"word_counts": 0, "char_counts": 0}, EMPTY),
    ("   \n", {"word_counts": 0, "char_counts": 0}, EMPTY),
    ("x" * 51, {"word_counts": 0, "char_counts": 3}, TOO_LONG),
    ("😀😀", {"word_counts": 0, "char_counts": 0}, UNKNOWN_WORDS),
    ("😀😀", {"word_counts": 0}, UNKNOWN_WORDS),
])
def test_unreadable_input_falls_back_and_loses_its_entities(text, known, reason) -> None:
    processed = classify(message(text, known))
    assert processed.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert [r["name"] for r in processed.get("intent_ranking")] == ["nlu_fallback", "affirm",
                                                                   "deny"]
    assert processed.get("entities") == []
    assert processed.get(REASON_KEY) == reason


@pytest.mark.parametrize("known", [
    {"word_counts": 1, "char_counts": 5},
    {"word_counts": 0, "char_counts": 2},  # a typo: no known word, known n-grams
    {"word_counts": 1, "char_counts": 0, "lexical": 0},
])
def test_input_with_something_known_is_left_to_the_model(known) -> None:
    processed = classify(message("besok", known))
    assert processed.get("intent") == DIET_INTENT
    assert processed.get("entities") == [DATE]
    assert processed.get(REASON_KEY) is None


def test_features_of_other_featurizers_do_not_count() -> None:
    processed = classify(message("😀😀", {"word_counts": 0, "lexical": 4, "regex": 1}))
    assert processed.get(REASON_KEY) == UNKNOWN_WORDS


def test_a_pipeline_without_the_named_featurizers_fails_loudly() -> None:
    with pytest.raises(ValueError, match="aliases"):
        classify(message("halo", {"CountVectorsFeaturizer": 3}))


def test_an_earlier_fallback_is_not_listed_twice() -> None:
    msg = message("😀😀", {"word_counts": 0})
    msg.set("intent_ranking", [{"name": "nlu_fallback", "confidence": 0.5}, *DIET_RANKING])
    ranking = classify(msg).get("intent_ranking")
    assert [r["name"] for r in ranking] == ["nlu_fallback", "affirm", "deny"]
