"""What every staff command shares: settings, the booking service, dates, tables and CSV.

Settings come from the command line first, then the environment as ``antrean.settings``
reads it (``LAW_DATABASE_URL``, ``LAW_OFFICE_CONFIG``, ``LAW_TRACKER_URL``, ``LAW_FIXED_NOW``,
``LAW_AUTO_MIGRATE``), and the booking service is built by ``antrean.bootstrap``, like the
action server's. Nothing is opened until a command asks for it.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from antrean.bootstrap import build_clock, build_service
from antrean.clock import Clock
from antrean.config import OfficeConfig, load_config
from antrean.indonesian import DAY_NAMES, MONTH_NAMES
from antrean.service import BookingService
from antrean.settings import Settings, SettingsError
from antrean.store.repository import SqlStore

Handler = Callable[[argparse.Namespace], "int | None"]


class StaffError(Exception):
    """A command cannot do what was asked; the message (Indonesian) is shown to staff."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass
class StaffContext:
    """The settings, configuration, clock and stores one command works with."""

    settings: Settings
    _config: OfficeConfig | None = field(default=None, repr=False)
    _clock: Clock | None = field(default=None, repr=False)
    _service: BookingService | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StaffContext:
        """The environment's settings, with what the command line names instead."""
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise StaffError(str(exc), 3) from None
        config = getattr(args, "config", None)
        return cls(replace(
            settings,
            database_url=getattr(args, "db", None) or settings.database_url,
            office_config=Path(config) if config else settings.office_config,
            tracker_url=getattr(args, "tracker", None) or settings.tracker_url,
        ))

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @property
    def tracker_url(self) -> str:
        return self.settings.tracker_url

    @property
    def config(self) -> OfficeConfig:
        if self._config is None:
            self._config = load_config(self.settings.office_config)
        return self._config

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = build_clock(self.settings, self.config)
        return self._clock

    @property
    def service(self) -> BookingService:
        if self._service is None:
            self._service = build_service(self.settings, self.config)
        return self._service

    @property
    def store(self) -> SqlStore:
        return self.service.store

    def today(self) -> dt.date:
        return self.now().date()

    def now(self) -> dt.datetime:
        """Now, in the office's time zone."""
        return self.clock.now()

    def close(self) -> None:
        if self._service is not None:
            self._service.store.dispose()
            self._service = None


def with_context(func: Callable[[StaffContext, argparse.Namespace], int | None]) -> Handler:
    """Turn ``func(ctx, args)`` into a handler that opens and closes the context."""

    def handler(args: argparse.Namespace) -> int | None:
        ctx = StaffContext.from_args(args)
        try:
            return func(ctx, args)
        finally:
            ctx.close()

    handler.__name__ = func.__name__
    handler.__doc__ = func.__doc__
    return handler


# --- dates and times -------------------------------------------------------------------
_RELATIVE_DAYS = {"hari-ini": 0, "hariini": 0, "hari ini": 0, "sekarang": 0, "kemarin": -1,
                  "besok": 1, "lusa": 2}
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_HM = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def parse_date(text: str, today: dt.date) -> dt.date:
    """Read a date as staff type it.

    ``2026-12-07``, ``7-12-2026``, ``7/12/2026``, ``hari-ini``, ``besok``, ``senin depan``…
    """
    raw = " ".join(str(text).lower().split())
    if raw in _RELATIVE_DAYS:
        return today + dt.timedelta(days=_RELATIVE_DAYS[raw])
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    match = _DMY.match(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise StaffError(f"Tanggal tidak ada di kalender: {text}", 2) from None
    from antrean.nlu.temporal import DATE, extract_temporal

    dates = [m for m in extract_temporal(raw, today) if m.entity == DATE]
    if len(dates) == 1:
        return dt.date.fromisoformat(dates[0].value)
    raise StaffError(
        f"Tanggal tidak dikenali: {text!r}. Tulis misalnya 2026-12-07, 7-12-2026, "
        "hari-ini, besok atau \"senin depan\".",
        2,
    )


def parse_time(text: str) -> dt.time:
    """``09:30`` or ``9.30``."""
    match = _HM.match(str(text).strip())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise StaffError(f"Jam tidak dikenali: {text!r}. Tulis misalnya 09:30.", 2)


def day_label(day: dt.date) -> str:
    """``Sen 07-12-2026``: short, sortable by eye, unambiguous in a table."""
    return f"{DAY_NAMES[day.weekday()][:3]} {day:%d-%m-%Y}"


def long_day_label(day: dt.date) -> str:
    """``Senin, 7 Desember 2026``."""
    return f"{DAY_NAMES[day.weekday()]}, {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def percent(part: int, whole: int) -> str:
    """``28,6%`` (Indonesian decimal comma); ``-`` when there is nothing to divide."""
    return "-" if whole == 0 else f"{100 * part / whole:.1f}%".replace(".", ",")


# --- output --------------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[int] = ()
) -> str:
    """A plain-text table; columns whose index is in ``right`` are right-aligned."""
    body = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [_width(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _width(cell))
    right_set = set(right)

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i in right_set else cell + pad)
        return "  ".join(parts).rstrip()

    separator = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), separator] + [line(row) for row in body])


@contextmanager
def open_output(path: str) -> Iterator[TextIO]:
    """The file at ``path`` for writing (``-`` is the screen)."""
    if path == "-":
        yield sys.stdout
        return
    try:
        # utf-8-sig: spreadsheet programs on Windows then read the Indonesian names right.
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            yield handle
    except OSError as exc:
        raise StaffError(f"Tidak dapat menulis {path}: {exc.strerror}") from exc


def write_csv(path: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a CSV file; returns the number of data rows."""
    count = 0
    with open_output(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    return count


def staff_name(args: argparse.Namespace) -> str:
    """Who does it: ``--petugas``, else the system user (for the records)."""
    return (getattr(args, "petugas", None) or os.environ.get("USER") or "petugas")[:64]
