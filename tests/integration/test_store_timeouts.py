"""Every connection of the slot store has a timeout: a database that accepts connections and
never answers makes a call fail within seconds instead of hanging (issue 14, point 3)."""
from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from antrean.store.engine import StoreTimeouts, create_store_engine, migrate
from tests.faults import hanging_postgres_url, silent_listener


def test_a_postgres_server_that_never_answers_fails_the_connect_in_time() -> None:
    with silent_listener() as port:
        engine = create_store_engine(hanging_postgres_url(port),
                                     StoreTimeouts(connect_s=2))
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timeout"):
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        engine.dispose()
    assert time.monotonic() - started < 5


def test_migrate_against_a_server_that_never_answers_fails_in_time() -> None:
    with silent_listener() as port:
        started = time.monotonic()
        with pytest.raises(OperationalError):
            migrate(hanging_postgres_url(port))
    assert time.monotonic() - started < 15  # the default connect timeout is 5 s


def test_postgres_statements_and_locks_time_out(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url, StoreTimeouts(statement_s=0.5, lock_s=0.5))
    started = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"):
        with engine.connect() as conn:
            conn.execute(text("select pg_sleep(5)"))
    assert time.monotonic() - started < 3
    with engine.connect() as conn:
        names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        shown = [conn.execute(text(f"show {name}")).scalar_one() for name in names]
    assert shown == ["500ms", "500ms", "1min"]
    engine.dispose()


def test_a_full_pool_gives_up_after_the_pool_timeout(database_url: str) -> None:
    engine = create_store_engine(database_url, StoreTimeouts(pool_s=0.3),
                                 pool_size=1, max_overflow=0)
    with engine.connect():
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            engine.connect()
    assert time.monotonic() - started < 2
    engine.dispose()


def test_sqlite_waits_for_the_write_lock_at_most_the_lock_timeout(tmp_path) -> None:
    path = tmp_path / "law.db"
    url = f"sqlite:///{path}"
    migrate(url)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    engine = create_store_engine(url, StoreTimeouts(lock_s=0.5))
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="locked"):
            with engine.begin() as conn:
                conn.execute(text("select 1"))
        assert 0.4 < time.monotonic() - started < 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
