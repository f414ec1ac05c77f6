"""The office's 2017 WhatsApp format, still accepted from applicants who know it.

``#Nama#ddmmyyyy#ddmmyyyy`` — name, date of birth, arrival date — starts a booking;
``#batal`` cancels. Recognised by rules, never left to the statistical model.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DATE = r"(\d{1,2})[-/. ]?(\d{1,2})[-/. ]?(\d{4})"
_BOOK = re.compile(
    rf"^\s*#\s*(?P<name>[^#\d][^#]*?)\s*#\s*{_DATE}\s*#\s*{_DATE}\s*#?\s*$", re.UNICODE
)
_CANCEL = re.compile(r"^\s*#\s*batal\s*#?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LegacyBooking:
    name: str
    name_span: tuple[int, int]
    birth_date: dt.date | None  # None when the digits are no real date
    birth_span: tuple[int, int]
    arrival_date: dt.date | None
    arrival_span: tuple[int, int]


def _date(day: str, month: str, year: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_legacy_booking(text: str) -> LegacyBooking | None:
    match = _BOOK.match(text or "")
    if not match:
        return None
    g = match.groups()
    return LegacyBooking(
        name=" ".join(match.group("name").split()),
        name_span=match.span("name"),
        birth_date=_date(g[1], g[2], g[3]),
        birth_span=(match.start(2), match.end(4)),
        arrival_date=_date(g[4], g[5], g[6]),
        arrival_span=(match.start(5), match.end(7)),
    )


def is_legacy_cancel(text: str) -> bool:
    return bool(_CANCEL.match(text or ""))
