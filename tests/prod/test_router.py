"""The router in front of the Rasa processes and the action servers (law_launch/prod_router.py):
which backend a request goes to, and that it arrives unchanged."""
from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from law_launch.prod_router import Backend, Router, rendezvous_order, sender_of

WEBHOOK = "/webhooks/whatsapp/webhook"


def delivery(sender: str, wamid: str = "wamid.1") -> bytes:
    message = {"from": sender, "id": wamid, "timestamp": "1795000000", "type": "text",
               "text": {"body": "halo"}}
    value = {"messaging_product": "whatsapp", "messages": [message]}
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    return json.dumps(body).encode()


@pytest.mark.parametrize(("body", "expected"), [
    (delivery("6281100000001"), "6281100000001"),
    (json.dumps({"entry": [{"changes": [{"value": {"statuses": [
        {"id": "wamid.x", "status": "read", "recipient_id": "6281100000002"}]}}]}]}).encode(),
     "6281100000002"),
    (b"not json", None),
    (b"[1, 2]", None),
    (json.dumps({"entry": "x"}).encode(), None),
    (json.dumps({"entry": [{"changes": [{"value": None}, {"value": {"messages": [7]}}]}]}
                ).encode(), None),
])
def test_sender_of_a_delivery(body: bytes, expected: str | None) -> None:
    assert sender_of(body) == expected


def test_rendezvous_moves_only_the_keys_of_a_removed_backend() -> None:
    backends = [Backend(f"http://127.0.0.1:{port}") for port in (5006, 5007, 5008)]
    keys = [f"62811{n:07d}" for n in range(600)]
    owners = {key: rendezvous_order(key, backends)[0].url for key in keys}
    assert len(set(owners.values())) == 3  # all three own some applicants
    survivors = backends[:2]
    for key in keys:
        owner = rendezvous_order(key, survivors)[0].url
        if owners[key] != backends[2].url:
            assert owner == owners[key]  # nobody else moved


# --- forwarding over real sockets --------------------------------------------------------


