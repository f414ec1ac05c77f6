"""Deduplication of webhook deliveries by message id, across requests, races and restarts."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.dedup import MessageStore, processed_messages
from addons.whatsapp.payload import StatusUpdate
from addons.whatsapp.settings import WhatsAppSettings
from tests.channel.helpers import (
    HandlerAgent,
    accept_all,
    echo,
    live_server,
    read_receipts,
    run,
    sent_bodies,
    text_message,
    webhook,
)


def test_the_same_message_id_is_processed_once(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    message = text_message("wamid.dup.1", "halo")
    payload = webhook({"messages": [message, message]})

    async def scenario() -> list[str]:
        agent = HandlerAgent(echo)
        async with live_server(WhatsAppInput(settings), agent) as server:
            for _ in range(3):  # Meta retrying the same delivery
                assert (await server.post(payload)).status == 200
            await server.channel.drain()
        return [m.message_id for m in agent.received]

    assert run(scenario()) == ["wamid.dup.1"]
    assert len(sent_bodies(graph)) == 1
    assert read_receipts(graph) == ["wamid.dup.1"]


def test_duplicates_are_recognised_after_a_restart(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    before = webhook({"messages": [text_message("wamid.restart.1", "halo")]})
    after = webhook({"messages": [text_message("wamid.restart.1", "halo"),
                                  text_message("wamid.restart.2", "besok")]})

    async def serve_once(payload: dict) -> list[str]:
        agent = HandlerAgent(echo)
        # A new channel instance each time: nothing survives but the database file.
        async with live_server(WhatsAppInput(settings), agent) as server:
            await server.post(payload)
            await server.channel.drain()
        return [m.text for m in agent.received]

    assert run(serve_once(before)) == ["halo"]
    assert run(serve_once(after)) == ["besok"]
    assert [b["text"]["body"] for b in sent_bodies(graph)] == ["echo: halo", "echo: besok"]


@pytest.mark.parametrize("threads", [8])
def test_concurrent_claims_of_one_id_let_exactly_one_through(
    database_url: str, threads: int
) -> None:
    stores = [MessageStore(database_url) for _ in range(2)]  # as if two server processes
    for store in stores:
        store.purge()  # creates the tables up front, so the race is about the insert only
    message_id = f"wamid.race.{uuid.uuid4().hex}"
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def claim(store: MessageStore) -> None:
        barrier.wait()
        results.append(store.claim_sync(message_id))

    workers = [threading.Thread(target=claim, args=(stores[i % 2],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for store in stores:
        store.dispose()
    assert sorted(results) == [False] * (threads - 1) + [True]


def test_claims_from_the_event_loop_run_in_a_worker_thread(tmp_path) -> None:
    store = MessageStore(f"sqlite:///{tmp_path / 'law.db'}")
    loop_thread: list[str] = []

    async def scenario() -> tuple[bool, bool]:
        loop_thread.append(threading.current_thread().name)
        first = await store.claim("wamid.async.1")
        second = await store.claim("wamid.async.1")
        await store.close()
        return first, second

    real_claim = store.claim_sync
    claim_threads: list[str] = []

    def spying_claim(message_id: str) -> bool:
        claim_threads.append(threading.current_thread().name)
        return real_claim(message_id)

    store.claim_sync = spying_claim  # type: ignore[method-assign]
    assert run(scenario()) == (True, False)
    assert claim_threads and all(name != loop_thread[0] for name in claim_threads)
    assert all(name.startswith("whatsapp-db") for name in claim_threads)


def test_ids_expire_and_are_purged(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'law.db'}"  # var/ does not exist yet
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
    clock = {"now": now}
    store = MessageStore(url, ttl=dt.timedelta(days=7), clock=lambda: clock["now"])
    assert store.claim_sync("wamid.old")
    store.record_status_sync(StatusUpdate("wamid.out.old", "read"))
    clock["now"] = now + dt.timedelta(days=6)
    assert store.claim_sync("wamid.recent")
    assert not store.claim_sync("wamid.old")  # six days on: still a duplicate
    store.dispose()

    # A later start: its first insert purges what expired (eight days after the first id).
    later = MessageStore(url, ttl=dt.timedelta(days=7), status_ttl=dt.timedelta(days=7),
                         clock=lambda: now + dt.timedelta(days=8))
    assert later.claim_sync("wamid.new")
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        ids = set(conn.execute(select(processed_messages.c.message_id)).scalars())
        assert conn.execute(select(func.count()).select_from(processed_messages)).scalar() == 2
    engine.dispose()
    assert ids == {"wamid.recent", "wamid.new"}
    assert later.claim_sync("wamid.old")  # forgotten, so it would be processed again
    later.dispose()


def test_default_database_comes_from_law_database_url(monkeypatch, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("LAW_DATABASE_URL", url)
    store = MessageStore()
    assert store.url == url
    assert store.claim_sync("wamid.env.1")
    store.dispose()
    assert (tmp_path / "from-env.db").exists()


def test_messages_are_still_answered_when_the_id_store_is_down(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    accept_all(graph)

    class BrokenStore(MessageStore):
        def _in_transaction(self, work, *args):  # type: ignore[no-untyped-def]
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    async def scenario() -> list[str]:
        agent = HandlerAgent(echo)
        channel = WhatsAppInput(settings, store=BrokenStore(settings.dedup_db_url))
        async with live_server(channel, agent) as server:
            assert (await server.post(
                webhook({"messages": [text_message("wamid.down.1", "halo")]}))).status == 200
            await server.channel.drain()
        return [m.text for m in agent.received]

    assert run(scenario()) == ["halo"]
    assert [b["text"]["body"] for b in sent_bodies(graph)] == ["echo: halo"]
    assert "store unavailable (OperationalError)" in caplog.text
    assert "wamid.down.1" in caplog.text
