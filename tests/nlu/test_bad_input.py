"""Bad input never crashes the trained model, and nothing is read into it.

Empty text, emoji, other scripts and a pasted page go to ``nlu_fallback`` (the
``UnfamiliarInputClassifier`` decides by rule: the model itself was sure that "😀😀" meant
``affirm``), with no entities. A bare number is the shape of an answer (a count, a NIK), so
the model may read it as ``inform``: it only has to parse without a crash (the booking form
checks a count it is given).
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.servers import find_model

pytestmark = pytest.mark.slow

FALLBACK = "nlu_fallback"
MEANINGLESS = {
    "empty": "",
    "whitespace": "  \n\t ",
    "emoji": "😀😀",
    "punctuation": "#",
    "control characters": "\x00\x07",
    "arabic": "السلام عليكم ورحمة الله",
    "arabic request": "مرحبا، أريد حجز موعد",
    "chinese": "你好，我想预约",
    "long repetition": "a" * 5000,
    "long text": ("Saya mau tanya soal paspor, tapi ceritanya panjang sekali ya kak. " * 80)[:5000],
}


@pytest.fixture(scope="module")
def parse() -> Any:
    model = find_model()
    assert model, "no trained model: run `make test` or `make train`"
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return lambda text: asyncio.run(agent.parse_message(text))


@pytest.mark.parametrize("text", MEANINGLESS.values(), ids=MEANINGLESS.keys())
def test_meaningless_input_falls_back_without_entities(parse, text: str) -> None:
    result = parse(text)
    assert result["intent"]["name"] == FALLBACK, result["intent"]
    assert result["entities"] == []


def test_a_bare_number_parses_as_an_answer_or_not_at_all(parse) -> None:
    assert parse("123456")["intent"]["name"] in (FALLBACK, "inform", "out_of_scope")


@pytest.mark.parametrize("text, intent", [
    ("halo kak", "greet"),
    ("mau daftar antrean paspor besok", "book_queue"),
    ("iya benar", "affirm"),
])
def test_ordinary_messages_are_not_sent_to_the_fallback(parse, text: str, intent: str) -> None:
    assert parse(text)["intent"]["name"] == intent
