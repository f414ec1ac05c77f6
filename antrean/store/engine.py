"""Engines for the slot store, and schema migration through Alembic.

SQLite is the embedded default; the settings (``LAW_DATABASE_URL``) select another
database, e.g. ``postgresql+psycopg2://user@127.0.0.1:5432/law``. Engines are built when
asked for, never at import time.

SQLite ignores ``SELECT … FOR UPDATE``. Every SQLite transaction therefore starts with
``BEGIN IMMEDIATE``, which takes the database's write lock up front: two writers can never
interleave between a check and a write, and a waiting writer retries for ``busy_timeout``.

A SQLite file runs in WAL mode with ``synchronous=NORMAL``: a commit appends to the log
without waiting for the disk (readers never block the writer; a committed transaction
survives a crash of the process, and only a power cut may lose the last ones — never
corrupting the file). Connections are kept in a pool, as SQLAlchemy 2.0 does for files,
instead of being reopened (and their PRAGMAs re-run) for every transaction; both were seen
in a profile of the WhatsApp channel's message-id store at 50 messages/second
(docs/performance.md). Production runs on PostgreSQL.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

from antrean.settings import Settings

SQLITE_BUSY_TIMEOUT_S = 30
_ONE_UPGRADE_AT_A_TIME = threading.Lock()


def database_url_from_env() -> str:
    """The slot store's URL as the settings name it (for callers given no URL)."""
    return Settings.from_env().database_url


def create_store_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the slot store with the per-backend settings it relies on."""
    url = url or database_url_from_env()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, future=True, **kwargs)


def sqlite_file(database: str | None) -> bool:
    """Whether a SQLite URL's database is a file (not in memory)."""
    return bool(database) and database != ":memory:"


def without_waiting_for_the_disk(cursor: Any) -> None:
    """WAL and ``synchronous=NORMAL`` on a connection to a SQLite file (see above); also used
    for Rasa's tracker store on SQLite (addons/tracker_store.py)."""
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    on_disk = sqlite_file(database)
    if on_disk:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("poolclass", QueuePool)
    engine = create_engine(
        url,
        future=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        if on_disk:
            without_waiting_for_the_disk(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(url: str | None = None) -> None:
    """Create or upgrade the schema to the newest Alembic revision.

    Safe to call from several processes at once (``migrations/env.py`` serialises them in the
    database) and from several threads of one process: Alembic keeps its migration context
    in a module global, so one upgrade runs at a time here.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or database_url_from_env()).replace("%", "%%"))
    with _ONE_UPGRADE_AT_A_TIME:
        command.upgrade(cfg, "head")
