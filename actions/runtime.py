"""The booking service used by the actions, built once per process on first use.

Settings come from the environment: ``LAW_DATABASE_URL`` (slot store, SQLite by default),
``LAW_OFFICE_CONFIG`` (office file) and ``LAW_FIXED_NOW`` (fixes the clock in tests).
``LAW_AUTO_MIGRATE`` (default ``1``) upgrades the schema before first use.
"""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Callable, TypeVar

from antrean.clock import clock_from_env
from antrean.config import load_config
from antrean.service import BookingService
from antrean.store.engine import create_store_engine, database_url_from_env, migrate
from antrean.store.repository import SqlStore

T = TypeVar("T")
_lock = threading.Lock()
_service: BookingService | None = None


def get_service() -> BookingService:
    global _service
    with _lock:
        if _service is None:
            url = database_url_from_env()
            if os.environ.get("LAW_AUTO_MIGRATE", "1") != "0":
                migrate(url)
            _service = BookingService(
                load_config(), SqlStore(create_store_engine(url)), clock_from_env()
            )
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
