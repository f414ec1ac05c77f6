"""``law-rasa`` (law_rasa/cli.py): Rasa's command line on the pinned Rasa only, started the
same way by ``make run``, the tests and production."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from law_rasa.cli import _own_options
from law_rasa.pinned import (
    REQUIREMENTS,
    RasaVersionError,
    installed_rasa_version,
    pinned_rasa_version,
    require_pinned_rasa,
)

ROOT = Path(__file__).resolve().parents[2]
LAW_RASA = Path(sys.executable).with_name("law-rasa")

# The launcher's main() in a process of its own, with importlib.metadata reporting another
# Rasa release: the check must stop it before Rasa is imported.
OTHER_RASA = """
import importlib.metadata, sys
real = importlib.metadata.version
importlib.metadata.version = lambda name: "3.7.0" if name == "rasa" else real(name)
from law_rasa.cli import main
main(["run", "--enable-api"])
print("rasa imported:", "rasa" in sys.modules)
"""


def test_the_pin_is_the_lock_and_the_installed_release():
    pinned = pinned_rasa_version()
    assert f"rasa=={pinned}" in REQUIREMENTS.read_text().splitlines()
    assert f"rasa=={pinned}" in (ROOT / "requirements.txt").read_text().splitlines()
    assert require_pinned_rasa() == pinned == installed_rasa_version()


def test_another_rasa_release_is_refused(monkeypatch):
    monkeypatch.setattr("importlib.metadata.version", lambda name: "3.7.0")
    expected = f"Rasa 3.7.0 is installed, but LAW is pinned to rasa=={pinned_rasa_version()}"
    with pytest.raises(RasaVersionError, match=re.escape(expected)):
        require_pinned_rasa()


def test_an_unreadable_pin_is_named(tmp_path):
    with pytest.raises(RasaVersionError, match="cannot read the pinned Rasa version"):
        pinned_rasa_version(tmp_path / "requirements.in")
    (tmp_path / "requirements.in").write_text("rasa-sdk==3.6.2\n")
    with pytest.raises(RasaVersionError, match="has no 'rasa==<version>' line"):
        pinned_rasa_version(tmp_path / "requirements.in")


def test_starting_on_another_rasa_stops_with_a_clear_message():
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", OTHER_RASA], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert ("law-rasa: not starting: Rasa 3.7.0 is installed, but LAW is pinned to "
            f"rasa=={pinned_rasa_version()}") in result.stderr
    assert "make setup" in result.stderr
    assert "rasa imported" not in result.stdout  # stopped before anything else ran
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_the_console_script_runs_the_pinned_rasa():
    """The entry point `make setup` installs (pyproject.toml [project.scripts])."""
    assert LAW_RASA.exists(), "run `make setup`: law-rasa is not installed"
    result = subprocess.run([str(LAW_RASA), "--version"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Rasa Version      :         {pinned_rasa_version()}" in result.stdout


@pytest.mark.parametrize("args, log, rest", [
    (["run", "-p", "5005"], None, ["run", "-p", "5005"]),
    (["--warnings-log", "var/w.log", "shell"], Path("var/w.log"), ["shell"]),
    (["--warnings-log=var/w.log", "shell", "-m", "x"], Path("var/w.log"), ["shell", "-m", "x"]),
])
def test_its_own_option_comes_before_rasas_command(args, log, rest):
    assert _own_options(args) == (log, rest)


def test_warnings_go_to_the_log_not_the_terminal(tmp_path):
    probe = f"""
import warnings
from pathlib import Path
from law_rasa.cli import send_warnings_to
send_warnings_to(Path({str(tmp_path / "var" / "warnings.log")!r}))
warnings.warn("old API", DeprecationWarning)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert "DeprecationWarning: old API" in (tmp_path / "var" / "warnings.log").read_text()
