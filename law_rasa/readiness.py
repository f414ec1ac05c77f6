"""Readiness of a Rasa process or an action server: do the stores it needs answer in time?

A load balancer sends messages only to a process whose ``GET /ready`` answers 200; liveness
stays Rasa's ``GET /`` and the action server's ``GET /health`` (the process runs), so a store
that hangs takes the process out of rotation without anything restarting it. Checked, each
within ``CHECK_TIMEOUT_S`` and all at once:

- ``database``: the slot store (``LAW_DATABASE_URL``) answers ``SELECT 1``;
- ``tracker_store`` (Rasa): Rasa's SQL tracker store answers ``SELECT 1``;
- ``redis`` (Rasa, when the lock store keeps its locks in Redis): Redis answers ``PING``;
- ``model`` (Rasa): a model is loaded.

The blocking calls run on daemon threads of their own (a thread stuck on a store that does
not answer never holds up the process's exit). A check whose thread is still stuck is not
started again: the next check waits on the same call (at most ``CHECK_TIMEOUT_S`` again), so
a hanging store never piles up threads.
The answer names each dependency with ``ok``, ``timeout`` or the exception's type — never a
URL, a host or a message that could hold a secret.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

from antrean import metrics
from antrean.store.engine import StoreTimeouts, create_store_engine
from antrean.store.health_queries import Backlogs, backlogs, ping

CHECK_TIMEOUT_S = 2.0
# The probe's own engine: fail fast (libpq counts whole seconds, at least 2).
PROBE_TIMEOUTS = StoreTimeouts(connect_s=2.0, statement_s=2.0, lock_s=2.0, pool_s=2.0)
OK = "ok"

log = logging.getLogger(__name__)


class Readiness:
    """The readiness checks of one process.

    Args:
        database_url: The slot store's URL; ``None`` reads ``LAW_DATABASE_URL``.
        timeout_s: How long each check may take.
    """

    def __init__(self, database_url: str | None = None,
                 timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.database_url = database_url
        self.timeout_s = timeout_s
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._running: dict[str, asyncio.Future[Any]] = {}

    async def check(self, agent: Any = None, with_backlogs: bool = False) -> tuple[bool, dict]:
        """Run every check that applies; update the readiness gauges.

        Args:
            agent: Rasa's agent (``app.ctx.agent``) on a Rasa process, ``None`` on an action
                server.
            with_backlogs: Also count the shared queues into their gauges (for a scrape).

        Returns:
            Whether every check passed, and the JSON body naming each dependency's state.
        """
        probes: dict[str, Callable[[], Any]] = {
            "database": self._database_backlogs if with_backlogs else self._database_ping}
        states: dict[str, str] = {}
        if agent is not None:
            states["model"] = OK if _model_loaded(agent) else "not loaded"
            engine = _tracker_engine(getattr(agent, "tracker_store", None))
            if engine is not None:
                probes["tracker_store"] = lambda: _select_one(engine)
            redis = _redis_client(getattr(agent, "lock_store", None))
            if redis is not None:
                probes["redis"] = redis.ping
        results = await asyncio.gather(*(self._probe(name, call)
                                         for name, call in probes.items()))
        for name, (state, value) in zip(probes, results, strict=True):
            states[name] = state
            if name == "database" and isinstance(value, Backlogs):
                _set_backlogs(value)
        ready = all(state == OK for state in states.values())
        for name, state in states.items():
            metrics.DEPENDENCY_UP.labels(name).set(1 if state == OK else 0)
        metrics.READY.set(1 if ready else 0)
        return ready, {"status": "ok" if ready else "unavailable", **states}

    def close(self) -> None:
        """Release the probe's engine (threads still stuck on a store end with the process)."""
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    async def _probe(self, name: str, call: Callable[[], Any]) -> tuple[str, Any]:
        """``(state, value)`` of one check, reusing a call still running from before."""
        running = self._running.get(name)
        if running is None or running.done() or running.get_loop() is not (
                asyncio.get_running_loop()):
            running = asyncio.wrap_future(_in_a_thread(call))
            running.add_done_callback(_outcome_seen)  # no "exception never retrieved" later
            self._running[name] = running
        try:
            value = await asyncio.wait_for(asyncio.shield(running), self.timeout_s)
        except asyncio.TimeoutError:
            log.warning("not ready: %s did not answer within %.0fs", name, self.timeout_s)
            return "timeout", None
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("not ready: %s failed (%s)", name, type(exc).__name__)
            return type(exc).__name__, None
        return OK, value

    def _store_engine(self) -> Any:
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_store_engine(self.database_url, PROBE_TIMEOUTS,
                                                   pool_size=1, max_overflow=2)
            return self._engine

    def _database_ping(self) -> None:
        ping(self._store_engine())

    def _database_backlogs(self) -> Backlogs:
        engine = self._store_engine()
        ping(engine)
        return backlogs(engine)


def _in_a_thread(call: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """``call()`` on a daemon thread of its own; its outcome in the future returned."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting check
            future.set_exception(exc)

    threading.Thread(target=run, name="law-ready", daemon=True).start()
    return future


def _outcome_seen(future: asyncio.Future[Any]) -> None:
    """Mark a probe's outcome as read (a check that timed out no longer awaits it)."""
    if not future.cancelled():
        future.exception()


def _set_backlogs(counts: Backlogs) -> None:
    for gauge, value in ((metrics.INBOX_BACKLOG, counts.inbox),
                         (metrics.OUTBOX_BACKLOG, counts.notice_outbox),
                         (metrics.OWNER_NOTICE_BACKLOG, counts.owner_notices)):
        if value is not None:
            gauge.set(value)


def _model_loaded(agent: Any) -> bool:
    try:
        return bool(agent.is_ready())
    except Exception:  # noqa: BLE001 - an agent in the middle of loading
        return False


def _tracker_engine(store: Any) -> Any:
    """The SQLAlchemy engine of a SQL tracker store, through Rasa's wrappers; else ``None``."""
    for _ in range(4):
        if store is None:
            return None
        engine = getattr(store, "engine", None)
        if engine is not None and hasattr(engine, "connect"):
            return engine
        store = getattr(store, "_tracker_store", None)
    return None


def _select_one(engine: Any) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def _redis_client(lock_store: Any) -> Any:
    """The Redis client of a lock store keeping its locks in Redis; else ``None``.

    Rasa's ``RedisLockStore`` (and lock stores built on it) hold it as ``red``.
    """
    for attribute in ("red", "redis", "client"):
        client = getattr(lock_store, attribute, None)
        if client is not None and callable(getattr(client, "ping", None)):
            return client
    return None
