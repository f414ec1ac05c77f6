"""A conversation staff took over stays silent across Rasa's session boundary.

The staff console pauses a conversation while staff answer the applicant themselves (Rasa's
``pause`` event) until they click "Selesai" (``resume``). Rasa starts a new session when the
applicant writes after ``session_expiration_time`` minutes of silence, and its
``SessionStarted`` event resets the tracker, pause included: the bot would answer that
message in the middle of the takeover. Rasa's own ``action_session_start`` is patched here to
carry the pause into the new session (the default action runs in the Rasa process; no
custom action, so no round trip to the action server at every session start).
"""
from __future__ import annotations

from typing import Any

from rasa.core.actions.action import ActionSessionStart
from rasa.shared.core.events import ActionExecuted, ConversationPaused, Event

_ORIGINAL = "_law_original_run"


def apply() -> None:
    """Patch ``ActionSessionStart.run`` (once)."""
    if hasattr(ActionSessionStart, _ORIGINAL):
        return
    original = ActionSessionStart.run
    setattr(ActionSessionStart, _ORIGINAL, original)

    async def run(self: ActionSessionStart, output_channel: Any, nlg: Any, tracker: Any,
                  domain: Any) -> list[Event]:
        events: list[Event] = await original(self, output_channel, nlg, tracker, domain)
        if tracker.is_paused():
            return carry_pause(events)
        return events

    ActionSessionStart.run = run


def carry_pause(events: list[Event]) -> list[Event]:
    """The new session's events with the pause set again before the session's first listen."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], ActionExecuted):
            return [*events[:index], ConversationPaused(), *events[index:]]
    return [*events, ConversationPaused()]
