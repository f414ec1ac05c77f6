"""The takeovers table and the tracker reads for a takeover, on SQLite and PostgreSQL.

antrean/store/takeover_queries.py: one active takeover per number under a race, ending once,
the personal slots' values, and whether Rasa still holds a conversation paused.
"""
from __future__ import annotations

import datetime as dt
import json
import threading

from sqlalchemy import create_engine, insert

from antrean.clock import FixedClock
from antrean.config import load_config
from antrean.service import BookingService
from antrean.staff.users import Actor, Role, add_user
from antrean.store.engine import create_store_engine
from antrean.store.repository import SqlStore
from antrean.store.takeover_queries import TakeoverQueries, paused_in_rasa, personal_values
from antrean.store.tracker_queries import TrackerEvents, events
from antrean.store.tracker_queries import metadata as tracker_metadata

PHONE = "6281277002001"
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc)


def staff_service(url: str) -> tuple[BookingService, list[int]]:
    service = BookingService(load_config(), SqlStore(create_store_engine(url)), FixedClock(NOW))
    ids = [add_user(service, Actor(None, "pytest"), name, name.title(), Role.LOKET,
                    "sandi-rahasia-1").id for name in ("sari", "bima")]
    return service, ids


def test_one_active_takeover_per_number_even_when_two_start_at_once(database_url) -> None:
    service, (sari, bima) = staff_service(database_url)
    try:
        service.flag_for_human(PHONE, "request_human", "mau sama orang")
        barrier = threading.Barrier(2)
        started: list[object] = []

        def start(user_id: int) -> None:
            barrier.wait()
            with service.store.transaction() as tx:
                started.append(TakeoverQueries(tx.conn).start(PHONE, user_id, NOW))

        threads = [threading.Thread(target=start, args=(user,)) for user in (sari, bima)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [t for t in started if t is not None]
        assert len(started) == 2 and len(winners) == 1
        with service.store.transaction() as tx:
            queries = TakeoverQueries(tx.conn)
            active = queries.active(PHONE)
            assert active == winners[0] and active.staff_name in ("Sari", "Bima")
            assert list(queries.all_active()) == [PHONE]
            assert queries.end(active.id, NOW + dt.timedelta(minutes=5))
            assert not queries.end(active.id, NOW + dt.timedelta(minutes=6))  # once
            assert queries.active(PHONE) is None and queries.all_active() == {}
            again = queries.start(PHONE, bima, NOW + dt.timedelta(minutes=7))
            assert again is not None and again.staff_name == "Bima"
            queries.forget(again.id)  # Rasa could not be paused: as if never started
            assert queries.by_id(again.id) is None
            assert queries.by_id(active.id).ended_at == NOW + dt.timedelta(minutes=5)
    finally:
        service.store.dispose()


def tracker_with(folder, *rows: tuple[str, dict]) -> TrackerEvents:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'tracker.db'}"
    engine = create_engine(url, future=True)
    tracker_metadata.create_all(engine)
    with engine.begin() as conn:
        for moment, (kind, data) in enumerate(rows):
            conn.execute(insert(events).values(sender_id=PHONE, type_name=kind,
                                               timestamp=1_795_000_000 + moment,
                                               data=json.dumps({"event": kind, **data})))
    engine.dispose()
    return TrackerEvents(url)


def test_what_the_applicant_told_the_bot_about_themselves(tmp_path) -> None:
    tracker = tracker_with(
        tmp_path,
        ("slot", {"name": "person_name", "value": "Budi Santoso"}),
        ("slot", {"name": "service_type", "value": "baru"}),  # not personal
        ("slot", {"name": "applicants", "value": [
            {"name": "Siti Aminah", "birth_date": "1992-05-20", "nik": "3171016005920002"}]}),
        ("slot", {"name": "booking_code", "value": None}),
        ("user", {"text": "halo"}))
    assert personal_values(tracker, PHONE) == {
        "Budi Santoso", "Siti Aminah", "1992-05-20", "3171016005920002"}
    assert personal_values(tracker, "6280000000000") == set()
    tracker.dispose()


def test_whether_rasa_still_holds_the_conversation_paused(tmp_path) -> None:
    assert paused_in_rasa(tracker_with(tmp_path / "a", ("user", {})), PHONE) is None
    paused = tracker_with(tmp_path / "b", ("pause", {}), ("user", {"text": "halo"}))
    assert paused_in_rasa(paused, PHONE) is True
    renewed = tracker_with(tmp_path / "c", ("pause", {}), ("session_started", {}),
                           ("user", {"text": "halo"}))
    assert paused_in_rasa(renewed, PHONE) is False
    resumed = tracker_with(tmp_path / "d", ("pause", {}), ("resume", {}))
    assert paused_in_rasa(resumed, PHONE) is False
    # Only what happened since a takeover started counts (its pause may not be stored yet).
    at_second = dt.datetime.fromtimestamp(1_795_000_001, dt.timezone.utc)
    assert paused_in_rasa(renewed, PHONE, since=at_second) is False
    assert paused_in_rasa(resumed, PHONE, since=at_second) is False
    assert paused_in_rasa(paused, PHONE, since=at_second) is None
