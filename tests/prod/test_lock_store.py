"""The conversation lock store (law_rasa/lock_store.py) on the real Redis, across processes.

Two OS processes race for the same new conversation at the same instant (a barrier), a
thousand times: never two holders, never an error, turns in ticket order. Rasa 3.6's stock
``RedisLockStore`` runs the same race and its failures are counted and printed — not
asserted, so that a lucky run of the stock store cannot fail the suite (RasaHQ/rasa#9213).
A holder killed with SIGKILL stops blocking after its ticket's lifetime, and keys expire.
Last, Rasa's own agent loads the store from an endpoints file and waits for a turn held by
another store, as a message on another Rasa process would make it.

Uses ``LAW_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) with a key prefix of its
own, deleted afterwards; without Redis the tests skip (under ``CI=true`` they fail).
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from law_rasa.lock_store import AtomicRedisLockStore
from tests.e2e.servers import find_model

REDIS_ENV = "LAW_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
RACES = 1000
# The stock store's races are fewer: its lost tickets leave turns waiting (forever, cut at
# STOCK_TURN_TIMEOUT_S), which is slow; a fraction of them shows its failure rate well enough.
STOCK_RACES = 200
STOCK_TURN_TIMEOUT_S = 0.5
CRITICAL_SECTION_S = 0.002  # how long a holder stays inside: long enough for a second to enter
FORK = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    db: int
    password: str | None
    prefix: str

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=self.db, password=self.password)

    def store(self, kind: str = "atomic", **options: Any) -> LockStore:
        if kind == "stock":
            return RedisLockStore(host=self.host, port=self.port, db=self.db,
                                  password=self.password, key_prefix=self.prefix)
        return AtomicRedisLockStore(host=self.host, port=self.port, db=self.db,
                                    password=self.password, key_prefix=self.prefix, **options)


@pytest.fixture
def target() -> Iterator[RedisTarget]:
    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"lock store tests skipped: cannot connect to {url}: {exc}")
    options = client.connection_pool.connection_kwargs
    # Letters and digits only: Rasa's stock store ignores any other prefix.
    prefix = f"lawlock{uuid.uuid4().hex[:8]}"
    try:
        yield RedisTarget(options.get("host", "127.0.0.1"), int(options.get("port", 6379)),
                          int(options.get("db", 0)), options.get("password"), prefix)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


# --- the race: two processes, one conversation, one instant ----------------------------------

@dataclass
class RaceResult:
    overlaps: int = 0  # turns that found the other process inside
    errors: int = 0  # LockError: a turn that could not run at all
    stuck: int = 0  # stock only: a turn still waiting after STOCK_TURN_TIMEOUT_S
    out_of_order: int = 0  # races whose turns did not run in ticket order
    turns: int = 0


def _race_worker(target: RedisTarget, kind: str, races: int, barrier: Barrier,
                 results: Any) -> None:
    """One process's side of the race; reports its counts on `results`."""
    store = target.store(kind)
    client = target.client()
    inside = f"{target.prefix}:inside"
    # Ours gets no time limit: a turn of ours that never ran would fail the test by timing out.
    timeout = STOCK_TURN_TIMEOUT_S if kind == "stock" else None
    result = RaceResult()

    async def turn(conversation: str) -> None:
        async with store.lock(conversation, 30, 0.001) as held:
            if client.incr(inside) > 1:
                result.overlaps += 1
            order = f"{target.prefix}:order:{conversation}"
            client.rpush(order, held.now_serving or 0)
            client.expire(order, 600)  # gone even if the run is interrupted before cleaning
            await asyncio.sleep(CRITICAL_SECTION_S)
            client.decr(inside)
            result.turns += 1

    async def run() -> None:
        for race in range(races):
            barrier.wait(timeout=20)
            try:
                await asyncio.wait_for(turn(f"race{race}"), timeout)
            except LockError:
                result.errors += 1
            except asyncio.TimeoutError:
                result.stuck += 1

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(f"{kind} worker failed: {exc!r}")
        return
    results.put(result)


