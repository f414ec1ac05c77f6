"""LAW's changes to Rasa 3.6's internals, each with its reason; applied by ``law-rasa``.

1. ``validate_action_answers_with_one_validator``: the action-server answer schema, checked
once. Rasa checks every answer of the action server with ``jsonschema.validate(result,
schema)`` (``RemoteAction._validate_action_result``). That call first validates the schema
itself against the JSON Schema meta-schema and builds a new validator, on every custom action
call: profiled at 45 % of a Rasa process's CPU at 20 messages/second (docs/performance.md).
The schema is a constant, so here it is checked once and its validator reused; the answer is
validated exactly as before and an invalid one raises the same ``ValidationError``.

2. ``leave_out_jax``: TensorFlow (which Rasa imports whatever the pipeline) imports JAX if it
is installed, only for converting models to TensorFlow Lite, and does without it when the
import fails. Making ``import jax`` fail saves about 100 MB of resident memory and half a
second of start-up per process (docs/performance.md).

3. ``keep_one_session_per_endpoint``: one HTTP connection pool for each endpoint (the action
server) while a Rasa server runs. Rasa 3.6 opens a new ``aiohttp.ClientSession`` for every
request it sends to an endpoint, so every custom action call connects anew and the action
server accepts and closes a connection each time. Here, from the server's start to its stop
(Sanic's ``before_server_start`` / ``after_server_stop``, registered through
``rasa.core.run.configure_app``), each endpoint keeps one session with the same headers,
authentication and timeout; the server's stop closes them. Idle connections are dropped
after 2 s, before the action server (Sanic: 5 s) would close them under a request in flight.
Outside a server (``rasa test``, ``rasa train``…) Rasa's own behaviour is unchanged.
Measured at 60 messages/second: the action server's CPU per message 1.55 → 1.25 ms, Rasa's
unchanged (docs/performance.md).

4. ``law_rasa.failures``: one error boundary — a failing custom action, a failing or hanging
action server, answer the applicant with a short apology and log no personal data.

5. ``law_rasa.observability``: ``GET /metrics`` (Prometheus) and ``GET /ready`` (the stores
answer) on Rasa and the action server, and what they count (lock waits, fallbacks, actions).

Each function replaces members that are private or undocumented in Rasa 3.6.21; the launcher
(``law_rasa.cli``) applies them only after ``law_rasa.pinned`` found that release installed.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

# Seconds an idle connection to an endpoint is kept (below Sanic's keep-alive of 5 s).
IDLE_CONNECTION_S = 2.0
# Attribute of an EndpointConfig holding its kept session: (event loop, session).
_KEPT = "_law_session"
# Event loops of the running servers → the sessions kept there, closed when it stops.
_SERVING: dict[asyncio.AbstractEventLoop, list[Any]] = {}


def apply_all() -> None:
    """Every patch, in the order the launcher needs them (JAX before TensorFlow loads)."""
    from law_rasa import failures, observability, paused_sessions

    leave_out_jax()
    validate_action_answers_with_one_validator()
    keep_one_session_per_endpoint()
    observability.apply()  # before failures: it counts the failures that become the apology
    failures.apply()
    paused_sessions.apply()  # a conversation staff took over stays silent in a new session


def leave_out_jax() -> None:
    """Make ``import jax`` raise ImportError (TensorFlow then leaves it out)."""
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]


def validate_action_answers_with_one_validator() -> None:
    """Make ``RemoteAction`` validate answers with a validator built once."""
    from jsonschema.exceptions import ValidationError, best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        # The same message as Rasa's own method.
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


class _Borrowed:
    """``async with`` over a kept session: entering lends it, leaving keeps it open."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def keep_one_session_per_endpoint() -> None:
    """Make ``EndpointConfig.session()`` lend one session per endpoint while a server runs.

    Every Rasa server keeps those sessions from its start and closes them at its stop.
    """
    import aiohttp
    import rasa.core.run
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    rasa_session = EndpointConfig.session

    def session(self: EndpointConfig) -> Any:
        loop = asyncio.get_running_loop()
        if loop not in _SERVING:
            return rasa_session(self)  # no server here to close a kept session: Rasa's way
        kept = getattr(self, _KEPT, None)
        if kept is None or kept[0] is not loop or kept[1].closed:
            # What Rasa's own EndpointConfig.session() builds, plus the idle limit.
            auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                    if self.basic_auth else None)
            fresh = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_S),
            )
            kept = (loop, fresh)
            setattr(self, _KEPT, kept)
            _SERVING[loop].append(fresh)
        return _Borrowed(kept[1])

    EndpointConfig.session = session
    rasa.core.run.configure_app = _with_kept_sessions(rasa.core.run.configure_app)


def _with_kept_sessions(configure_app: Callable[..., Any]) -> Callable[..., Any]:
    """Rasa's ``configure_app`` whose server keeps endpoint sessions while it runs."""

    def configure(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_listener(_start_keeping, "before_server_start")
        app.register_listener(_close_kept, "after_server_stop")
        return app

    return configure


async def _start_keeping(*_: Any) -> None:
    start_keeping_sessions()


async def _close_kept(*_: Any) -> None:
    await close_kept_sessions()


def start_keeping_sessions() -> None:
    """From now on, endpoints on the running loop keep their sessions."""
    _SERVING.setdefault(asyncio.get_running_loop(), [])


async def close_kept_sessions() -> int:
    """Close the sessions kept on the running loop and stop keeping; how many were open."""
    sessions = _SERVING.pop(asyncio.get_running_loop(), [])
    open_ = [s for s in sessions if not s.closed]
    for session in open_:
        await session.close()
    return len(open_)
