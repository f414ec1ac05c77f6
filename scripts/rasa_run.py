#!/usr/bin/env python
"""Rasa's command line with one fix to Rasa 3.6 that matters under load; same arguments.

Rasa checks every answer of the action server with ``jsonschema.validate(result, schema)``
(``RemoteAction._validate_action_result``). That call first validates the schema itself
against the JSON Schema meta-schema and builds a new validator, on every custom action call:
profiled at 45 % of a Rasa process's CPU at 20 messages/second (docs/performance.md). The
schema is a constant, so here it is checked once and its validator reused; the answer is
validated exactly as before and an invalid one raises the same ``ValidationError``.

scripts/prod.py starts its Rasa processes through this script; ``make run`` and the tests use
plain ``rasa``. Usage: ``.venv/bin/python scripts/rasa_run.py run -m models/… …``
"""
from __future__ import annotations

import sys
from typing import Any


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


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
