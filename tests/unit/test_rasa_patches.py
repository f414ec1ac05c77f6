"""law_rasa/patches.py: Rasa validates action-server answers as before with a cached
validator, leaves JAX out, and keeps one session per endpoint while a server runs."""
from __future__ import annotations

import asyncio

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from law_rasa import patches


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)  # restored after
    patches.validate_action_answers_with_one_validator()
    return RemoteAction("action_x", None)


VALID = {"events": [{"event": "slot", "name": "a", "value": 1}],
         "responses": [{"response": "utter_x"}]}
INVALID = [{"events": "not a list"}, {"events": [{"event": "slot", "name": 3}]},
           {"events": [{"event": "no_such_event"}]}]


def test_a_valid_answer_passes(patched):
    assert patched._validate_action_result(VALID) is True
    assert RemoteAction("action_x", None)._validate_action_result({}) is True


@pytest.mark.parametrize("answer", INVALID)
def test_an_invalid_answer_raises_as_rasa_does(patched, answer):
    with pytest.raises(ValidationError) as raised:
        patched._validate_action_result(answer)
    assert "Failed to validate Action server response" in raised.value.message


@pytest.mark.parametrize("answer", [VALID, {}, *INVALID])
def test_same_verdict_as_rasa(patched, answer):
    from jsonschema import validate

    try:
        validate(answer, RemoteAction.action_response_format_spec())
        expected = True
    except ValidationError:
        expected = False
    try:
        got = patched._validate_action_result(answer)
    except ValidationError:
        got = False
    assert got == expected


def test_the_launcher_leaves_out_jax():
    """In a process of its own: the setting is global to the process."""
    import subprocess
    import sys

    probe = """
import json
from law_rasa import patches
patches.leave_out_jax()
import tensorflow  # still imports without JAX
try:
    import jax
    jax_loaded = True
except ImportError:
    jax_loaded = False
print(json.dumps({"jax": jax_loaded}))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["jax"] is False


@pytest.fixture
def kept_sessions(monkeypatch):
    """The session patch applied (and undone after the test)."""
    import rasa.core.run
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    patches.keep_one_session_per_endpoint()


async def _count_connections(requests: int, pause_s: float = 0.0,
                             serving: bool = False) -> tuple[int, list]:
    """Sends ``requests`` POSTs through an EndpointConfig to a local server; returns how many
    TCP connections the server accepted and what it saw of each request. ``serving``: as in a
    Rasa server, between its start (sessions kept) and its stop (kept sessions closed)."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    peers, seen = set(), []

    async def handle(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername"))  # (address, client port)
        seen.append((request.headers.get("X-Office"), request.query.get("token"),
                     await request.json()))
        return web.json_response({"ok": len(seen)})

    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="t0k",
                              headers={"X-Office": "kemayoran"})
    if serving:
        patches.start_keeping_sessions()
    try:
        for index in range(requests):
            assert await endpoint.request(json={"n": index}) == {"ok": index + 1}
            await asyncio.sleep(pause_s)
    finally:
        if serving:
            assert await patches.close_kept_sessions() == (1 if requests else 0)
        await runner.cleanup()
    return len(peers), seen


def test_rasa_alone_connects_anew_for_every_request():
    connections, _ = asyncio.run(_count_connections(4))
    assert connections == 4


def test_a_server_keeps_one_connection_with_the_same_headers(kept_sessions):
    connections, seen = asyncio.run(_count_connections(4, serving=True))
    assert connections == 1
    assert seen == [("kemayoran", "t0k", {"n": n}) for n in range(4)]


def test_an_idle_connection_is_dropped_and_the_next_request_reconnects(kept_sessions):
    connections, seen = asyncio.run(
        _count_connections(2, pause_s=patches.IDLE_CONNECTION_S + 1.0, serving=True))
    assert connections == 2 and len(seen) == 2


def test_outside_a_server_rasa_opens_and_closes_its_own_sessions(kept_sessions):
    """``rasa test``, ``rasa train``…: no server to close a kept session, so none is kept."""
    connections, _ = asyncio.run(_count_connections(3))
    assert connections == 3
    assert patches._SERVING == {}


def test_every_rasa_server_keeps_sessions_from_its_start_and_closes_them_at_its_stop():
    registered = []

    class App:
        def register_listener(self, listener, event):
            registered.append((event, listener))

    configure = patches._with_kept_sessions(lambda *args, **kwargs: App())
    assert isinstance(configure([], port=0), App)
    assert [event for event, _ in registered] == ["before_server_start", "after_server_stop"]

    async def server_life() -> tuple[bool, int]:
        start, stop = (listener for _, listener in registered)
        await start(None, asyncio.get_running_loop())
        keeping = asyncio.get_running_loop() in patches._SERVING
        import aiohttp

        patches._SERVING[asyncio.get_running_loop()].append(aiohttp.ClientSession())
        await stop(None, asyncio.get_running_loop())
        return keeping, len(patches._SERVING)

    assert asyncio.run(server_life()) == (True, 0)