class Recorder:
    """A backend that remembers what it received and answers with its own name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[tuple[str, str, bytes, dict[str, str]]] = []

    def app(self) -> web.Application:
        app = web.Application()

        async def record(request: web.Request) -> web.Response:
            body = await request.read()
            if request.path == "/health":  # the router's probe
                return web.Response(text="ok")
            self.received.append((request.method, request.path_qs, body,
                                  dict(request.headers)))
            return web.Response(text=self.name, headers={"X-Backend": self.name})

        app.router.add_route("*", "/{tail:.*}", record)
        return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def routed(backend_urls: list[str], affinity: str) -> AsyncIterator[str]:
    router = Router(backend_urls, "/health", affinity, timeout_s=10, health_interval_s=60)
    async with serving(router.app(), free_port()) as url:
        yield url


def test_webhook_posts_of_one_sender_reach_one_backend_unchanged() -> None:
    async def scenario() -> None:
        first, second = Recorder("a"), Recorder("b")
        async with serving(first.app(), free_port()) as a, \
                serving(second.app(), free_port()) as b, \
                routed([a, b], "whatsapp") as front, aiohttp.ClientSession() as session:
            senders = [f"62811{n:07d}" for n in range(20)]
            for round_ in range(3):
                for sender in senders:
                    body = delivery(sender, f"wamid.{sender}.{round_}")
                    async with session.post(front + WEBHOOK, data=body, headers={
                        "X-Hub-Signature-256": "sha256=abc",
                        "Content-Type": "application/json"}) as response:
                        assert response.status == 200
            seen: dict[str, set[str]] = {}
            for recorder in (first, second):
                for method, path, body, headers in recorder.received:
                    assert (method, path) == ("POST", WEBHOOK)
                    assert headers["X-Hub-Signature-256"] == "sha256=abc"
                    sender = json.loads(body)["entry"][0]["changes"][0]["value"][
                        "messages"][0]["from"]
                    assert body == delivery(sender, json.loads(body)["entry"][0]["changes"][0][
                        "value"]["messages"][0]["id"])  # byte for byte
                    seen.setdefault(sender, set()).add(recorder.name)
            assert all(len(names) == 1 for names in seen.values())  # one owner each
            assert first.received and second.received  # and both backends own someone

    asyncio.run(scenario())


def test_other_requests_go_round_robin_and_keep_query_and_answer() -> None:
    async def scenario() -> None:
        first, second = Recorder("a"), Recorder("b")
        async with serving(first.app(), free_port()) as a, \
                serving(second.app(), free_port()) as b, \
                routed([a, b], "none") as front, aiohttp.ClientSession() as session:
            answers = []
            for _ in range(4):
                async with session.post(front + "/webhook?x=1", json={"next_action": "a"}
                                        ) as response:
                    answers.append((await response.text(), response.headers["X-Backend"]))
            assert sorted(name for name, _ in answers) == ["a", "a", "b", "b"]
            assert all(name == header for name, header in answers)
            assert {path for _, path, _, _ in first.received} == {"/webhook?x=1"}

    asyncio.run(scenario())


def test_a_backend_that_refuses_connections_is_skipped() -> None:
    async def scenario() -> None:
        alive = Recorder("alive")
        dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        async with serving(alive.app(), free_port()) as a, routed([dead, a], "whatsapp") as \
                front, aiohttp.ClientSession() as session:
            for n in range(10):
                async with session.post(front + WEBHOOK, data=delivery(f"62811{n:07d}")
                                        ) as response:
                    assert response.status == 200
            assert len(alive.received) == 10
            async with session.get(front + "/_router/health") as response:
                assert response.status == 200
                assert (await response.json())["backends"] == {dead: False, a: True}

    asyncio.run(scenario())


def test_no_backend_reachable_is_a_503() -> None:
    async def scenario() -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        async with routed([dead], "none") as front, aiohttp.ClientSession() as session:
            async with session.post(front + "/webhook", json={}) as response:
                assert response.status == 503
            async with session.get(front + "/_router/health") as response:
                assert response.status == 503

    asyncio.run(scenario())


def test_loading_a_model_reaches_every_rasa_process() -> None:
    """PUT /model (antrean promosikan) must not load the new model in one process only."""
    async def scenario() -> None:
        first, second = Recorder("a"), Recorder("b")
        async with serving(first.app(), free_port()) as a, \
                serving(second.app(), free_port()) as b, \
                routed([a, b], "whatsapp") as front, aiohttp.ClientSession() as session:
            for _ in range(2):
                async with session.put(front + "/model?token=s3cret",
                                       json={"model_file": "models/kandidat.tar.gz"}
                                       ) as response:
                    assert response.status == 200
                    assert await response.text() == "a"  # the first backend's answer
            for recorder in (first, second):
                assert [(m, p, json.loads(body)) for m, p, body, _ in recorder.received] == [
                    ("PUT", "/model?token=s3cret", {"model_file": "models/kandidat.tar.gz"})
                ] * 2
            async with session.get(front + "/status") as response:  # not broadcast
                assert response.status == 200
            assert len(first.received) + len(second.received) == 5

    asyncio.run(scenario())


def test_a_model_load_that_fails_anywhere_is_reported_as_failed() -> None:
    async def scenario() -> None:
        alive = Recorder("alive")
        refusing = web.Application()

        async def refuse(request: web.Request) -> web.Response:
            if request.path == "/health":
                return web.Response(text="ok")
            return web.json_response({"message": "model not found"}, status=400)

        refusing.router.add_route("*", "/{tail:.*}", refuse)
        dead = f"http://127.0.0.1:{free_port()}"
        async with serving(alive.app(), free_port()) as a, \
                serving(refusing, free_port()) as r, \
                routed([a, r, dead], "whatsapp") as front, aiohttp.ClientSession() as session:
            async with session.put(front + "/model", json={"model_file": "x"}) as response:
                assert response.status == 502
                report = await response.json()
            assert report["backends"][a] == 200
            assert report["backends"][r] == 400
            assert report["backends"][dead] == "ClientConnectorError"
            assert len(alive.received) == 1  # still asked: it now runs the new model

    asyncio.run(scenario())
