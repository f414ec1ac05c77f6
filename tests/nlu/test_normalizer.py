"""``IndonesianSlangNormalizer`` rewrites token lemmas only: text, offsets and dates stay."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.normalizer import IndonesianSlangNormalizer, normalise_word
from addons.temporal_extractor import IndonesianTemporalExtractor
from antrean.clock import FIXED_NOW_ENV


@pytest.mark.parametrize("typed, standard", [
    ("sy", "saya"), ("Sya", "saya"), ("mo", "mau"), ("bs", "bisa"), ("gmn", "gimana"),
    ("tgl", "tanggal"), ("bsk", "besok"), ("jm", "jam"), ("gak", "tidak"), ("nggak", "tidak"),
    ("ga", "tidak"), ("yg", "yang"), ("brp", "berapa"), ("udah", "sudah"),
    ("iyaaa", "iya"), ("makasiiih", "makasih"), ("kira2", "kira"), ("siang2", "siang"),
    ("paspor", "paspor"), ("Kemayoran", "kemayoran"), ("kk", "kk"), ("maaf", "maaf"),
    ("10.30", "10.30"), ("3171051203900003", "3171051203900003"),
])
def test_words_map_to_their_standard_form(typed: str, standard: str) -> None:
    assert normalise_word(typed) == standard


def tokenized(text: str) -> Message:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    return message


def test_only_lemmas_change() -> None:
    text = "Sy mo antri bsk jm 10, gmn caranya?"
    message = tokenized(text)
    before = [(t.text, t.start, t.end) for t in message.get("text_tokens")]
    IndonesianSlangNormalizer.create({}, None, None, None).process([message])
    tokens = message.get("text_tokens")
    assert message.get(TEXT) == text
    assert [(t.text, t.start, t.end) for t in tokens] == before
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert [t.lemma for t in tokens] == ["saya", "mau", "antri", "besok", "jam", "10", "gimana",
                                         "caranya"]


def test_training_examples_are_normalised_too() -> None:
    message = tokenized("bsk bs ga")
    IndonesianSlangNormalizer.create({}, None, None, None).process_training_data(
        TrainingData([message]))
    assert [t.lemma for t in message.get("text_tokens")] == ["besok", "bisa", "tidak"]


def test_dates_and_times_are_read_from_the_text_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T09:00:00+07:00")  # a Tuesday
    text = "sy mo antri bsk jm 10 ya"
    message = tokenized(text)
    IndonesianSlangNormalizer.create({}, None, None, None).process([message])
    extractor = IndonesianTemporalExtractor.create(
        {}, LocalModelStorage.create(tmp_path), Resource("temporal"),
        ExecutionContext(GraphSchema({}), "test"))
    (processed,) = extractor.process([message])
    found = {e["entity"]: (e["value"], text[e["start"]:e["end"]])
             for e in processed.get(ENTITIES)}
    assert found == {"date": ("2026-12-02", "bsk"), "time": ("10:00", "jm 10")}
