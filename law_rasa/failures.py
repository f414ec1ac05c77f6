"""One error boundary: a failing custom action gives the applicant a short apology.

Never silence, never a wrong "not understood", and never personal data in a log.

Two sides, both applied by ``law-rasa`` (SPEC "When something fails"):

1. ``answer_failing_actions_on_the_action_server`` (rasa_sdk): an exception inside an action
   (a store that is down or hangs past its statement timeout, a bug) used to become an HTTP
   500 whose body held the whole tracker — names, NIKs, dates of birth — which Rasa then
   logged at ERROR. Here the action answers instead, with ``utter_error_apology``, the
   conversation is flagged for staff where the store still answers, and the log names only
   the action and the exception's type.

2. ``answer_when_the_action_server_fails`` (Rasa): when the action server is down, answers
   with an error, or takes longer than ``ACTION_DEADLINE_S`` (Rasa's own limit is five
   minutes), Rasa used to log the error body and send nothing. Here the applicant gets the
   same apology within the deadline, once per message, and the log again names only the
   action and the kind of failure.

A form's validation that fails also sets ``skip_next_question``, so that the form does not
ask its question again on top of the apology (nor reject the turn, which would send "not
understood").
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

APOLOGY = "utter_error_apology"
# Seconds Rasa waits for a custom action before it apologises (SPEC: an answer within 10 s).
ACTION_DEADLINE_S = 8.0
# Seconds the action server tries to flag a failed conversation for staff.
FLAG_DEADLINE_S = 2.0
# Messages already apologised for (sender, message id), so one message gets one apology.
_APOLOGISED: OrderedDict[tuple[str, str], None] = OrderedDict()
_REMEMBERED = 10_000

log = logging.getLogger("law_rasa.failures")


def apply() -> None:
    """Both sides of the boundary (each only touches its own library)."""
    answer_failing_actions_on_the_action_server()
    warm_up_the_action_server()
    answer_when_the_action_server_fails()


def warm_up_the_action_server() -> None:
    """Build the booking service (and upgrade the store) as the action server starts.

    Without it the first applicant of a fresh process waited for the schema upgrade, which on
    a busy machine can outlast ``ACTION_DEADLINE_S``. Built in a worker thread after the
    server started; a store that does not answer is only logged (the actions then apologise
    and try again on their next use).
    """
    import rasa_sdk.endpoint

    create_app = rasa_sdk.endpoint.create_app

    def create_app_and_warm_up(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        async def warm_up(*_: Any) -> None:
            asyncio.get_running_loop().create_task(_build_service())

        app.register_listener(warm_up, "after_server_start")
        return app

    rasa_sdk.endpoint.create_app = create_app_and_warm_up


async def _build_service() -> None:
    try:
        from actions.runtime import get_service

        await asyncio.to_thread(get_service)
    except Exception as exc:  # noqa: BLE001 - the store may be down: the actions apologise
        log.warning("the booking service could not be built at start-up (%s)",
                    type(exc).__name__)


def _events_after_failure(action_name: str) -> list[dict[str, Any]]:
    """The events that follow the apology.

    The assistant waits for the applicant: nothing else is predicted (a rule missing the
    failed action's slots would answer "not understood"). A failed form validation instead
    keeps the form from asking (or rejecting) on top of the apology.
    """
    if action_name.startswith("validate_"):
        return [{"event": "slot", "name": "skip_next_question", "value": True,
                 "timestamp": None}]
    return [{"event": "followup", "name": "action_listen", "timestamp": None}]


def answer_failing_actions_on_the_action_server() -> None:
    """Make rasa_sdk's executor answer a failing action with the apology."""
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    run = ActionExecutor.run

    async def run_or_apologise(self: ActionExecutor, action_call: dict[str, Any]) -> Any:
        try:
            return await run(self, action_call)
        except (ActionExecutionRejection, ActionNotFoundException):
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: every failure is answered
            name = str(action_call.get("next_action") or "?")
            log.error("action %s failed (%s); the applicant gets the apology", name,
                      type(exc).__name__)
            await _flag_for_staff(str(action_call.get("sender_id") or ""))
            return {"events": _events_after_failure(name),
                    "responses": [{"response": APOLOGY}]}

    ActionExecutor.run = run_or_apologise


async def _flag_for_staff(sender: str) -> None:
    """Best effort: the conversation goes to the staff's hand-off list."""
    if not sender:
        return
    try:
        from actions.runtime import call, get_service

        service = get_service()
        await asyncio.wait_for(call(service.flag_for_human, sender, "error", None),
                               FLAG_DEADLINE_S)
    except Exception as exc:  # noqa: BLE001 - the store may be what failed
        log.warning("could not flag the failed conversation for staff (%s)",
                    type(exc).__name__)


def answer_when_the_action_server_fails() -> None:
    """Make Rasa's ``RemoteAction.run`` apologise when the action server fails or hangs."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.core.channels.channel import OutputChannel
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import BotUttered, Event, FollowupAction, SlotSet

    run = RemoteAction.run

    async def run_or_apologise(self: RemoteAction, output_channel: OutputChannel, nlg: Any,
                               tracker: Any, domain: Any) -> list[Event]:
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain),
                                          ACTION_DEADLINE_S)
        except ActionExecutionRejection:
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: every failure is answered
            kind = "timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            log.error("custom action %s failed (%s); the applicant gets the apology",
                      self.name(), kind)
            events: list[Event] = []
            if self.name().startswith("validate_"):
                events.append(SlotSet("skip_next_question", True))
            else:
                events.append(FollowupAction(ACTION_LISTEN_NAME))
            if _first_apology(tracker):
                message = await nlg.generate(APOLOGY, tracker, output_channel.name())
                if message:
                    events.insert(0, BotUttered(message.get("text"), dict(message),
                                                {"utter_action": APOLOGY}))
            return events

    RemoteAction.run = run_or_apologise


def _first_apology(tracker: Any) -> bool:
    """Whether this message has not been apologised for yet (one apology per message)."""
    latest = getattr(tracker, "latest_message", None)
    key = (str(getattr(tracker, "sender_id", "")),
           str(getattr(latest, "message_id", None) or id(latest)))
    if key in _APOLOGISED:
        return False
    _APOLOGISED[key] = None
    while len(_APOLOGISED) > _REMEMBERED:
        _APOLOGISED.popitem(last=False)
    return True
