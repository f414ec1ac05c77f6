"""Time source for the booking rules, fixable in tests.

All calendar logic runs in the office time zone (Asia/Jakarta). Production code asks a
``Clock`` for "now"; tests and conversation tests fix it, either by passing a
``FixedClock`` or by setting ``LAW_FIXED_NOW`` (an ISO-8601 datetime) in the environment of
the process under test.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Protocol
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Asia/Jakarta")
FIXED_NOW_ENV = "LAW_FIXED_NOW"


class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware datetime."""

    def now(self) -> dt.datetime:
        """The current moment, timezone-aware."""


class SystemClock:
    """The real clock, in the office time zone."""

    def __init__(self, tz: dt.tzinfo = OFFICE_TZ) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


class FixedClock:
    """A clock standing still at one moment (naive values are read as office time)."""

    def __init__(self, moment: dt.datetime, tz: dt.tzinfo = OFFICE_TZ) -> None:
        self.tz = tz
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)

    def now(self) -> dt.datetime:
        return self.moment.astimezone(self.tz)

    def advance(self, delta: dt.timedelta) -> None:
        self.moment = self.moment + delta


def clock_from_env(environ: dict[str, str] | None = None) -> Clock:
    """``FixedClock`` when ``LAW_FIXED_NOW`` is set, else the system clock."""
    env = os.environ if environ is None else environ
    fixed = env.get(FIXED_NOW_ENV, "").strip()
    if not fixed:
        return SystemClock()
    try:
        return FixedClock(dt.datetime.fromisoformat(fixed))
    except ValueError as exc:
        raise ValueError(
            f"{FIXED_NOW_ENV} must be an ISO-8601 datetime such as "
            f"2026-12-01T09:00:00+07:00, got {fixed!r}"
        ) from exc


def office_today(clock: Clock) -> dt.date:
    """Today's date at the office."""
    return clock.now().astimezone(OFFICE_TZ).date()
