"""Fixtures for running custom actions directly on hand-built trackers."""
from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from tests.conftest import NOW


@pytest.fixture
def action_env(monkeypatch, tmp_path):
    """Actions on a fresh SQLite store with the clock fixed at ``NOW``."""
    monkeypatch.setenv("LAW_DATABASE_URL", f"sqlite:///{tmp_path / 'law.db'}")
    monkeypatch.setenv("LAW_FIXED_NOW", NOW.isoformat())
    runtime.reset_service()
    yield runtime.get_service()
    runtime.reset_service()


def make_tracker(sender: str = "6281200000001", slots: dict[str, Any] | None = None,
                 text: str = "", intent: str = "inform",
                 entities: list[dict[str, Any]] | None = None,
                 active_loop: str | None = None) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0},
                        "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run_action(action: Any, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    """Run an action's ``run``; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker, {})
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result, dispatcher.messages


def run_validator(validator: Any, slot: str, value: Any, tracker: Tracker) -> tuple[dict, list]:
    dispatcher = CollectingDispatcher()
    result = getattr(validator, f"validate_{slot}")(value, dispatcher, tracker, {})
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result, dispatcher.messages


def responses(messages: list[dict]) -> list[str]:
    return [m.get("response") for m in messages]
