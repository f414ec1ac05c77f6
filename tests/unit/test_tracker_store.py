"""The tracker store keeps Rasa's table and events, without a COUNT query per save."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from addons.tracker_store import KnownCountSQLTrackerStore

DOMAIN = Domain.from_yaml("intents: [greet, book_queue]\nresponses:\n  utter_hi:\n  - text: hi\n")


def turn(tracker: DialogueStateTracker, text: str, at: float) -> None:
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=at))
    tracker.update(ActionExecuted("utter_hi", timestamp=at + 0.1))
    tracker.update(BotUttered("hi", timestamp=at + 0.2))
    tracker.update(ActionExecuted("action_listen", timestamp=at + 0.3))


def conversation(store: SQLTrackerStore) -> list[list[str]]:
    """Three turns, each read from the store and saved back, then a new session; returns the
    event types of the latest session as read back after each save."""
    async def run() -> list[list[str]]:
        seen = []
        tracker = await store.get_or_create_tracker("62811")
        for index in range(3):
            tracker = await store.retrieve("62811")
            turn(tracker, f"pesan {index}", 1000.0 + index)
            await store.save(tracker)
            seen.append([e.type_name for e in (await store.retrieve("62811")).events])
        tracker = await store.retrieve("62811")
        tracker.update(SessionStarted(timestamp=2000.0))
        tracker.update(ActionExecuted("action_listen", timestamp=2000.1))
        turn(tracker, "halo lagi", 2001.0)
        await store.save(tracker)
        seen.append([e.type_name for e in (await store.retrieve("62811")).events])
        return seen

    return asyncio.run(run())


def rows(store: SQLTrackerStore) -> list[tuple]:
    """The stored rows (the first action_listen's timestamp is the clock's: left out)."""
    with store.session_scope() as session:
        return [(r.sender_id, r.type_name, r.intent_name, r.action_name,
                 {k: v for k, v in json.loads(r.data).items() if k != "timestamp"})
                for r in session.query(store.SQLEvent).order_by(store.SQLEvent.id)]


def counted_queries(store: SQLTrackerStore) -> list[str]:
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    return statements


@pytest.mark.parametrize("store_class", [SQLTrackerStore, KnownCountSQLTrackerStore])
def test_stores_exactly_what_rasa_stores(tmp_path: Path, store_class: type) -> None:
    rasa_store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    store = store_class(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    assert conversation(store) == conversation(rasa_store)
    assert rows(store) == rows(rasa_store)
    assert len(rows(store)) == 1 + 3 * 4 + 2 + 4  # listen + 3 turns + new session + a turn


def test_a_tracker_it_read_is_saved_without_counting(tmp_path: Path) -> None:
    rasa_store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    store = KnownCountSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    rasa_statements, statements = counted_queries(rasa_store), counted_queries(store)
    conversation(rasa_store)
    conversation(store)
    assert sum("count(" in s.lower() for s in rasa_statements) >= 4  # Rasa counts per save
    assert not [s for s in statements if "count(" in s.lower()]


def test_a_tracker_it_did_not_read_is_counted_and_nothing_is_stored_twice(
        tmp_path: Path) -> None:
    store = KnownCountSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    statements = counted_queries(store)

    async def run() -> list[str]:
        tracker = await store.get_or_create_tracker("62822")
        turn(tracker, "halo", 1000.0)
        await store.save(tracker)
        # Rebuilt elsewhere (e.g. by another process): the store has no count for it.
        stranger = DialogueStateTracker.from_events("62822", list(tracker.events),
                                                    DOMAIN.slots)
        turn(stranger, "lagi", 1001.0)
        await store.save(stranger)
        return [e.type_name for e in (await store.retrieve("62822")).events]

    types = asyncio.run(run())
    assert types == ["action"] + ["user", "action", "bot", "action"] * 2
    assert len(rows(store)) == 9
    assert [s for s in statements if "count(" in s.lower()]  # the fallback asked the database


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.prod.yml"])
def test_rasa_builds_this_store_from_the_endpoints_files(tmp_path: Path, monkeypatch,
                                                        endpoints: str) -> None:
    """Rasa falls back to an in-memory store, with only a warning, when a custom tracker
    store cannot be imported: make sure both files name one it can build."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    from antrean.config import PROJECT_ROOT

    monkeypatch.chdir(tmp_path)  # endpoints.yml's relative db path lands here
    monkeypatch.setenv("LAW_TRACKER_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    for name, value in {"LAW_ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
                        "LAW_REDIS_HOST": "127.0.0.1", "LAW_REDIS_PORT": "6379",
                        "LAW_REDIS_DB": "1", "LAW_REDIS_PASSWORD": "",
                        "LAW_REDIS_KEY_PREFIX": "law"}.items():
        monkeypatch.setenv(name, value)
    config = read_endpoint_config(str(PROJECT_ROOT / endpoints), "tracker_store")
    store = TrackerStore.create(config, DOMAIN)
    inner = getattr(store, "_tracker_store", store)  # Rasa wraps it
    assert type(inner) is KnownCountSQLTrackerStore


def test_a_new_conversation_is_stored_without_counting_even_through_rasas_wrapper(
        tmp_path: Path) -> None:
    """Rasa wraps the store (FailSafeTrackerStore), whose own create_tracker makes the empty
    tracker: it is saved without a query, and its events once the turn ends."""
    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(type="addons.tracker_store.KnownCountSQLTrackerStore",
                            dialect="sqlite", db=str(tmp_path / "ours.db"))
    inner = TrackerStore.create(config, DOMAIN)
    store = FailSafeTrackerStore(inner)  # as rasa.core.agent wraps it
    statements = counted_queries(inner)

    async def run() -> list[str]:
        tracker = await store.get_or_create_tracker("62833", append_action_listen=False)
        turn(tracker, "halo", 1000.0)
        await store.save(tracker)
        return [e.type_name for e in (await store.retrieve("62833")).events]

    assert asyncio.run(run()) == ["user", "action", "bot", "action"]
    assert len(rows(inner)) == 4
    assert not [s for s in statements if "count(" in s.lower()]


def test_a_sqlite_file_is_written_in_wal_mode_and_memory_is_left_alone(tmp_path: Path) -> None:
    pragmas = {}
    for name, database in [("file", str(tmp_path / "tracker.db")), ("memory", ":memory:")]:
        store = KnownCountSQLTrackerStore(DOMAIN, dialect="sqlite", db=database)
        with store.engine.connect() as connection:
            pragmas[name] = [connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
                             connection.exec_driver_sql("PRAGMA synchronous").scalar()]
    assert pragmas["file"] == ["wal", 1]  # 1 = NORMAL
    assert pragmas["memory"] == ["memory", 2]  # untouched: FULL
