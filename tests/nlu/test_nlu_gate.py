"""NLU quality gate: intent macro-F1 on the held-out test set (tests/nlu/test_nlu.yml)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.servers import ROOT, find_model

MACRO_F1_GATE = 0.93
pytestmark = pytest.mark.slow


def test_intent_macro_f1_meets_the_gate(tmp_path, capsys):
    model = find_model()
    assert model, "no trained model: run `make test` or `make train`"
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    rasa = str(Path(sys.executable).with_name("law-rasa"))
    result = subprocess.run(
        [rasa, "test", "nlu", "-m", str(model), "--nlu", "tests/nlu/test_nlu.yml",
         "--out", str(tmp_path), "--no-plot"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    per_intent = {k: v["f1-score"] for k, v in report.items()
                  if isinstance(v, dict) and "f1-score" in v and k not in (
                      "macro avg", "weighted avg", "micro avg", "accuracy")}
    macro = report["macro avg"]["f1-score"]
    lines = [f"  {name:22s} {f1:.3f}" for name, f1 in sorted(per_intent.items())]
    with capsys.disabled():
        print(f"\n[nlu] intent macro-F1 {macro:.3f} (gate {MACRO_F1_GATE})\n" + "\n".join(lines))
    assert macro >= MACRO_F1_GATE, f"macro-F1 {macro:.3f} < {MACRO_F1_GATE}\n" + "\n".join(lines)
