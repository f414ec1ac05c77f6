"""Time source for the booking rules, fixable in tests.

All calendar logic runs in the office time zone, which only the office configuration names
(``office.timezone`` in ``office.yml``). Production code asks a ``Clock`` for "now";
``antrean.bootstrap.build_clock`` makes the office's clock from the settings: the system
clock, or a ``FixedClock`` when ``LAW_FIXED_NOW`` fixes the moment for tests and demos.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from antrean.settings import FIXED_NOW_ENV  # noqa: F401 - tests import the name from here


class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware datetime."""

    def now(self) -> dt.datetime:
        """The current moment, timezone-aware."""


class SystemClock:
    """The real clock, in the given (office) time zone."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


class FixedClock:
    """A clock standing still at one moment, told in ``tz``.

    ``tz`` defaults to the moment's own time zone; a naive moment is read as time in ``tz``,
    which must then be given.
    """

    def __init__(self, moment: dt.datetime, tz: dt.tzinfo | None = None) -> None:
        zone = tz or moment.tzinfo
        if zone is None:
            raise ValueError(f"a naive moment ({moment.isoformat()}) needs a time zone")
        self.tz = zone
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)

    def now(self) -> dt.datetime:
        return self.moment.astimezone(self.tz)

    def advance(self, delta: dt.timedelta) -> None:
        self.moment = self.moment + delta


# --- the office's time zone as a module attribute (the tests' fixtures use it) ---------------


def __getattr__(name: str) -> Any:
    if name == "OFFICE_TZ":  # the office configuration's time zone, read when asked for
        from antrean.bootstrap import office_timezone
        from antrean.settings import Settings

        return office_timezone(Settings.from_env())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
