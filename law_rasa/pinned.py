"""The Rasa version LAW is pinned to, and the check that the installed one is it.

LAW changes private members of Rasa (``law_rasa.patches``, ``addons/tracker_store.py``);
they are known to be right for one release only. The pin is the ``rasa==…`` line of
``requirements.in`` (the lock ``requirements.txt`` is generated from it); the installed
version is what ``importlib.metadata`` reports.
"""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT_ROOT / "requirements.in"
_PIN = re.compile(r"^\s*rasa\s*==\s*([0-9][^\s;#]*)", re.IGNORECASE | re.MULTILINE)


class RasaVersionError(RuntimeError):
    """The installed Rasa is not the pinned one (or the pin cannot be read)."""


def pinned_rasa_version(requirements: Path = REQUIREMENTS) -> str:
    """The version of the ``rasa==…`` line of ``requirements.in``."""
    try:
        match = _PIN.search(requirements.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RasaVersionError(f"cannot read the pinned Rasa version from {requirements}: "
                               f"{exc.strerror}") from None
    if match is None:
        raise RasaVersionError(f"{requirements} has no 'rasa==<version>' line")
    return match.group(1)


def installed_rasa_version() -> str | None:
    """The installed Rasa's version, ``None`` when Rasa is not installed."""
    try:
        return importlib.metadata.version("rasa")
    except importlib.metadata.PackageNotFoundError:
        return None


def require_pinned_rasa() -> str:
    """The pinned version, after checking that it is the one installed.

    Raises:
        RasaVersionError: Another Rasa (or none) is installed; the message says what to do.
    """
    pinned, installed = pinned_rasa_version(), installed_rasa_version()
    if installed != pinned:
        found = f"Rasa {installed} is installed" if installed else "Rasa is not installed"
        raise RasaVersionError(
            f"{found}, but LAW is pinned to rasa=={pinned} ({REQUIREMENTS.name}) and patches "
            f"its internals for that release only (law_rasa/patches.py, "
            f"addons/tracker_store.py). Run `make setup` to install the pinned version, or "
            f"re-check every patch against the new release before changing the pin."
        )
    return pinned
