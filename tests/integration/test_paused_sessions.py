"""A conversation staff took over (Rasa's pause) stays silent when the applicant writes after
the session expired (law_rasa/paused_sessions.py): Rasa's new session would otherwise reset
the pause and the bot would answer in the middle of the takeover. Runs Rasa's own agent and
message processor in this process on the trained model, with a session that expires after
a second."""
from __future__ import annotations

import asyncio
import time

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import SessionConfig
from rasa.shared.core.events import ConversationPaused, ConversationResumed

from law_rasa import paused_sessions
from tests.e2e.servers import find_model

pytestmark = pytest.mark.slow

SENDER = "6281277770001"


@pytest.fixture(scope="module")
def agent() -> Agent:
    model = find_model()
    if model is None:
        pytest.fail("no trained model: run `make test` (it trains one) or `make train`")
    paused_sessions.apply()
    loaded = Agent.load(str(model))
    # Sessions of about a second, so that the test can let one expire.
    loaded.domain.session_config = SessionConfig(session_expiration_time=1 / 60,
                                                 carry_over_slots=True)
    loaded.processor.domain = loaded.domain
    return loaded


async def say(agent: Agent, text: str) -> list[dict]:
    channel = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, channel, SENDER))
    return channel.messages


async def add(agent: Agent, event) -> None:
    tracker = await agent.tracker_store.get_or_create_tracker(SENDER)
    tracker.update(event)
    await agent.tracker_store.save(tracker)


def test_a_paused_conversation_stays_silent_in_a_new_session_until_resumed(agent):
    async def scenario() -> None:
        assert await say(agent, "halo"), "the bot did not answer before the takeover"
        await add(agent, ConversationPaused())
        assert await say(agent, "halo, masih ada orang?") == []  # same session: silent
        time.sleep(1.5)  # the session expires
        assert await say(agent, "halo lagi") == []  # a new session, still taken over
        tracker = await agent.tracker_store.retrieve(SENDER)
        assert tracker.is_paused()
        full = await agent.tracker_store.retrieve_full_tracker(SENDER)
        starts = [e for e in full.events if e.type_name == "session_started"]
        assert len(starts) >= 2, "no new session was started: the test proves nothing"
        await add(agent, ConversationResumed())
        assert await say(agent, "halo"), "the bot did not answer after Selesai"

    asyncio.run(scenario())


def test_a_conversation_that_is_not_paused_is_answered_in_a_new_session(agent):
    async def scenario() -> None:
        global SENDER
        SENDER = "6281277770002"
        assert await say(agent, "halo")
        time.sleep(1.5)
        assert await say(agent, "halo"), "a new session without a takeover must be answered"

    asyncio.run(scenario())
