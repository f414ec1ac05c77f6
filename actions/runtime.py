"""The booking service used by the actions, built once per process on first use.

The settings are read from the environment then (``antrean.settings``: the slot store, the
office file, a fixed "now" for tests, whether to upgrade the schema first) and the service
is built by the one composition root, ``antrean.bootstrap.build_service``.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from antrean.bootstrap import build_service
from antrean.service import BookingService
from antrean.settings import Settings

T = TypeVar("T")
_lock = threading.Lock()
_service: BookingService | None = None


def get_service() -> BookingService:
    """The process's booking service, built from the settings on the first call."""
    global _service
    with _lock:
        if _service is None:
            _service = build_service(Settings.from_env())
        return _service


def reset_service() -> None:
    """Forget the cached service (tests change the environment between cases)."""
    global _service
    with _lock:
        if _service is not None:
            _service.store.dispose()
        _service = None


async def call(func: Callable[..., T], *args: object) -> T:
    """Run a blocking store call in a worker thread, keeping the event loop free."""
    return await asyncio.to_thread(func, *args)
