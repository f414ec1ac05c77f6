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

Every connection has a timeout (:class:`StoreTimeouts`), so a database that is down or hangs
makes a call fail in seconds instead of silencing whoever waits for it: SQLite waits at most
``busy_timeout`` for the write lock; PostgreSQL gets libpq's ``connect_timeout`` (the whole
handshake, so a server that accepts and never answers fails too), TCP keepalives and
``tcp_user_timeout`` (a server that vanishes mid-query), and the server-side
``statement_timeout``, ``lock_timeout`` and ``idle_in_transaction_session_timeout``; a
checkout from a full pool waits ``pool_timeout``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

from antrean.settings import Settings

_ONE_UPGRADE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class StoreTimeouts:
    """How long a store call may wait, in seconds, before it fails.

    The defaults fit the applicant's turn (answered within 10 s, ``SPEC.md``): a booking
    transaction takes milliseconds, so waiting longer only delays the apology.

    Attributes:
        connect_s: Opening a connection (PostgreSQL; libpq counts whole seconds, at least 2).
        statement_s: One statement on the server (PostgreSQL ``statement_timeout``).
        lock_s: Waiting for a row or table lock (PostgreSQL ``lock_timeout``); SQLite's
            ``busy_timeout`` for its write lock.
        idle_in_transaction_s: A transaction left open by a stuck client is ended by the
            server after this long (PostgreSQL), releasing its locks.
        pool_s: Waiting for a free connection of the engine's pool.
    """

    connect_s: float = 5.0
    statement_s: float = 15.0
    lock_s: float = 5.0
    idle_in_transaction_s: float = 60.0
    pool_s: float = 5.0


DEFAULT_TIMEOUTS = StoreTimeouts()


def database_url_from_env() -> str:
    """The slot store's URL as the settings name it (for callers given no URL)."""
    return Settings.from_env().database_url


def create_store_engine(
    url: str | None = None, timeouts: StoreTimeouts = DEFAULT_TIMEOUTS, **kwargs: Any
) -> Engine:
    """An engine for the slot store with the per-backend settings it relies on.

    Args:
        url: SQLAlchemy URL; ``None`` means the settings' ``LAW_DATABASE_URL``.
        timeouts: How long its calls may wait (see :class:`StoreTimeouts`).
        **kwargs: Passed on to :func:`sqlalchemy.create_engine`.
    """
    url = url or database_url_from_env()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, timeouts, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", timeouts.pool_s)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg2":
        kwargs["connect_args"] = {**postgres_connect_args(timeouts),
                                  **kwargs.get("connect_args", {})}
    return create_engine(url, future=True, **kwargs)


def postgres_connect_args(timeouts: StoreTimeouts = DEFAULT_TIMEOUTS) -> dict[str, Any]:
    """The libpq parameters that bound every wait of a PostgreSQL connection (psycopg2).

    Also used for Rasa's tracker store as the staff command reads it.
    """
    millis = {
        "statement_timeout": timeouts.statement_s,
        "lock_timeout": timeouts.lock_s,
        "idle_in_transaction_session_timeout": timeouts.idle_in_transaction_s,
    }
    return {
        "connect_timeout": max(2, round(timeouts.connect_s)),
        "options": " ".join(f"-c {name}={round(s * 1000)}" for name, s in millis.items()),
        # A server that disappears without closing the connection (a cut network, a frozen
        # VM) is noticed in about 10 s instead of the kernel's two hours.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": round(max(timeouts.statement_s, timeouts.connect_s) * 1000),
    }


def sqlite_file(database: str | None) -> bool:
    """Whether a SQLite URL's database is a file (not in memory)."""
    return bool(database) and database != ":memory:"


def without_waiting_for_the_disk(cursor: Any) -> None:
    """WAL and ``synchronous=NORMAL`` on a connection to a SQLite file (see above).

    Also used for Rasa's tracker store on SQLite (addons/tracker_store.py).
    """
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")


def _sqlite_engine(
    url: str, database: str | None, timeouts: StoreTimeouts, **kwargs: Any
) -> Engine:
    database_file = database if sqlite_file(database) else None
    if database_file:
        Path(database_file).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("poolclass", QueuePool)
        kwargs.setdefault("pool_timeout", timeouts.pool_s)
    busy_s = timeouts.lock_s
    engine = create_engine(
        url,
        future=True,
        connect_args={"check_same_thread": False, "timeout": busy_s},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_s * 1000)}")
        if database_file:
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
