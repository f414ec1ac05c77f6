"""Durable record of processed message ids and of delivery reports.

Meta delivers webhooks at least once, so the same ``wamid`` can arrive twice, minutes or a
restart apart. A message is processed only by whoever manages to INSERT its id: the primary
key makes "check and insert" one atomic step, on SQLite and PostgreSQL alike, across
threads, processes and restarts. Ids are forgotten after a while (7 days by default).

The tables are the slot store's (``antrean/store/tables.py``), created by its Alembic
history (migration 0004). The channel's database may be another one than the slot store's
(``dedup_db_url``), so on first use the store runs the same ``migrate()`` on its own URL, as
the action server does on its (unless ``LAW_AUTO_MIGRATE=0``); that upgrade is serialised
between processes (``antrean/store/migrations/env.py``), where ``create_all`` could race.
Database calls are blocking, so they run on a small thread pool of their own,
never on the event loop, and the event loop waits for each at most ``call_timeout_s``
(the engine's own timeouts bound the thread): a database that hangs makes the call fail
in seconds, so the channel's fail-open path runs instead of the webhook hanging.

The same store keeps the inbox of accepted messages (``inbox.py``).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import delete, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from addons.whatsapp import inbox
from addons.whatsapp.dispatch import gc_paused
from addons.whatsapp.payload import InboundMessage, StatusUpdate
from antrean.store.engine import (
    DEFAULT_TIMEOUTS,
    StoreTimeouts,
    create_store_engine,
    database_url_from_env,
    migrate,
)
from antrean.store.tables import metadata  # noqa: F401 - scripts/prod.py still imports it
from antrean.store.tables import whatsapp_processed_messages as processed_messages
from antrean.store.tables import whatsapp_statuses as message_statuses

logger = logging.getLogger(__name__)

T = TypeVar("T")

PURGE_EVERY_S = 3600.0
CALL_TIMEOUT_S = 3.0
# Storing a large delivery takes longer: this much more per thousand messages.
CALL_TIMEOUT_PER_1000_S = 1.0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class MessageStore:
    """Processed message ids and delivery reports, in a SQL database.

    Args:
        url: SQLAlchemy URL; ``None`` means ``LAW_DATABASE_URL`` (default ``var/law.db``).
        ttl: How long a processed message id is remembered.
        status_ttl: How long delivery reports are kept.
        clock: Returns the current UTC time (tests move it).
        auto_migrate: Upgrade the database's schema on first use (see the module's
            docstring); without it, the tables must have been migrated beforehand.
        timeouts: The engine's connect, statement, lock and pool timeouts.
        call_timeout_s: How long the event loop waits for one call before it gives up.
    """

    def __init__(
        self,
        url: str | None = None,
        ttl: dt.timedelta = dt.timedelta(days=7),
        status_ttl: dt.timedelta = dt.timedelta(days=30),
        clock: Callable[[], dt.datetime] = utc_now,
        auto_migrate: bool = True,
        timeouts: StoreTimeouts = DEFAULT_TIMEOUTS,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self.url = url or database_url_from_env()
        self.timeouts = timeouts
        self.call_timeout_s = call_timeout_s
        self.ttl = ttl
        self.status_ttl = status_ttl
        self.clock = clock
        self.auto_migrate = auto_migrate
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._last_purge = float("-inf")

    # --- async API (event loop side) ----------------------------------------------------

    async def claim(self, message_id: str) -> bool:
        """Record ``message_id`` as processed; ``False`` if it had been already.

        Args:
            message_id: The wamid of the applicant's message.

        Returns:
            ``True`` exactly once per id, for whichever caller inserted it first.
        """
        return await self._call(lambda: self.claim_sync(message_id))

    async def record_status(self, status: StatusUpdate) -> bool:
        """Store a delivery report; ``False`` if the same report was stored before."""
        return await self._call(lambda: self.record_status_sync(status))

    async def record_statuses(self, statuses: Sequence[StatusUpdate]) -> int:
        """Store a delivery's reports in one call; returns how many were new."""
        return await self._call(
            lambda: sum(self.record_status_sync(status) for status in statuses),
            extra=len(statuses),
        )

    async def accept(self, messages: Sequence[InboundMessage], lease_s: float) -> set[str]:
        """Store accepted messages in the inbox; returns the ids to work on (``inbox.accept``)."""
        def store() -> set[str]:
            with gc_paused():
                return self._in_transaction(inbox.accept, messages, self.clock(), lease_s)

        return await self._call(store, extra=len(messages))

    async def take_stale(
        self, lease_s: float, limit: int
    ) -> tuple[list[InboundMessage], list[str]]:
        """Lease waiting messages nobody works on (see ``inbox.take_stale``)."""
        return await self._call(
            lambda: self._in_transaction(inbox.take_stale, self.clock(), lease_s, limit))

    async def renew(self, ids: Iterable[str], lease_s: float) -> None:
        """Extend this process's leases."""
        held = list(ids)
        await self._call(lambda: self._in_transaction(inbox.renew, held, self.clock(), lease_s),
                         extra=len(held))

    async def release(self, ids: Iterable[str]) -> None:
        """Hand unfinished messages back to the inbox."""
        held = list(ids)
        await self._call(lambda: self._in_transaction(inbox.release, held), extra=len(held))

    async def finish(self, message_id: str) -> None:
        """The message was answered: out of the inbox, its id remembered as processed."""
        await self._call(
            lambda: self._in_transaction(inbox.finish, [message_id], self.clock()))
        await self._call(lambda: self._purge_now_and_then(self._ready_engine()))

    async def earlier_waiting(self, message_id: str, sender_id: str) -> list[str]:
        """The sender's unanswered messages accepted before this one (``inbox.earlier_waiting``)."""
        return await self._call(lambda: self._in_transaction(
            inbox.earlier_waiting, message_id, sender_id))

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query within the call timeout."""
        def select_one() -> None:
            with self._ready_engine().connect() as conn:
                conn.execute(text("SELECT 1"))

        await self._call(select_one)

    async def close(self) -> None:
        """Release the thread pool and the engine's connections.

        Does not wait for a thread stuck on a database that does not answer.
        """
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        self.dispose()

    async def _call(self, call: Callable[[], T], extra: int = 0) -> T:
        """Run a blocking call on the pool; ``asyncio.TimeoutError`` after the timeout."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="whatsapp-db")
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        timeout = self.call_timeout_s + CALL_TIMEOUT_PER_1000_S * extra / 1000
        return await asyncio.wait_for(future, timeout)

    def _in_transaction(self, work: Callable[..., T], *args: object) -> T:
        with self._ready_engine().begin() as conn:
            return work(conn, *args)

    # --- blocking API (worker thread side) ----------------------------------------------

    def claim_sync(self, message_id: str) -> bool:
        """Blocking form of :meth:`claim`."""
        engine = self._ready_engine()
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(processed_messages).values(
                        message_id=message_id, received_at=self.clock()
                    )
                )
        except IntegrityError:
            return False
        self._purge_now_and_then(engine)
        return True

    def record_status_sync(self, status: StatusUpdate) -> bool:
        """Blocking form of :meth:`record_status`."""
        engine = self._ready_engine()
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(message_statuses).values(
                        message_id=status.message_id,
                        status=status.status[:32],
                        status_at=status.timestamp,
                        recorded_at=self.clock(),
                        error_code=status.error_code,
                        error_title=status.error_title,
                    )
                )
        except IntegrityError:
            return False
        return True

    def purge(self) -> int:
        """Delete expired ids and old reports now; returns how many rows went."""
        return self._purge(self._ready_engine())

    def dispose(self) -> None:
        """Close the engine's pooled connections (a later call reopens them)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _ready_engine(self) -> Engine:
        with self._lock:
            if not self._ready:
                if self.auto_migrate:
                    migrate(self.url)  # a failure is retried at the next call
                self._ready = True
            if self._engine is None:
                self._engine = create_store_engine(self.url, self.timeouts)
            return self._engine

    def _purge_now_and_then(self, engine: Engine) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = time.monotonic()
        try:
            removed = self._purge(engine)
        except (OperationalError, ProgrammingError):
            logger.warning("Purging old WhatsApp message ids failed; will try later.")
            return
        if removed:
            logger.info("Purged %d expired WhatsApp message ids and reports.", removed)

    def _purge(self, engine: Engine) -> int:
        now = self.clock()
        with engine.begin() as conn:
            ids = conn.execute(
                delete(processed_messages).where(processed_messages.c.received_at < now - self.ttl)
            ).rowcount
            reports = conn.execute(
                delete(message_statuses).where(
                    message_statuses.c.recorded_at < now - self.status_ttl
                )
            ).rowcount
        return int(ids or 0) + int(reports or 0)
