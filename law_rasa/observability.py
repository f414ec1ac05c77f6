"""Metrics and readiness on every Rasa process and action server; applied by ``law-rasa``.

Routes, added where each Sanic app is built (as ``law_rasa.patches`` and
``law_rasa.failures`` already change those places):

- Rasa (``rasa.core.run.configure_app``) and the action server
  (``rasa_sdk.endpoint.create_app``) serve ``GET /metrics`` (Prometheus' text format, the
  registry of ``antrean.metrics``) and ``GET /ready`` (``law_rasa.readiness``: 200, or 503 with
  a short JSON reason). Rasa's ``GET /`` and the action server's ``GET /health`` stay the
  liveness checks. A scrape of a Rasa process also runs the readiness checks and counts the
  shared backlogs (inbox, notice outbox, owner notices), each bounded by the checks' timeout.

What is recorded here (the WhatsApp channel records its own, ``addons/whatsapp/
instrumentation.py``):

- ``Agent._create_lock_store``: the lock store the agent gets, whichever class it is, has its
  ``lock()`` timed: the wait until the conversation's lock is held (``law_lock_wait_seconds``),
  and locks that could not be taken (``law_lock_errors_total``);
- ``Agent.handle_message``: messages, replies and latency of the channels other than WhatsApp
  (REST: the replies it returns);
- ``MessageProcessor``: messages classified ``nlu_fallback`` and "not understood" replies
  (by the response name in the bot message's metadata);
- ``ActionExecutor.run`` (rasa_sdk): calls, failures and duration by action name; applied
  before ``law_rasa.failures`` wraps it, so failures are seen before they become the apology.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from antrean import metrics
from law_rasa.readiness import Readiness

METRICS_PATH = "/metrics"
READY_PATH = "/ready"
WHATSAPP = "whatsapp"  # recorded by the channel itself
# Channel names a label may take; anything else (RestInput takes one from the request body)
# is counted as "other", so a caller cannot create new series.
KNOWN_CHANNELS = frozenset({"rest", "callback", "socketio", "cmdline", "facebook", "slack",
                            "telegram", "twilio", "botframework", "rocketchat", "mattermost",
                            "webexteams", "hangouts", "rasa", "console", "staff"})
NOT_UNDERSTOOD = frozenset({"utter_default", "utter_fallback_menu"})
NLU_FALLBACK = "nlu_fallback"
# Attribute marking a lock store whose lock() is timed already.
_TIMED = "_law_lock_timed"


def apply() -> None:
    """Every change of this module (before ``law_rasa.failures.apply``)."""
    time_lock_waits()
    count_other_channels()
    count_fallbacks()
    count_action_calls()
    serve_on_rasa()
    serve_on_the_action_server()


# --- Rasa --------------------------------------------------------------------------------------


def time_lock_waits() -> None:
    """Make every agent's lock store time its ``lock()``."""
    from rasa.core.agent import Agent

    create = Agent._create_lock_store

    def create_timed(store: Any) -> Any:
        return timed_lock_store(create(store))

    Agent._create_lock_store = staticmethod(create_timed)


