"""The linear intent classifier, trained and reloaded through Rasa's real tokenizer and
count featurizers on a small data set (the project's model is checked by tests/nlu)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.linear_intent import WEIGHTS_FILE, LinearIntentClassifier

EXAMPLES = {
    "greet": ["halo", "halo kak", "hai min", "selamat pagi", "pagi kak", "assalamualaikum",
              "halo selamat siang", "hai kak selamat sore"],
    "book_queue": ["mau daftar antrean", "daftar antrian paspor", "saya mau ambil antrean",
                   "booking antrean paspor dong", "mau antri bikin paspor",
                   "daftarin antrean ya kak", "pesan antrian buat besok", "ambil nomor antrean"],
    "ask_fee": ["biayanya berapa", "bayar berapa kak", "harga paspor berapa",
                "tarif paspor elektronik", "berapa biaya bikin paspor", "ongkosnya berapa",
                "biaya paspor biasa berapa", "mahal ga bikin paspor"],
}


class Pipeline:
    """Tokenizer, two count featurizers (aliases as in config.yml) and the classifier."""

    def __init__(self, folder: Path, **config: Any) -> None:
        self.storage = LocalModelStorage.create(folder)
        context = ExecutionContext(GraphSchema({}), "test-model")
        self.tokenizer = WhitespaceTokenizer.create(
            WhitespaceTokenizer.get_default_config(), self.storage, Resource("tok"), context)
        self.featurizers = [
            CountVectorsFeaturizer.create(
                {**CountVectorsFeaturizer.get_default_config(), "alias": "word_counts"},
                self.storage, Resource("word_counts"), context),
            CountVectorsFeaturizer.create(
                {**CountVectorsFeaturizer.get_default_config(), "alias": "char_counts",
                 "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
                self.storage, Resource("char_counts"), context),
        ]
        self.config = config
        self.resource = Resource("linear_intent")
        self.context = context
        self.classifier = LinearIntentClassifier.create(
            {**LinearIntentClassifier.get_default_config(), **config},
            self.storage, self.resource, context)

    def train(self, examples: dict[str, list[str]]) -> None:
        data = TrainingData([Message(data={TEXT: text, INTENT: intent})
                             for intent, texts in examples.items() for text in texts])
        self.tokenizer.process_training_data(data)
        for featurizer in self.featurizers:
            featurizer.train(data)
            featurizer.process_training_data(data)
        self.classifier.train(data)

    def reloaded(self) -> LinearIntentClassifier:
        return LinearIntentClassifier.load(
            {**LinearIntentClassifier.get_default_config(), **self.config},
            self.storage, self.resource, self.context)

    def parse(self, text: str, classifier: LinearIntentClassifier | None = None) -> Message:
        message = Message(data={TEXT: text})
        self.tokenizer.process([message])
        for featurizer in self.featurizers:
            featurizer.process([message])
        (classifier or self.classifier).process([message])
        return message


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    pipeline = Pipeline(tmp_path, ranking_length=2)
    pipeline.train(EXAMPLES)
    return pipeline


@pytest.mark.parametrize("text, intent", [
    ("halo kak selamat pagi", "greet"),
    ("kak saya mau daftar antrean paspor", "book_queue"),
    ("biaya bikin paspor elektronik berapa ya", "ask_fee"),
])
def test_classifies_unseen_paraphrases(pipeline: Pipeline, text: str, intent: str) -> None:
    parsed = pipeline.parse(text)
    assert parsed.get(INTENT)["name"] == intent
    assert parsed.get(INTENT)["confidence"] > 0.5


def test_ranking_is_sorted_probabilities_cut_to_ranking_length(pipeline: Pipeline) -> None:
    parsed = pipeline.parse("mau daftar antrean")
    ranking = parsed.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == parsed.get(INTENT)["name"] == "book_queue"
    assert len(ranking) == 2
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0 + 1e-9


def test_a_message_like_the_training_data_is_surer_than_a_vague_one(pipeline: Pipeline) -> None:
    clear = pipeline.parse("mau daftar antrean paspor").get(INTENT)["confidence"]
    vague = pipeline.parse("kak").get(INTENT)["confidence"]
    assert clear > vague


def test_reloaded_from_the_model_storage_it_answers_the_same(pipeline: Pipeline) -> None:
    reloaded = pipeline.reloaded()
    for text in ["halo", "berapa biayanya kak", "antrean buat senin"]:
        before = pipeline.parse(text).get("intent_ranking")
        after = pipeline.parse(text, reloaded).get("intent_ranking")
        assert [r["name"] for r in after] == [r["name"] for r in before]
        assert np.allclose([r["confidence"] for r in after], [r["confidence"] for r in before])


def test_stored_weights_hold_no_pickled_objects(pipeline: Pipeline) -> None:
    with pipeline.storage.read_from(pipeline.resource) as folder:
        path = folder / WEIGHTS_FILE
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
        with np.load(path, allow_pickle=False) as stored:  # raises on an object array
            assert stored["temperature"] > 0
    assert names == sorted(["classes.npy", "coef.npy", "intercept.npy", "temperature.npy",
                            "idf:word_counts.npy", "idf:char_counts.npy"])


def test_two_intents_are_enough(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path)
    pipeline.train({"greet": EXAMPLES["greet"], "ask_fee": EXAMPLES["ask_fee"]})
    ranking = pipeline.parse("biayanya berapa kak").get("intent_ranking")
    assert [r["name"] for r in ranking] == ["ask_fee", "greet"]
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_untrained_it_leaves_the_message_alone(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path)
    pipeline.train({"greet": EXAMPLES["greet"]})  # one intent: nothing to learn
    assert pipeline.parse("halo").get(INTENT) is None
    assert pipeline.parse("halo", pipeline.reloaded()).get(INTENT) is None


def test_an_alias_no_featurizer_has_is_a_clear_error(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path, featurizers={"word_counts": 1.0, "typo_counts": 1.0})
    with pytest.raises(ValueError, match="typo_counts"):
        pipeline.train(EXAMPLES)
