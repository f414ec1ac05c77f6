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


FORM_DOMAIN = {"forms": {"booking_form": {"required_slots": [
    "service_type", "passport_type", "applicant_count", "booking_date", "booking_time",
    "person_name", "birth_date", "nik", "confirmed"]}}}


def run_form(text: str, asked: str | None, slots: dict[str, Any] | None = None,
             intent: str = "inform", entities: list[dict[str, Any]] | None = None,
             form: Any = None) -> tuple[dict[str, Any], list[dict]]:
    """The booking form's validator on one applicant message, as Rasa calls it.

    Returns the slots it sets (name -> value) and the messages it sends.
    """
    from actions.booking_form import ValidateBookingForm

    tracker = make_tracker(slots={**(slots or {}), "requested_slot": asked}, text=text,
                           intent=intent, entities=entities, active_loop="booking_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run((form or ValidateBookingForm()).run(dispatcher, tracker, FORM_DOMAIN))
    values = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    values.pop("requested_slot", None)
    return values, dispatcher.messages
