#!/usr/bin/env python
"""Rasa's command line with fixes to Rasa 3.6 that matter under load; same arguments.

1. The action-server answer schema, checked once.

Rasa checks every answer of the action server with ``jsonschema.validate(result, schema)``
(``RemoteAction._validate_action_result``). That call first validates the schema itself
against the JSON Schema meta-schema and builds a new validator, on every custom action call:
profiled at 45 % of a Rasa process's CPU at 20 messages/second (docs/performance.md). The
schema is a constant, so here it is checked once and its validator reused; the answer is
validated exactly as before and an invalid one raises the same ``ValidationError``.

2. No JAX. TensorFlow (which Rasa imports whatever the pipeline) imports JAX if it is
installed, only for converting models to TensorFlow Lite, and does without it when the
import fails. Making ``import jax`` fail saves about 100 MB of resident memory and half a
second of start-up per process (docs/performance.md).

3. One HTTP connection pool for each endpoint (the action server). Rasa 3.6 opens a new
``aiohttp.ClientSession`` for every request it sends to an endpoint, so every custom action
call connects anew and the action server accepts and closes a connection each time. Here each
endpoint keeps one session, with the same headers, authentication and timeout, for the life
of the process; idle connections are dropped after 2 s, before the action server (Sanic: 5 s)
would close them under a request in flight. Measured at 60 messages/second: the action
server's CPU per message 1.55 → 1.25 ms, Rasa's unchanged (docs/performance.md).

scripts/prod.py starts its Rasa processes through this script; ``make run`` and the tests use
plain ``rasa``. Usage: ``.venv/bin/python scripts/rasa_run.py run -m models/… …``
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any

# Seconds an idle connection to an endpoint is kept (below Sanic's keep-alive of 5 s).
IDLE_CONNECTION_S = 2.0


def install() -> None:
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

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def without_jax() -> None:
    """Make ``import jax`` raise ImportError (TensorFlow then leaves it out)."""
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]


class _Borrowed:
    """``async with`` over a shared session: entering lends it, leaving keeps it open."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def reuse_endpoint_sessions() -> None:
    """Make ``EndpointConfig.session()`` lend one long-lived session per endpoint."""
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    def session(self: EndpointConfig) -> _Borrowed:
        loop = asyncio.get_running_loop()
        kept = getattr(self, "_law_session", None)
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
            self._law_session = kept
        return _Borrowed(kept[1])

    EndpointConfig.session = session  # type: ignore[method-assign]


def main() -> None:
    without_jax()
    install()
    reuse_endpoint_sessions()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
