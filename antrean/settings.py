"""LAW's settings, read from the environment in one place and checked as they are read.

Every ``LAW_*`` variable the application uses is read here, by ``Settings.from_env``, and
nowhere else; what is unset gets the embedded default of ``make run``. A malformed value
stops the process with a ``SettingsError`` naming the variable and an example of a good
value. The office's own facts (time zone, slots, fees…) are not settings: they live in the
office configuration file (``LAW_OFFICE_CONFIG``, ``office.yml``).

The launchers' own options (processes, ports and Redis of the production topology, read by
``law-prod`` and by Rasa from ``endpoints.prod.yml``) are theirs and not listed here.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from antrean.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT

DATABASE_URL_ENV = "LAW_DATABASE_URL"
OFFICE_CONFIG_ENV = "LAW_OFFICE_CONFIG"
FIXED_NOW_ENV = "LAW_FIXED_NOW"
AUTO_MIGRATE_ENV = "LAW_AUTO_MIGRATE"
TRACKER_URL_ENV = "LAW_TRACKER_URL"
RASA_URL_ENV = "LAW_RASA_URL"
RASA_TOKEN_ENV = "LAW_RASA_TOKEN"
RASA_URLS_ENV = "LAW_RASA_URLS"
CONSOLE_SESSION_ENV = "LAW_CONSOLE_SESSION_MINUTES"

DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'law.db'}"
DEFAULT_TRACKER_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
DEFAULT_RASA_URL = "http://localhost:5005"

_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """An environment variable holds a value LAW cannot use; the message says which."""


@dataclass(frozen=True)
class Settings:
    """Where the stores are, which office file to read, and how the process behaves.

    Attributes:
        database_url: SQLAlchemy URL of the slot store (``LAW_DATABASE_URL``, default the
            SQLite file ``var/law.db``).
        office_config: The office configuration file (``LAW_OFFICE_CONFIG``, default
            ``office.yml`` at the project root).
        fixed_now: "Now" fixed for tests and demos (``LAW_FIXED_NOW``, ISO-8601; a naive
            value is office time), or ``None`` for the system clock.
        auto_migrate: Whether the action server and the staff command upgrade the slot
            store's schema on first use (``LAW_AUTO_MIGRATE``, default on).
        tracker_url: SQLAlchemy URL of Rasa's tracker store as the staff command reads it
            (``LAW_TRACKER_URL``, default the SQLite file ``var/tracker.db``).
        rasa_url: Rasa's HTTP API for model promotion (``LAW_RASA_URL``).
        rasa_token: Its ``--auth-token`` (``LAW_RASA_TOKEN``), if any.
        rasa_urls: Every Rasa process of the topology, each reached directly (not through the
            load balancer) when a model is promoted (``LAW_RASA_URLS``, comma-separated;
            default ``rasa_url`` alone).
        console_session_minutes: How long a staff console session lasts without activity
            (``LAW_CONSOLE_SESSION_MINUTES``, default 480).
    """

    database_url: str = DEFAULT_DATABASE_URL
    office_config: Path = DEFAULT_CONFIG_PATH
    fixed_now: dt.datetime | None = None
    auto_migrate: bool = True
    tracker_url: str = DEFAULT_TRACKER_URL
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: str | None = None
    rasa_urls: tuple[str, ...] = (DEFAULT_RASA_URL,)
    console_session_minutes: int = 480

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (``os.environ`` unless given).

        Raises:
            SettingsError: A variable is set to a value that cannot be used.
        """
        env = os.environ if environ is None else environ

        def text(name: str) -> str:
            return (env.get(name) or "").strip()

        rasa_url = (text(RASA_URL_ENV) or DEFAULT_RASA_URL).rstrip("/")
        listed = (url.strip().rstrip("/") for url in text(RASA_URLS_ENV).split(","))
        rasa_urls = tuple(url for url in listed if url)
        return cls(
            database_url=text(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL,
            office_config=Path(text(OFFICE_CONFIG_ENV) or DEFAULT_CONFIG_PATH),
            fixed_now=_moment(FIXED_NOW_ENV, text(FIXED_NOW_ENV)),
            auto_migrate=_flag(AUTO_MIGRATE_ENV, text(AUTO_MIGRATE_ENV), default=True),
            tracker_url=text(TRACKER_URL_ENV) or DEFAULT_TRACKER_URL,
            rasa_url=rasa_url,
            rasa_token=text(RASA_TOKEN_ENV) or None,
            rasa_urls=rasa_urls or (rasa_url,),
            console_session_minutes=_minutes(CONSOLE_SESSION_ENV, text(CONSOLE_SESSION_ENV), 480),
        )


def _moment(name: str, value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(
            f"{name} must be an ISO-8601 datetime such as 2026-12-01T09:00:00+07:00, "
            f"got {value!r}"
        ) from None


def _minutes(name: str, value: str, default: int) -> int:
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 7 * 24 * 60:
        raise SettingsError(f"{name} must be a number of minutes from 1 to 10080, got {value!r}")
    return int(value)


def _flag(name: str, value: str, default: bool) -> bool:
    if not value:
        return default
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {value!r}")
