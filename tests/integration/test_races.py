"""Races on both databases: concurrent workers never overbook and never create a second
active booking for one number or one NIK. Each race is repeated 20 times.

SQLite: threads sharing one engine (every transaction starts with BEGIN IMMEDIATE).
PostgreSQL: threads, each on a separate connection from a pool large enough for all.
"""
from __future__ import annotations

import collections
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from antrean.model import BookingRequest
from antrean.outcomes import NikHasBooking, NumberHasBooking, Reserved, SlotFull
from antrean.service import BookingService
from antrean.store.engine import create_store_engine
from antrean.store.repository import SqlStore
from antrean.store.tables import applicants, bookings, slot_usage
from tests.conftest import person

REPEATS = 20
WORKERS = 20
SAME_KEY_WORKERS = 10
DAYS = [dt.date(2026, 12, d) for d in (2, 3, 4, 7, 8, 9, 10, 11, 14, 15)]


@pytest.fixture
def race_service(office_config, database_url, clock):
    store = SqlStore(create_store_engine(database_url, **_pool_args(database_url)))
    yield BookingService(office_config, store, clock)
    store.dispose()


def _pool_args(url: str) -> dict:
    return {} if url.startswith("sqlite") else {"pool_size": WORKERS + 5, "max_overflow": 5}


def _run_together(jobs):
    """Start every job at the same moment; return their outcomes."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _slot(rep: int):
    return DAYS[rep % len(DAYS)], dt.time(8 + rep // len(DAYS), 0)


def _report(capsys, service, name, tally):
    backend = service.store.engine.dialect.name
    with capsys.disabled():
        print(f"\n[race:{backend}] {name}: {dict(sorted(tally.items()))}")


def test_last_three_places(race_service, capsys):
    tally: collections.Counter = collections.Counter()
    for rep in range(REPEATS):
        day, time = _slot(rep)
        race_service.set_capacity(day, time, 5)
        for i in range(2):  # two places already taken
            pre = BookingRequest(f"62899{rep:02d}{i:03d}", day, time, "baru", "biasa",
                                 (person(f"Pre {i}", serial=9000 + rep * 10 + i),))
            assert isinstance(race_service.reserve(pre), Reserved)

        def attempt(worker: int, day=day, time=time, rep=rep):
            req = BookingRequest(f"62811{rep:02d}{worker:03d}", day, time, "baru", "biasa",
                                 (person(f"W {worker}", serial=rep * 100 + worker + 1),))
            return race_service.reserve(req)

        outcomes = _run_together([lambda w=w: attempt(w) for w in range(WORKERS)])
        kinds = collections.Counter(o.kind for o in outcomes)
        assert kinds == {"reserved": 3, "slot_full": WORKERS - 3}, kinds
        assert all(o.free == 0 for o in outcomes if isinstance(o, SlotFull))
        with race_service.store.transaction() as tx:
            used = tx.conn.execute(
                select(slot_usage.c.taken).where(slot_usage.c.service_date == day,
                                                 slot_usage.c.slot_time == time)
            ).scalar_one()
            rows = tx.conn.execute(
                select(func.count()).select_from(bookings).where(
                    bookings.c.service_date == day, bookings.c.slot_time == time)
            ).scalar_one()
        assert used == 5 and rows == 5
        tally.update(kinds)
    _report(capsys, race_service, f"last 3 places, {WORKERS} workers x {REPEATS}", tally)


def test_same_nik_from_many_numbers(race_service, capsys):
    tally: collections.Counter = collections.Counter()
    for rep in range(REPEATS):
        day, time = _slot(rep)
        shared = person("Sama", serial=5000 + rep)
        outcomes = _run_together([
            lambda w=w: race_service.reserve(BookingRequest(
                f"62822{rep:02d}{w:03d}", day, time, "baru", "biasa", (shared,)))
            for w in range(SAME_KEY_WORKERS)
        ])
        kinds = collections.Counter(o.kind for o in outcomes)
        assert kinds == {"reserved": 1, "nik_has_booking": SAME_KEY_WORKERS - 1}, kinds
        assert all(isinstance(o, (Reserved, NikHasBooking)) for o in outcomes)
        with race_service.store.transaction() as tx:
            active = tx.conn.execute(
                select(func.count()).select_from(applicants).where(
                    applicants.c.nik_active == shared.nik)
            ).scalar_one()
        assert active == 1
        tally.update(kinds)
    _report(capsys, race_service, f"same NIK, {SAME_KEY_WORKERS} numbers x {REPEATS}", tally)


def test_same_number_many_applicants(race_service, capsys):
    tally: collections.Counter = collections.Counter()
    for rep in range(REPEATS):
        day, time = _slot(rep)
        phone = f"62833{rep:04d}"
        outcomes = _run_together([
            lambda w=w: race_service.reserve(BookingRequest(
                phone, day, time, "baru", "biasa", (person(f"N {w}", serial=7000 + rep * 20 + w),)))
            for w in range(SAME_KEY_WORKERS)
        ])
        kinds = collections.Counter(o.kind for o in outcomes)
        assert kinds == {"reserved": 1, "number_has_booking": SAME_KEY_WORKERS - 1}, kinds
        assert all(isinstance(o, (Reserved, NumberHasBooking)) for o in outcomes)
        with race_service.store.transaction() as tx:
            active = tx.conn.execute(
                select(func.count()).select_from(bookings).where(bookings.c.active_phone == phone)
            ).scalar_one()
            used = tx.conn.execute(
                select(slot_usage.c.taken).where(slot_usage.c.service_date == day,
                                                 slot_usage.c.slot_time == time)
            ).scalar_one()
        assert active == 1 and used == 1  # the losers' places were rolled back
        tally.update(kinds)
    _report(capsys, race_service, f"same number, {SAME_KEY_WORKERS} bookings x {REPEATS}", tally)
