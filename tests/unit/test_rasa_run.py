"""scripts/rasa_run.py: Rasa validates action-server answers as before, with a cached validator."""
from __future__ import annotations

import importlib.util

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from tests.e2e.servers import ROOT


@pytest.fixture
def patched(monkeypatch):
    original = RemoteAction._validate_action_result
    spec = importlib.util.spec_from_file_location("rasa_run", ROOT / "scripts" / "rasa_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    yield RemoteAction("action_x", None)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)


VALID = {"events": [{"event": "slot", "name": "a", "value": 1}],
         "responses": [{"response": "utter_x"}]}
INVALID = [{"events": "not a list"}, {"events": [{"event": "slot", "name": 3}]},
           {"events": [{"event": "no_such_event"}]}]


def test_a_valid_answer_passes(patched):
    assert patched._validate_action_result(VALID) is True
    assert RemoteAction("action_x", None)._validate_action_result({}) is True


@pytest.mark.parametrize("answer", INVALID)
def test_an_invalid_answer_raises_as_rasa_does(patched, answer):
    with pytest.raises(ValidationError) as raised:
        patched._validate_action_result(answer)
    assert "Failed to validate Action server response" in raised.value.message


@pytest.mark.parametrize("answer", [VALID, {}, *INVALID])
def test_same_verdict_as_rasa(patched, answer):
    from jsonschema import validate

    try:
        validate(answer, RemoteAction.action_response_format_spec())
        expected = True
    except ValidationError:
        expected = False
    try:
        got = patched._validate_action_result(answer)
    except ValidationError:
        got = False
    assert got == expected
