"""The composition root: LAW's objects built from the settings, in one place.

Everything that needs the booking service — the action server (``actions/runtime.py``), the
staff command (``antrean/staff/common.py``), and any console or scheduler added later — asks
``build_service``; the NLU's temporal extractor asks ``office_clock``. The settings come from
``antrean.settings.Settings.from_env()``, read once by the caller; the time zone of every
clock comes from the office configuration. Nothing is built at import time.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from antrean.clock import Clock, FixedClock, SystemClock
from antrean.config import OfficeConfig, load_config
from antrean.service import BookingService
from antrean.settings import Settings


def office_timezone(settings: Settings, config: OfficeConfig | None = None) -> dt.tzinfo:
    """The office's time zone, as its configuration names it."""
    config = config or load_config(settings.office_config)
    return ZoneInfo(config.office.timezone)


def build_clock(settings: Settings, config: OfficeConfig) -> Clock:
    """The office clock: fixed at ``settings.fixed_now`` when set, else the system's."""
    tz = office_timezone(settings, config)
    if settings.fixed_now is not None:
        return FixedClock(settings.fixed_now, tz)
    return SystemClock(tz)


def office_clock(settings: Settings) -> Clock:
    """The office clock, reading the office configuration the settings name."""
    return build_clock(settings, load_config(settings.office_config))


def build_service(settings: Settings, config: OfficeConfig | None = None) -> BookingService:
    """The booking service on the slot store the settings name.

    The store's schema is upgraded first unless ``settings.auto_migrate`` is off. The caller
    disposes of ``service.store``.
    """
    from antrean.store.engine import create_store_engine, migrate
    from antrean.store.repository import SqlStore

    config = config or load_config(settings.office_config)
    if settings.auto_migrate:
        migrate(settings.database_url)
    store = SqlStore(create_store_engine(settings.database_url))
    return BookingService(config, store, build_clock(settings, config))
