"""What ``law_rasa/observability.py`` counts, on the real classes it wraps.

The conversation lock's wait with any lock store, custom action calls and failures by name.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from antrean import metrics
from law_rasa import observability

HOLD_S = 0.3


def figure(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_second_message_waits_for_the_conversation_lock_and_the_wait_is_timed() -> None:
    store = observability.timed_lock_store(InMemoryLockStore())
    assert observability.timed_lock_store(store) is store  # wrapped once only
    count = figure("law_lock_wait_seconds_count")
    total = figure("law_lock_wait_seconds_sum")

    async def message(first: bool) -> None:
        async with store.lock("6281200000001", wait_time_in_seconds=0.01):
            if first:
                await asyncio.sleep(HOLD_S)

    async def both() -> None:
        first = asyncio.create_task(message(True))
        await asyncio.sleep(0.05)  # the first holds the lock
        await asyncio.gather(first, message(False))

    asyncio.run(both())
    assert figure("law_lock_wait_seconds_count") - count == 2
    waited = figure("law_lock_wait_seconds_sum") - total
    assert HOLD_S - 0.1 < waited < HOLD_S + 2  # the second waited about the first's hold


class Works(Action):
    def name(self) -> str:
        return "action_works"

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list:
        return []


class Breaks(Action):
    def name(self) -> str:
        return "action_breaks"

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list:
        raise OverflowError("a bug")


@pytest.fixture
def executor(monkeypatch: pytest.MonkeyPatch) -> ActionExecutor:
    monkeypatch.setattr(ActionExecutor, "run", ActionExecutor.run)  # restored afterwards
    observability.count_action_calls()
    executor = ActionExecutor()
    executor.register_action(Works())
    executor.register_action(Breaks())
    return executor


def call(name: str) -> dict[str, Any]:
    return {"next_action": name, "sender_id": "6281200000002", "domain": {},
            "tracker": {"sender_id": "6281200000002", "slots": {}, "latest_message": {},
                        "events": [], "paused": False, "followup_action": None,
                        "active_loop": {}, "latest_action_name": None}}


def test_action_calls_and_failures_are_counted_by_name(executor: ActionExecutor) -> None:
    calls = {name: figure("law_action_calls_total", action=name)
             for name in ("action_works", "action_breaks")}
    failures = figure("law_action_failures_total", action="action_breaks")
    asyncio.run(executor.run(call("action_works")))
    with pytest.raises(OverflowError):
        asyncio.run(executor.run(call("action_breaks")))
    assert figure("law_action_calls_total", action="action_works") - calls["action_works"] == 1
    assert figure("law_action_calls_total", action="action_breaks") - calls["action_breaks"] == 1
    assert figure("law_action_failures_total", action="action_breaks") - failures == 1
    assert figure("law_action_failures_total", action="action_works") == 0


def test_unknown_action_names_make_no_series(executor: ActionExecutor) -> None:
    with pytest.raises(Exception):  # noqa: B017 - rasa_sdk's ActionNotFoundException
        asyncio.run(executor.run(call("action_made_up_by_a_caller")))
    for name in ("law_action_calls_total", "law_action_failures_total"):
        assert metrics.REGISTRY.get_sample_value(
            name, {"action": "action_made_up_by_a_caller"}) is None
