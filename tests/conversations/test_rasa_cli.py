"""Rasa's own checks: the training data validates, and the conversation tests pass
(``rasa test core --fail-on-prediction-errors``) on the trained model."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.e2e.servers import LAW_RASA, ROOT, find_model

pytestmark = pytest.mark.slow


def _rasa(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([LAW_RASA, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


UNUSED = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
WARNING = re.compile(r"UserWarning: (.*)")


def _responses_sent_by_code() -> set[str]:
    """Responses the custom actions send by name, or forms ask with (utter_ask_<slot>)."""
    source = "\n".join(p.read_text() for folder in ("actions", "law_rasa")
                       for p in (ROOT / folder).glob("*.py"))
    literal = set(re.findall(r"\"(utter_\w+)\"", source))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    asked = {f"utter_ask_{slot}" for form in domain.get("forms", {}).values()
             for slot in form.get("required_slots", [])}
    return literal | asked | refusal_responses()


def refusal_responses() -> set[str]:
    """The response names the presenters choose for every refusal kind and variant."""
    import datetime as dt

    from actions.presenters import refusal_reply
    from antrean import outcomes as o
    from antrean.config import load_config

    config, day, time = load_config(), dt.date(2026, 12, 7), dt.time(9)
    samples = [
        *(o.DayClosed(day, reason) for reason in o.ClosureReason),
        o.DateInPast(day, day), o.OutsideWindow(day, day, day), o.NotASlot(time, (time,)),
        o.SlotFull(day, time, 0), o.NumberHasBooking("ABCD2345", day), o.NikHasBooking("*1", 0),
        *(o.InvalidNik(0, p) for p in ("format", "birth_date")), o.NikBirthDateMismatch(0),
        o.DuplicateNik(0), *(o.InvalidApplicant(0, p) for p in ("name", "birth_date")),
        o.TooManyApplicants(6, 5), o.NoApplicants(), o.UnknownService("service_type", "x"),
        *(o.RescheduleNotAllowed(p, 1, day) for p in o.RescheduleProblem),
        o.CancelTooLate(dt.datetime(2026, 12, 7, 9)), o.BookingNotFound(),
    ]
    kinds = {type(s) for s in samples}
    missing = {c.__name__ for c in o.Refusal.__subclasses__()} - {k.__name__ for k in kinds}
    assert not missing, f"refusal kinds without a sample here: {missing}"
    return {refusal_reply(config, s).response for s in samples}


def test_every_refusal_has_a_response():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    missing = refusal_responses() - set(domain["responses"])
    assert not missing


def test_data_validates(tmp_path):
    """``rasa data validate`` passes with no warning except responses sent by actions."""
    result = _rasa("data", "validate", tmp=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    by_code = _responses_sent_by_code()
    unexpected = [
        w for w in WARNING.findall(output)
        if not (UNUSED.search(w) and UNUSED.search(w).group(1) in by_code)
    ]
    assert not unexpected, "\n".join(unexpected)


def test_conversation_tests_pass(tmp_path):
    model = find_model()
    assert model, "no trained model: run `make test` or `make train`"
    out = tmp_path / "results"
    result = _rasa("test", "core", "-m", str(model), "--stories", "tests/conversations",
                   "--fail-on-prediction-errors", "--out", str(out), tmp=tmp_path)
    failed = (out / "failed_test_stories.yml")
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + detail
