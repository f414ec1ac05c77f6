"""``law_rasa.readiness`` against real stores, without Rasa.

A SQLite file answers; a database that accepts and never answers fails in about the timeout,
without a second thread for the stuck call; a Redis that is gone fails at once; the reasons
name no URL or host.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from types import SimpleNamespace

import redis

from antrean import metrics
from law_rasa.readiness import Readiness
from tests.e2e.servers import free_port
from tests.faults import hanging_postgres_url, silent_listener

TIMEOUT_S = 1.0


def agent_with(lock_store: object) -> SimpleNamespace:
    return SimpleNamespace(is_ready=lambda: True, tracker_store=None, lock_store=lock_store)


def probe_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "law-ready")


def test_ready_when_the_database_answers(tmp_path) -> None:
    readiness = Readiness(f"sqlite:///{tmp_path / 'law.db'}", TIMEOUT_S)
    try:
        ready, body = asyncio.run(readiness.check(agent_with(None)))
    finally:
        readiness.close()
    assert (ready, body) == (True, {"status": "ok", "model": "ok", "database": "ok"})
    assert metrics.REGISTRY.get_sample_value("law_ready") == 1


def test_a_hanging_database_fails_within_the_timeout_and_is_not_probed_twice() -> None:
    with silent_listener() as port:
        readiness = Readiness(hanging_postgres_url(port), TIMEOUT_S)
        try:
            async def twice() -> list[tuple[bool, dict, float]]:
                outcomes = []
                for _ in range(2):
                    started = time.monotonic()
                    ready, body = await readiness.check()
                    outcomes.append((ready, body, time.monotonic() - started))
                    assert probe_threads() <= 1  # the stuck call is waited on again
                return outcomes

            first, second = asyncio.run(twice())
            assert first[:2] == (False, {"status": "unavailable", "database": "timeout"})
            # The second waits on the same connection attempt, which may have given up by
            # now (libpq's connect timeout, 2 s): not ready either way.
            assert second[:2] in ((False, {"status": "unavailable", "database": reason})
                                  for reason in ("timeout", "OperationalError"))
            assert first[2] < TIMEOUT_S + 1 and second[2] < TIMEOUT_S + 1
            assert metrics.REGISTRY.get_sample_value(
                "law_dependency_up", {"dependency": "database"}) == 0
        finally:
            readiness.close()


def test_redis_gone_fails_and_says_only_what_failed(tmp_path) -> None:
    gone = redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=1)
    readiness = Readiness(f"sqlite:///{tmp_path / 'law.db'}", TIMEOUT_S)
    try:
        ready, body = asyncio.run(readiness.check(agent_with(SimpleNamespace(red=gone))))
    finally:
        readiness.close()
    assert not ready
    assert body == {"status": "unavailable", "model": "ok", "database": "ok",
                    "redis": "ConnectionError"}
    assert "127.0.0.1" not in json.dumps(body)


def test_a_rasa_process_without_its_model_is_not_ready(tmp_path) -> None:
    from law_rasa.observability import _agent_of

    request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace()))  # no agent set yet
    readiness = Readiness(f"sqlite:///{tmp_path / 'law.db'}", TIMEOUT_S)
    try:
        ready, body = asyncio.run(readiness.check(_agent_of(request)))
    finally:
        readiness.close()
    assert (ready, body["model"]) == (False, "not loaded")
