"""What the actions share, built once per process.

The office configuration and clock at once, the booking service (and with it the slot
store) on first use, off the event loop. The settings are read from the environment
(``antrean.settings``: the slot store, the office file, a fixed "now" for tests, whether to
upgrade the schema first) and the service
is built by the one composition root, ``antrean.bootstrap.build_service``. Answers that need
only the office configuration (hours, fees, facts) never touch the store, so they work while
the database is down.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from typing import TypeVar

from antrean.bootstrap import build_clock, build_service
from antrean.clock import Clock
from antrean.config import OfficeConfig, load_config
from antrean.service import BookingService
from antrean.settings import Settings

T = TypeVar("T")
# Seconds an action waits for the booking service to be built (the first use migrates the
# store; law-rasa builds it as the action server starts). A store that does not answer
# fails sooner by its connect timeout (antrean/store/engine.py); this is a last guard.
SERVICE_BUILD_DEADLINE_S = 7.0

_lock = threading.Lock()
_service: BookingService | None = None
_office: tuple[OfficeConfig, Clock] | None = None


def _office_parts() -> tuple[OfficeConfig, Clock]:
    global _office
    with _lock:
        if _office is None:
            settings = Settings.from_env()
            config = load_config(settings.office_config)
            _office = (config, build_clock(settings, config))
        return _office


def get_config() -> OfficeConfig:
    """The office configuration (no store involved)."""
    return _office_parts()[0]


def today() -> dt.date:
    """Today at the office (``LAW_FIXED_NOW`` fixes it in tests)."""
    return _office_parts()[1].now().date()


def get_service() -> BookingService:
    """The process's booking service, built from the settings on the first call.

    Blocking: from the event loop use :func:`service`.
    """
    global _service
    config = get_config()  # read once per process, shared with the office-only answers
    with _lock:
        if _service is None:
            _service = build_service(Settings.from_env(), config)
        return _service


async def service() -> BookingService:
    """The booking service, built in a worker thread on first use, within a deadline."""
    if _service is not None:
        return _service
    return await asyncio.wait_for(asyncio.to_thread(get_service), SERVICE_BUILD_DEADLINE_S)


def reset_service() -> None:
    """Forget the cached service and configuration (tests change the environment)."""
    global _service, _office
    with _lock:
        if _service is not None:
            _service.store.dispose()
        _service = None
        _office = None


async def call(func: Callable[..., T], *args: object) -> T:
    """Run a blocking store call in a worker thread, keeping the event loop free."""
    return await asyncio.to_thread(func, *args)
