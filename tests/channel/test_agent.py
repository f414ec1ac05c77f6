"""The channel wired to a real Rasa agent loaded from the trained model (no training here)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rasa.shared.core.events import UserUttered

from addons.whatsapp import WhatsAppInput
from addons.whatsapp.settings import WhatsAppSettings
from tests.channel.helpers import (
    SENDER,
    accept_all,
    live_server,
    read_receipts,
    run,
    sent_bodies,
    text_message,
    wait_until,
    webhook,
)

ROOT = Path(__file__).resolve().parents[2]


def trained_model() -> Path | None:
    """The model ``make test`` names in LAW_MODEL, else the newest one under models/."""
    named = os.environ.get("LAW_MODEL")
    if named and (ROOT / named).is_file():
        return ROOT / named
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None


@pytest.mark.slow
def test_a_real_agent_answers_through_the_graph_api(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    model = trained_model()
    if model is None:
        pytest.skip("no trained model in models/ (run `make train`; this test never trains)")
    accept_all(graph)

    async def scenario() -> list:
        from rasa.core.agent import load_agent

        agent = await load_agent(model_path=str(model))
        assert agent.is_ready(), f"model {model} did not load"
        async with live_server(WhatsAppInput(settings), agent) as server:
            response = await server.post(
                webhook({"messages": [text_message("wamid.agent.1", "halo")]}))
            assert response.status == 200
            await wait_until(lambda: len(sent_bodies(graph)) >= 1, timeout=120)
            await server.channel.drain(timeout=60)
        tracker = await agent.tracker_store.retrieve(SENDER)
        assert tracker is not None
        return [e for e in tracker.events if isinstance(e, UserUttered)]

    (uttered,) = run(scenario())
    assert uttered.text == "halo"
    assert uttered.message_id == "wamid.agent.1"
    assert uttered.input_channel == "whatsapp"
    assert uttered.metadata["whatsapp"]["profile_name"] == "Pemohon 4406"
    assert uttered.intent.get("name")  # the model parsed it
    assert all(body["to"] == SENDER for body in sent_bodies(graph))
    assert read_receipts(graph) == ["wamid.agent.1"]
