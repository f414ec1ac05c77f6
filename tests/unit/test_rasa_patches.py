"""scripts/rasa_run.py: Rasa validates action-server answers as before, with a cached validator."""
from __future__ import annotations

import asyncio
import importlib.util

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from tests.e2e.servers import ROOT


@pytest.fixture
def patched(monkeypatch):
    original = RemoteAction._validate_action_result
    spec = importlib.util.spec_from_file_location("rasa_run", ROOT / "scripts" / "rasa_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    yield RemoteAction("action_x", None)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)


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

    probe = f"""
import importlib.util, json
spec = importlib.util.spec_from_file_location("rasa_run", {str(ROOT / "scripts" / "rasa_run.py")!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.without_jax()
import tensorflow  # still imports without JAX
try:
    import jax
    jax_loaded = True
except ImportError:
    jax_loaded = False
print(json.dumps({{"jax": jax_loaded}}))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["jax"] is False


@pytest.fixture
def launcher(monkeypatch):
    from rasa.utils.endpoints import EndpointConfig

    spec = importlib.util.spec_from_file_location("rasa_run", ROOT / "scripts" / "rasa_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)  # restored after
    return module


async def _count_connections(requests: int, pause_s: float = 0.0) -> tuple[int, list]:
    """Sends ``requests`` POSTs through an EndpointConfig to a local server; returns how many
    TCP connections the server accepted and what it saw of each request."""
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
    try:
        for index in range(requests):
            assert await endpoint.request(json={"n": index}) == {"ok": index + 1}
            await asyncio.sleep(pause_s)
    finally:
        session = getattr(endpoint, "_law_session", None)
        if session:
            await session[1].close()
        await runner.cleanup()
    return len(peers), seen


def test_rasa_alone_connects_anew_for_every_request():
    connections, _ = asyncio.run(_count_connections(4))
    assert connections == 4


def test_the_launcher_keeps_one_connection_with_the_same_headers(launcher):
    launcher.reuse_endpoint_sessions()
    connections, seen = asyncio.run(_count_connections(4))
    assert connections == 1
    assert seen == [("kemayoran", "t0k", {"n": n}) for n in range(4)]


def test_an_idle_connection_is_dropped_and_the_next_request_reconnects(launcher):
    launcher.reuse_endpoint_sessions()
    connections, seen = asyncio.run(
        _count_connections(2, pause_s=launcher.IDLE_CONNECTION_S + 1.0))
    assert connections == 2 and len(seen) == 2
