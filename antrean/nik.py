"""NIK (Nomor Induk Kependudukan) checks and masking.

A NIK has 16 digits: 6 of region, 6 of birth date as DDMMYY (women add 40 to the day), and
4 of serial number. A valid province code is not required; the embedded birth date must be a
real date and agree with the applicant's date of birth.
"""
from __future__ import annotations

import datetime as dt
import enum
import re

from antrean.masking import mask_tail

_NIK_RE = re.compile(r"^\d{16}$")
_SEPARATORS = re.compile(r"[\s.\-]")


class NikCheck(str, enum.Enum):
    OK = "ok"
    FORMAT = "format"  # not 16 digits
    BIRTH_DATE = "birth_date"  # the embedded date is not a real date
    MISMATCH = "mismatch"  # real date, but not the applicant's date of birth


def normalise_nik(raw: str) -> str:
    """Strip the spaces, dots and dashes people type inside a NIK."""
    return _SEPARATORS.sub("", raw or "")


def embedded_birth_day_month_year(nik: str) -> tuple[int, int, int] | None:
    """(day, month, two-digit year) encoded in the NIK with the women's +40 removed."""
    if not _NIK_RE.match(nik):
        return None
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    return day, month, year


def check_nik(nik: str, birth_date: dt.date | None = None) -> NikCheck:
    """Check a (normalised) NIK, and that it matches ``birth_date`` when given."""
    parts = embedded_birth_day_month_year(nik)
    if parts is None:
        return NikCheck.FORMAT
    day, month, year = parts
    # The year's century is unknown; a real date must exist in one of the two candidates
    # (29 February needs a leap year).
    candidates = []
    for century in (1900, 2000):
        try:
            candidates.append(dt.date(century + year, month, day))
        except ValueError:
            continue
    if not candidates:
        return NikCheck.BIRTH_DATE
    if birth_date is None:
        return NikCheck.OK
    if (birth_date.day, birth_date.month, birth_date.year % 100) != (day, month, year):
        return NikCheck.MISMATCH
    return NikCheck.OK


def mask_nik(nik: str) -> str:
    """Only the last four digits stay readable."""
    return mask_tail(normalise_nik(nik))
