"""Fixtures of the staff tools: the command run in-process, stores on both backends, and a
Rasa tracker store filled with generated conversations.

Every test that takes ``database_url`` (or a fixture built on it) runs on SQLite and on
PostgreSQL. The tracker store lives in its own SQLite file, or, on PostgreSQL, in the
test session's database beside the slot store (Rasa's table ``events`` clashes with none).
"""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Sequence

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from antrean.cli import main
from antrean.clock import FixedClock
from antrean.config import OfficeConfig
from antrean.model import BookingRequest
from antrean.outcomes import Reserved
from antrean.service import BookingService
from antrean.store.repository import SqlStore
from tests.conftest import NOW, person

D, T = dt.date, dt.time
MONDAY = D(2026, 12, 7)  # inside the booking window seen from NOW (Tue 1 Dec 2026, 09:00)
EXTRA_TABLES = {"events", "whatsapp_processed_messages", "whatsapp_statuses", "whatsapp_inbox"}


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def staff_env(database_url: str, tracker_url: str, monkeypatch) -> str:
    """The environment an ``antrean`` process would get; returns the slot store URL."""
    monkeypatch.setenv("LAW_DATABASE_URL", database_url)
    monkeypatch.setenv("LAW_TRACKER_URL", tracker_url)
    monkeypatch.setenv("LAW_FIXED_NOW", NOW.isoformat())
    monkeypatch.setenv("LAW_AUTO_MIGRATE", "0")  # the fixtures migrated already
    monkeypatch.delenv("LAW_OFFICE_CONFIG", raising=False)
    return database_url


@pytest.fixture
def run(staff_env: str, capsys, monkeypatch):
    """Run ``antrean`` in-process: ``run("daftar", "besok", now=...)`` → Result.

    ``now`` fixes the clock for this one run; otherwise it is ``NOW``.
    """

    def _run(*argv: str, now: dt.datetime | None = None) -> Result:
        monkeypatch.setenv("LAW_FIXED_NOW", (now or NOW).isoformat())
        capsys.readouterr()
        try:
            code = main(list(argv))
        finally:
            monkeypatch.setenv("LAW_FIXED_NOW", NOW.isoformat())
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


def service_at(config: OfficeConfig, store: SqlStore, moment: dt.datetime) -> BookingService:
    """The booking service seen from another moment (to make bookings now in the past)."""
    return BookingService(config, store, FixedClock(moment))


def book(service: BookingService, phone: str, day: dt.date = MONDAY, time: dt.time = T(9),
         people: Sequence | None = None, serial: int = 1):
    outcome = service.reserve(
        BookingRequest(phone, day, time, "baru", "elektronik",
                       tuple(people or [person(f"Pemohon {serial}", serial=serial)]))
    )
    assert isinstance(outcome, Reserved), outcome
    return outcome.booking


@pytest.fixture
def tracker_url(database_url: str, tmp_path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    # The session's database outlives a test: empty the tables the slot store's TRUNCATE
    # does not know, Rasa's and the WhatsApp channel's.
    engine = create_engine(database_url, future=True)
    present = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in EXTRA_TABLES & present:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    yield database_url


class Conversations:
    """Writes conversations through Rasa's own ``SQLTrackerStore``."""

    def __init__(self, url: str) -> None:
        from rasa.core.tracker_store import SQLTrackerStore

        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.store = SQLTrackerStore(dialect="sqlite", db=parsed.database)
        else:
            self.store = SQLTrackerStore(
                dialect="postgresql", host=parsed.host, port=parsed.port,
                db=parsed.database, username=parsed.username, password=parsed.password,
            )

    def add(self, sender: str, messages: Sequence[tuple[dt.datetime, str, float]]) -> None:
        """One conversation: each message is (when, predicted intent, confidence)."""
        from rasa.shared.core.events import (
            ActionExecuted,
            BotUttered,
            SessionStarted,
            UserUttered,
        )
        from rasa.shared.core.trackers import DialogueStateTracker

        start = messages[0][0].timestamp()
        events: list = [ActionExecuted("action_session_start", timestamp=start),
                        SessionStarted(timestamp=start)]
        for when, intent, confidence in messages:
            stamp = when.timestamp()
            parsed = {"intent": {"name": intent, "confidence": confidence}, "entities": [],
                      "text": f"pesan {intent}"}
            events += [
                ActionExecuted("action_listen", timestamp=stamp),
                UserUttered(f"pesan {intent}", intent=parsed["intent"], parse_data=parsed,
                            timestamp=stamp),
                BotUttered("baik", timestamp=stamp + 1),
            ]
        tracker = DialogueStateTracker.from_events(sender, events)
        asyncio.run(self.store.save(tracker))

    def close(self) -> None:
        self.store.engine.dispose()


@pytest.fixture
def conversations(tracker_url: str) -> Iterator[Conversations]:
    writer = Conversations(tracker_url)
    yield writer
    writer.close()


def count_rows(url: str, sql: str) -> int:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()