def timed_lock_store(store: Any) -> Any:
    """``store`` with its ``lock()`` timed (once, whatever its class)."""
    if getattr(store, _TIMED, False):
        return store
    lock = store.lock

    @asynccontextmanager
    async def timed_lock(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        started = time.perf_counter()
        held = False
        try:
            async with lock(*args, **kwargs) as ticket:
                held = True
                metrics.LOCK_WAIT.observe(time.perf_counter() - started)
                yield ticket
        except Exception:  # not CancelledError: a stop while waiting is no lock error
            if not held:
                metrics.LOCK_ERRORS.inc()
            raise

    store.lock = timed_lock
    setattr(store, _TIMED, True)
    return store


def count_other_channels() -> None:
    """Messages, replies and latency of every channel but WhatsApp, where Rasa handles them."""
    from rasa.core.agent import Agent

    handle_message = Agent.handle_message

    async def handle_and_count(self: Agent, message: Any) -> Any:
        channel = message.input_channel or "other"
        if channel == WHATSAPP:
            return await handle_message(self, message)
        if channel not in KNOWN_CHANNELS:
            channel = "other"
        metrics.MESSAGES_RECEIVED.labels(channel).inc()
        started = time.perf_counter()
        replies = await handle_message(self, message)
        metrics.REPLY_LATENCY.labels(channel).observe(time.perf_counter() - started)
        if isinstance(replies, list):
            metrics.REPLIES_SENT.labels(channel).inc(len(replies))
        return replies

    Agent.handle_message = handle_and_count


def count_fallbacks() -> None:
    """Count ``nlu_fallback`` messages and "not understood" replies."""
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import BotUttered

    handle = MessageProcessor._handle_message_with_tracker
    send = MessageProcessor._send_bot_messages

    async def handle_and_count(self: MessageProcessor, message: Any, tracker: Any) -> None:
        await handle(self, message, tracker)
        latest = tracker.latest_message
        if latest is not None and (latest.intent or {}).get("name") == NLU_FALLBACK:
            metrics.NLU_FALLBACKS.inc()

    async def send_and_count(events: list[Any], tracker: Any, output_channel: Any) -> None:
        for event in events:
            if isinstance(event, BotUttered):
                name = (event.metadata or {}).get("utter_action")
                if name in NOT_UNDERSTOOD:
                    metrics.NOT_UNDERSTOOD.labels(name).inc()
        await send(events, tracker, output_channel)

    MessageProcessor._handle_message_with_tracker = handle_and_count
    MessageProcessor._send_bot_messages = staticmethod(send_and_count)


def serve_on_rasa() -> None:
    """Add ``/metrics`` and ``/ready`` to the Sanic app Rasa's ``configure_app`` builds."""
    import rasa.core.run

    configure_app = rasa.core.run.configure_app

    def configure(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        add_routes(app, "rasa", _agent_of)
        return app

    rasa.core.run.configure_app = configure


def _agent_of(request: Any) -> Any:
    """The request's Rasa agent; one without a model while Rasa has not set it yet."""
    return getattr(request.app.ctx, "agent", None) or _NO_AGENT


class _NoAgent:
    """Stands for the agent before Rasa loads one: not ready, no stores to check."""

    tracker_store = None
    lock_store = None

    @staticmethod
    def is_ready() -> bool:
        return False


_NO_AGENT = _NoAgent()


# --- the action server -------------------------------------------------------------------------


def count_action_calls() -> None:
    """Count rasa_sdk's action calls, failures and durations by action name."""
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection

    run = ActionExecutor.run

    async def run_and_count(self: ActionExecutor, action_call: dict[str, Any]) -> Any:
        name = str(action_call.get("next_action") or "")
        if name not in self.actions:
            return await run(self, action_call)  # not found: no series for unknown names
        metrics.ACTION_CALLS.labels(name).inc()
        started = time.perf_counter()
        try:
            return await run(self, action_call)
        except ActionExecutionRejection:
            raise  # a form's validation rejecting the turn is not a failure
        except Exception:
            metrics.ACTION_FAILURES.labels(name).inc()
            raise
        finally:
            metrics.ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)

    ActionExecutor.run = run_and_count


def serve_on_the_action_server() -> None:
    """Add ``/metrics`` and ``/ready`` to the Sanic app of rasa_sdk's ``create_app``."""
    import rasa_sdk.endpoint

    create_app = rasa_sdk.endpoint.create_app

    def create_app_with_routes(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        add_routes(app, "actions", lambda _request: None)
        return app

    rasa_sdk.endpoint.create_app = create_app_with_routes


# --- the routes --------------------------------------------------------------------------------


def add_routes(app: Any, role: str, agent_of: Callable[[Any], Any]) -> None:
    """``GET /metrics`` and ``GET /ready`` on a Sanic app.

    Args:
        app: The Sanic app.
        role: ``rasa`` or ``actions`` (the ``law_process_info`` label; a Rasa scrape also
            counts the backlogs).
        agent_of: The request's Rasa agent, ``None`` on an action server.
    """
    from sanic import response

    metrics.set_role(role)
    readiness = Readiness()

    async def serve_metrics(request: Any) -> Any:
        await readiness.check(agent_of(request), with_backlogs=role == "rasa")
        body, content_type = metrics.render()
        return response.raw(body, content_type=content_type)

    async def serve_ready(request: Any) -> Any:
        ready, body = await readiness.check(agent_of(request))
        return response.json(body, status=200 if ready else 503)

    async def close_readiness(*_: Any) -> None:
        readiness.close()

    app.add_route(serve_metrics, METRICS_PATH, methods=["GET"], name="law_metrics")
    app.add_route(serve_ready, READY_PATH, methods=["GET"], name="law_ready")
    app.register_listener(close_readiness, "after_server_stop")
