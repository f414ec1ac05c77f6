"""``laporan``: bookings, attendance, cancellations and messages, on both backends."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import yaml

from antrean.clock import OFFICE_TZ
from antrean.config import PROJECT_ROOT
from antrean.staff.tracker import (
    DEFAULT_TRACKER_PATH,
    RASA_DEFAULT_THRESHOLD,
    fallback_threshold,
    fell_back,
    tracker_url_from_env,
)
from tests.conftest import person
from tests.staff.conftest import book, service_at

D, T = dt.date, dt.time


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=OFFICE_TZ)


@pytest.fixture
def history(office_config, store, conversations, run):
    """Bookings and conversations of Monday 23 and Tuesday 24 November 2026."""
    before = service_at(office_config, store, at(20, 9))
    arrived = book(before, "6281200000001", D(2026, 11, 23), T(9),
                   [person(), person("Ani", D(1992, 5, 4), True, 2)])
    missed = book(before, "6281200000002", D(2026, 11, 23), T(10), serial=3)
    book(before, "6281200000003", D(2026, 11, 23), T(11), serial=4)  # never marked
    book(before, "6281200000004", D(2026, 11, 24), T(9), serial=5)
    cancelled = book(before, "6281200000005", D(2026, 11, 24), T(9), serial=6)
    before.cancel(cancelled.code)
    assert run("hadir", arrived.code, now=at(23, 9, 10)).code == 0
    assert run("tidak-hadir", missed.code, now=at(23, 15)).code == 0

    conversations.add("6281200000001", [
        (at(23, 10), "greet", 0.95), (at(23, 10, 1), "book_queue", 0.9),
        (at(23, 10, 2), "nlu_fallback", 0.5), (at(23, 10, 3), "inform", 0.3),
    ])
    conversations.add("6281200000004", [(at(24, 8), "greet", 0.8), (at(24, 8, 1), "ask_fee", 0.7)])
    conversations.add("6281200000009", [
        (at(22, 23, 30), "ask_location", 0.9),  # Sunday night: before the range
        (at(23, 0, 10), "ask_location", 0.9),  # 17:10 UTC on the 22nd, but the 23rd in Jakarta
        (at(25, 12), "ask_location", 0.9),  # after the range
    ])


def test_report_counts_bookings_attendance_and_messages(run, history):
    result = run("laporan", "--dari", "2026-11-23", "--sampai", "2026-11-24", "--ambang", "0.5")
    assert result.code == 0, result.err
    out = result.out
    assert "Laporan Senin, 23 November 2026 s.d. Selasa, 24 November 2026" in out
    assert "Booking (tidak batal)     : 4 (5 orang)" in out
    assert "Pembatalan                : 1 dari 5 booking (20,0%)" in out
    assert "Tidak hadir               : 1 dari 2 yang ditandai (50,0%); 2 belum ditandai" in out
    assert "Pesan pemohon             : 7" in out
    assert "Tidak dipahami (fallback) : 2 (28,6%" in out
    section = out.split("Pesan per intent:")[1].split("\n\n")[0]  # the reminders follow
    intents = {line.split()[0]: line.split()[1] for line in section.splitlines()[3:]
               if line.strip()}
    assert intents == {"greet": "2", "ask_location": "1", "ask_fee": "1", "book_queue": "1",
                       "inform": "1", "nlu_fallback": "1"}


def test_report_per_day_as_csv(run, history):
    result = run("laporan", "--dari", "2026-11-22", "--sampai", "2026-11-25", "--ambang", "0.5",
                 "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    by_day = {r["tanggal"]: r for r in rows}
    # Sunday the 22nd has no bookings, but a message: it is listed.
    assert list(by_day) == ["2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25"]
    assert by_day["2026-11-23"] == {
        "tanggal": "2026-11-23", "booking": "3", "orang": "4", "batal": "0", "hadir": "1",
        "tidak_hadir": "1", "belum_ditandai": "1", "pesan": "5", "pesan_fallback": "2",
    }
    assert (by_day["2026-11-24"]["booking"], by_day["2026-11-24"]["batal"]) == ("1", "1")
    assert by_day["2026-11-22"]["pesan"] == "1" and by_day["2026-11-25"]["pesan"] == "1"


def test_report_threshold_changes_what_fell_back(run, history):
    strict = run("laporan", "--dari", "2026-11-23", "--sampai", "2026-11-24", "--ambang", "0.85")
    # nlu_fallback, inform 0.3, greet 0.8, ask_fee 0.7 fall under 0.85
    assert "Tidak dipahami (fallback) : 4 (57,1%" in strict.out


def test_report_without_conversations(run, history):
    result = run("laporan", "--dari", "2026-11-23", "--sampai", "2026-11-24", "--tanpa-percakapan")
    assert result.code == 0 and "Percakapan                : tidak dibaca" in result.out


def test_report_when_the_tracker_store_is_missing(run, service, monkeypatch, tmp_path):
    monkeypatch.setenv("LAW_TRACKER_URL", f"sqlite:///{tmp_path / 'nowhere.db'}")
    result = run("laporan")
    assert result.code == 0
    assert "tidak dibaca — Tracker store tidak ditemukan" in result.out
    assert "Laporan Rabu, 25 November 2026 s.d. Selasa, 1 Desember 2026" in result.out


def test_report_range_checks(run):
    assert run("laporan", "--dari", "2026-11-24", "--sampai", "2026-11-23").code == 2
    assert run("laporan", "--dari", "2025-01-01", "--sampai", "2026-11-23").code == 2


def test_fell_back_reads_rasa_parse_data():
    data = '{"parse_data": {"intent": {"name": "greet", "confidence": 0.41}}}'
    assert fell_back("greet", data, 0.5) and not fell_back("greet", data, 0.4)
    assert fell_back("nlu_fallback", None, 0.5)
    assert not fell_back("greet", "not json", 0.5) and not fell_back(None, "{}", 0.5)


def test_threshold_comes_from_the_fallback_classifier(tmp_path):
    config = tmp_path / "config.yml"
    pipeline = [{"name": "DIETClassifier"}, {"name": "FallbackClassifier", "threshold": 0.42}]
    config.write_text(yaml.safe_dump({"pipeline": pipeline}))
    assert fallback_threshold(config) == 0.42
    config.write_text(yaml.safe_dump({"pipeline": [{"name": "DIETClassifier"}]}))
    assert fallback_threshold(config) == RASA_DEFAULT_THRESHOLD
    assert fallback_threshold(tmp_path / "missing.yml") == RASA_DEFAULT_THRESHOLD


def test_default_tracker_store_is_the_one_in_endpoints_yml(monkeypatch):
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    tracker = endpoints["tracker_store"]
    assert tracker["type"] == "addons.tracker_store.KnownCountSQLTrackerStore" and tracker["dialect"] == "sqlite"
    assert PROJECT_ROOT / Path(tracker["db"]) == DEFAULT_TRACKER_PATH
    monkeypatch.delenv("LAW_TRACKER_URL", raising=False)
    assert tracker_url_from_env() == f"sqlite:///{DEFAULT_TRACKER_PATH}"
