"""The embedded SQLite slot store: WAL without waiting for the disk, pooled connections."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from antrean.store.engine import create_store_engine


def test_a_sqlite_file_runs_in_wal_mode_with_normal_sync_on_pooled_connections(
        tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'law.db'}")
    try:
        assert isinstance(engine.pool, QueuePool)
        with engine.connect() as connection:
            first = connection.connection.dbapi_connection
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with engine.connect() as connection:  # the same connection again, not a new one
            assert connection.connection.dbapi_connection is first
    finally:
        engine.dispose()


def test_an_in_memory_database_keeps_its_defaults() -> None:
    engine = create_store_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
