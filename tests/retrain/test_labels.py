"""Labels from the console's review: checked like ``antrean impor-ulasan`` (unknown intent
refused, duplicates skipped), entities by whole words, written in a batch to the training data
with who labelled what and when, and ``rasa data validate`` before anything counts."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean.clock import OFFICE_TZ
from antrean.staff.common import StaffError
from law_retrain.labels import (
    WAITING,
    WRITTEN,
    Span,
    add_label,
    discard,
    load_book,
    write_waiting,
)
from law_retrain.training_data import training_examples
from tests.retrain.test_retrain import project  # noqa: F401 - fixture

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=OFFICE_TZ)


@pytest.fixture
def labelled_project(project):  # noqa: F811
    """The tiny project, with service_type and person_name entities in its domain."""
    domain = project.domain.read_text() + "entities:\n  - service_type\n  - person_name\n"
    project.domain.write_text(domain)
    return project


def test_an_unknown_intent_or_entity_is_refused_and_nothing_kept(labelled_project):
    with pytest.raises(StaffError, match="Intent 'ask_lokasi' tidak dikenal"):
        add_label(labelled_project, "alamatnya di mana", "ask_lokasi", "sri", NOW)
    with pytest.raises(StaffError, match="entitas 'nik' tidak dapat ditandai"):
        add_label(labelled_project, "nik saya 123", "greet", "sri", NOW,
                  [Span(9, 12, "nik")])
    with pytest.raises(StaffError, match="kata utuh"):
        add_label(labelled_project, "paspor ilang", "ask_fee", "sri", NOW,
                  [Span(7, 10, "service_type", "hilang")])
    with pytest.raises(StaffError, match="nilai service_type harus salah satu"):
        add_label(labelled_project, "paspor ilang", "ask_fee", "sri", NOW,
                  [Span(7, 12, "service_type", "lenyap")])
    assert load_book(labelled_project).labels == []


def test_duplicates_are_skipped_with_the_reason(labelled_project):
    known = add_label(labelled_project, "Kantornya di mana?", "ask_location", "sri", NOW)
    assert not known.saved and known.message == "Sudah ada di data latih; dilewati."
    other = add_label(labelled_project, "HALO!!", "ask_fee", "sri", NOW)
    assert not other.saved and "sebagai intent 'greet'" in other.message
    first = add_label(labelled_project, "alamatnya di mana ya min", "ask_location", "sri", NOW)
    assert first.saved
    again = add_label(labelled_project, "Alamatnya  di mana ya, min", "ask_location", "budi", NOW)
    assert not again.saved and "oleh sri" in again.message
    masked = add_label(labelled_project, "nama saya B*** S******", "greet", "sri", NOW)
    assert masked.saved and "disamarkan" in masked.warnings[0]


@pytest.mark.slow
def test_waiting_labels_are_written_with_who_and_when_then_validated(labelled_project):
    paths = labelled_project
    add_label(paths, "alamatnya di mana ya min", "ask_location", "sri", NOW,
              variants=["Alamatnya dimana ya min?", "alamatnya di mana ya min"])
    add_label(paths, "paspor saya ilang berapa", "ask_fee", "budi", NOW,
              [Span(12, 17, "service_type", "hilang")])
    discard(paths, ["asdfgh"], "sri", NOW)
    written = write_waiting(paths, NOW)
    assert written.count == 3
    content = paths.reviewed.read_text()
    assert "  # 2026-12-01T09:30+07:00: konsol, label oleh sri\n  - intent: ask_location" in content
    assert "      - Alamatnya dimana ya min?\n" in content  # the group's other wording
    assert '      - paspor saya [ilang]{"entity": "service_type", "value": "hilang"} berapa' \
        in content
    assert "konsol, label oleh budi" in content
    examples = training_examples(paths.nlu)
    assert examples["paspor saya ilang berapa"] == "ask_fee"
    book = load_book(paths)
    assert {label.state for label in book.labels} == {WRITTEN}
    assert "asdfgh" in book.hidden()
    assert write_waiting(paths, NOW).count == 0  # nothing written twice


@pytest.mark.slow
def test_data_that_does_not_validate_is_restored_and_the_labels_wait(labelled_project):
    paths = labelled_project
    before = "version: \"3.1\"\nnlu:\n  - intent: greet\n    examples: |\n      - punten\n"
    paths.reviewed.write_text(before)
    # A file someone broke by hand (a key Rasa's schema does not know) fails the validation.
    (paths.nlu / "broken.yml").write_text(
        "version: \"3.1\"\nnlu:\n- intent: greet\n  contoh: |\n    - punten kak\n")
    add_label(paths, "alamatnya di mana ya min", "ask_location", "sri", NOW)
    with pytest.raises(StaffError, match="rasa data validate menemukan masalah"):
        write_waiting(paths, NOW)
    assert paths.reviewed.read_text() == before
    assert [label.state for label in load_book(paths).labels] == [WAITING]