def race(target: RedisTarget, kind: str, races: int) -> RaceResult:
    """Runs the two-process race `races` times and adds up what both processes saw."""
    barrier = FORK.Barrier(2)
    results = FORK.Queue()
    workers = [FORK.Process(target=_race_worker, args=(target, kind, races, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        parts = [results.get(timeout=120) for _ in workers]
        failures = [part for part in parts if isinstance(part, str)]
        assert not failures, failures
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    total = RaceResult(sum(p.overlaps for p in parts), sum(p.errors for p in parts),
                       sum(p.stuck for p in parts), 0, sum(p.turns for p in parts))
    client = target.client()
    for number in range(races):
        served = [int(t) for t in client.lrange(f"{target.prefix}:order:race{number}", 0, -1)]
        if served != sorted(served):
            total.out_of_order += 1
    return total


def test_two_processes_never_hold_one_conversation_at_once(
        target: RedisTarget, capsys: pytest.CaptureFixture[str]) -> None:
    ours = race(target, "atomic", RACES)
    target.client().delete(*target.client().keys(f"{target.prefix}:order:*"))
    stock = race(target, "stock", STOCK_RACES)
    with capsys.disabled():  # the figures show in every run, passing or not
        print(f"\nlock race, two processes on one new conversation: ours ({RACES} races) "
              f"{ours.overlaps} double holders, {ours.errors} errors, {ours.stuck} stuck, "
              f"{ours.out_of_order} out of order; Rasa's RedisLockStore ({STOCK_RACES} races) "
              f"{stock.overlaps} double holders, {stock.errors} errors, {stock.stuck} stuck")
    assert (ours.overlaps, ours.errors, ours.stuck, ours.out_of_order) == (0, 0, 0, 0)
    assert ours.turns == 2 * RACES
    # The stock store's failures are printed above, never asserted: it may get lucky.


# --- order, expiry and keys -------------------------------------------------------------------

def test_waiting_turns_run_in_the_order_of_their_tickets(target: RedisTarget) -> None:
    """Five turns of one conversation, each on a connection of its own, queued one by one."""
    stores = [target.store(poll_interval=0.005) for _ in range(5)]
    served: list[int] = []

    async def turn(position: int) -> None:
        async with stores[position].lock("order"):
            served.append(position)
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        tasks = []
        for position in range(5):
            tasks.append(asyncio.create_task(turn(position)))
            await asyncio.sleep(0.005)  # the ticket is issued before the task's first wait
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert served == [0, 1, 2, 3, 4]
    # Every ticket released: nothing left of the conversation, only the ticket counter.
    assert target.client().keys(f"{target.prefix}:*") == [f"{target.prefix}:tlock-counter"
                                                          .encode()]


def _hold_forever(target: RedisTarget, lifetime: float, acquired: Event) -> None:
    store = target.store(lock_lifetime=lifetime)

    async def hold() -> None:
        async with store.lock("killed"):
            acquired.set()
            await asyncio.sleep(3600)

    asyncio.run(hold())


def test_a_killed_holder_blocks_only_for_its_lifetime(target: RedisTarget) -> None:
    lifetime = 1.0
    acquired = FORK.Event()
    holder = FORK.Process(target=_hold_forever, args=(target, lifetime, acquired))
    holder.start()
    try:
        assert acquired.wait(timeout=20), "the holder never took the lock"
        taken_at = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        holder.join(timeout=10)
    finally:
        if holder.is_alive():
            holder.kill()
    key = f"{target.prefix}:tlock:killed"
    assert 0 < target.client().pttl(key) <= lifetime * 1000  # the key goes with the ticket

    async def next_turn() -> float:
        async with target.store(lock_lifetime=lifetime, poll_interval=0.01).lock("killed"):
            return time.monotonic() - taken_at

    waited = asyncio.run(next_turn())
    assert lifetime * 0.9 <= waited <= lifetime + 1.5
    assert not target.client().exists(key)


def test_live_turns_keep_their_tickets_and_an_expired_one_is_refused(
        target: RedisTarget) -> None:
    """A slow turn keeps the lock past its lifetime, and the turn waiting behind it its place."""
    holder = target.store(lock_lifetime=0.3)
    store = target.store(lock_lifetime=0.3, poll_interval=0.02)
    client = target.client()

    async def scenario() -> None:
        async with holder.lock("slow"):
            waiter = asyncio.create_task(_enter(store, "slow"))
            await asyncio.sleep(1.0)  # more than three lifetimes, both alive: both renew
            assert not waiter.done()
        assert await waiter == "entered"

    asyncio.run(scenario())
    ticket = store.issue_ticket("stalled", 0.2)
    time.sleep(0.3)  # a process stalled longer than its ticket's lifetime
    with pytest.raises(LockError):
        store.tickets_ahead("stalled", ticket)  # type: ignore[attr-defined]
    assert not client.exists(f"{target.prefix}:tlock:stalled")


async def _enter(store: LockStore, conversation: str) -> str:
    async with store.lock(conversation):
        return "entered"


def test_endpoint_settings_as_rasa_reads_them(target: RedisTarget) -> None:
    """``${VAR}`` expansion gives strings, and an empty password; a bad prefix is refused."""
    config = EndpointConfig(url=target.host, type="law_rasa.lock_store.AtomicRedisLockStore",
                            port=str(target.port), db=str(target.db),
                            password=target.password or "", key_prefix=target.prefix)
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.issue_ticket("settings") > 0
    assert store.is_someone_waiting("settings")
    with pytest.raises(ValueError, match="key_prefix"):
        AtomicRedisLockStore(EndpointConfig(url=target.host, key_prefix="law lock"))


# --- Rasa's agent and processor with the store from an endpoints file ------------------------

@pytest.mark.slow
def test_rasa_agent_waits_for_a_turn_held_on_another_process(
        target: RedisTarget, tmp_path: Path) -> None:
    model = find_model()
    if model is None:
        pytest.skip("no trained model in models/ (run `make train`; this test never trains)")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: law_rasa.lock_store.AtomicRedisLockStore\n"
        f"  url: {target.host}\n  port: {target.port}\n  db: {target.db}\n"
        f"  password: {target.password or ''}\n  key_prefix: {target.prefix}\n")
    sender = "lock-agent"

    async def scenario() -> list[str]:
        from rasa.core.agent import load_agent
        from rasa.core.utils import AvailableEndpoints
        from rasa.shared.core.events import UserUttered

        agent = await load_agent(model_path=str(model),
                                 endpoints=AvailableEndpoints.read_endpoints(str(endpoints)))
        assert isinstance(agent.lock_store, AtomicRedisLockStore)
        other_process = target.store()
        async with other_process.lock(sender):
            first = asyncio.create_task(agent.handle_text("halo", sender_id=sender))
            await asyncio.sleep(0.1)
            second = asyncio.create_task(agent.handle_text("jam buka kantor", sender_id=sender))
            await asyncio.sleep(0.5)
            assert not first.done() and not second.done()
            tracker = await agent.tracker_store.retrieve(sender)
            assert tracker is None or not any(isinstance(e, UserUttered) for e in tracker.events)
        await asyncio.wait_for(asyncio.gather(first, second), timeout=60)
        tracker = await agent.tracker_store.retrieve(sender)
        assert tracker is not None
        return [e.text for e in tracker.events if isinstance(e, UserUttered)]

    assert asyncio.run(scenario()) == ["halo", "jam buka kantor"]
