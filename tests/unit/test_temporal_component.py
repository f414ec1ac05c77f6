"""The Rasa component wraps the temporal rules with the office clock (``LAW_FIXED_NOW``)."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.temporal_extractor import IndonesianTemporalExtractor
from antrean.clock import FIXED_NOW_ENV

NAME = "IndonesianTemporalExtractor"


@pytest.fixture
def extractor(tmp_path: Path) -> IndonesianTemporalExtractor:
    return IndonesianTemporalExtractor.create(
        {},
        LocalModelStorage.create(tmp_path),
        Resource("temporal_extractor"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def parse(extractor: IndonesianTemporalExtractor, text: str, **data) -> list[dict]:
    message = Message(data={TEXT: text, **data})
    (processed,) = extractor.process([message])
    return processed.get(ENTITIES)


def test_adds_date_and_time_entities_against_the_fixed_office_day(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T09:00:00+07:00")  # a Tuesday
    text = "mau antri senin depan jam setengah 10 ya kak, 2 orang"
    assert parse(extractor, text) == [
        {"entity": "date", "start": 10, "end": 21, "value": "2026-12-07",
         "confidence": 1.0, "extractor": NAME},
        {"entity": "time", "start": 22, "end": 37, "value": "09:30",
         "confidence": 1.0, "extractor": NAME},
    ]
    assert text[10:21] == "senin depan" and text[22:37] == "jam setengah 10"


def test_today_is_resolved_in_jakarta_time(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 23:30 UTC on 1 December is already 06:30 on 2 December in Jakarta.
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T23:30:00+00:00")
    (entity,) = parse(extractor, "besok bisa?")
    assert (entity["entity"], entity["value"]) == ("date", "2026-12-03")


def test_keeps_other_entities_and_replaces_an_overlapping_date(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T09:00:00+07:00")
    nik = {"entity": "nik", "start": 4, "end": 20, "value": "3171011203900001",
           "extractor": "RegexEntityExtractor"}
    guess = {"entity": "date", "start": 26, "end": 31, "value": "besok",
             "extractor": "DIETClassifier"}
    entities = parse(extractor, "nik 3171011203900001 utk besok", **{ENTITIES: [nik, guess]})
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("nik", "3171011203900001", "RegexEntityExtractor"),
        ("date", "2026-12-02", NAME),
    ]


def test_message_without_dates_gets_an_empty_entity_list(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T09:00:00+07:00")
    assert parse(extractor, "mau daftar 2 orang, NIK 3171011203900001") == []


def test_legacy_format_is_left_to_the_legacy_classifier(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FIXED_NOW_ENV, "2026-12-01T09:00:00+07:00")
    # The first date is a birth date: it must never become the day of the visit.
    assert parse(extractor, "#Siti Aminah#01-02-1985#08-12-2026") == []


def test_uses_the_system_clock_without_fixed_now(
    extractor: IndonesianTemporalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FIXED_NOW_ENV, raising=False)
    (entity,) = parse(extractor, "jam 9")
    assert entity["value"] == "09:00"


def test_training_data_passes_through(extractor: IndonesianTemporalExtractor) -> None:
    data = TrainingData([Message(data={TEXT: "besok jam 9", "intent": "book_queue"})])
    assert extractor.process_training_data(data) is data
