"""Reading slot values from entities or free text, for the form validators."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from antrean.nlu.temporal import extract_temporal

_SERVICE_WORDS = (
    ("hilang", ("hilang", "ilang", "kehilangan")),
    ("rusak", ("rusak", "sobek", "robek", "basah", "kena air")),
    ("penggantian", ("ganti", "penggantian", "perpanjang", "habis", "expired", "penuh", "lama")),
    ("baru", ("baru", "pertama", "bikin", "buat")),
)
_PASSPORT_WORDS = (
    ("biasa", ("biasa", "non elektronik", "non-elektronik", "nonelektronik", "manual")),
    ("elektronik", ("elektronik", "e-paspor", "epaspor", "e paspor", "e-passport", "chip")),
)
_NAME_RE = re.compile(r"^[A-Za-zÀ-ÿ'.\- ]{2,80}$")
_NAME_PREFIX = re.compile(r"^(nama\s+(saya|sy|aku|ku)?\s*(adalah|:)?\s*|saya\s+|sy\s+)", re.I)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _from_words(text: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    lowered = f" {text.lower()} "
    for canonical, words in table:
        if canonical == lowered.strip():
            return canonical
    for canonical, words in table:
        if any(word in lowered for word in words):
            return canonical
    return None


def service_type(value: Any) -> str | None:
    return _from_words(str(_first(value) or ""), _SERVICE_WORDS)


def passport_type(value: Any) -> str | None:
    text = str(_first(value) or "").lower()
    # "non elektronik" must win over "elektronik"
    return _from_words(text, _PASSPORT_WORDS)


def date_value(value: Any, text: str, today: dt.date) -> dt.date | None:
    """An ISO date from an entity value, else the first date found in the text."""
    value = _first(value)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    for match in extract_temporal(str(value or text or ""), today):
        if match.entity == "date":
            return dt.date.fromisoformat(match.value)
    return None


def time_value(value: Any, text: str, today: dt.date) -> dt.time | None:
    value = _first(value)
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
    for match in extract_temporal(str(value or text or ""), today):
        if match.entity == "time":
            return dt.time.fromisoformat(match.value)
    return None


def person_name(value: Any) -> str | None:
    """A plausible full name, tidied (``budi  santoso`` → ``Budi Santoso``)."""
    text = _NAME_PREFIX.sub("", str(_first(value) or "").strip()).strip(" .,")
    if not _NAME_RE.match(text) or not re.search(r"[A-Za-z]{2}", text):
        return None
    return " ".join(part[:1].upper() + part[1:] for part in text.split())


_DMY = re.compile(r"\b(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})\b|\b(\d{2})(\d{2})(\d{4})\b")


def birth_date(value: Any, text: str, today: dt.date) -> dt.date | None:
    """A date of birth: ``12-03-1990``, ``12031990``, ``12 maret 1990`` or ISO."""
    raw = str(_first(value) or text or "")
    match = _DMY.search(raw)
    if match:
        day, month, year = (int(g) for g in (match.groups()[:3] if match.group(1) else match.groups()[3:]))
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return date_value(value, text, today)


_COUNT_WORDS = {
    "sendiri": 1, "sendirian": 1, "satu": 1, "seorang": 1, "aku aja": 1, "saya aja": 1,
    "berdua": 2, "dua": 2, "bertiga": 3, "tiga": 3, "berempat": 4, "empat": 4,
    "berlima": 5, "lima": 5, "berenam": 6, "enam": 6, "tujuh": 7, "delapan": 8,
    "sembilan": 9, "sepuluh": 10,
}
_COUNT_DIGITS = re.compile(r"(?<![\d/.:-])(\d{1,2})(?![\d/.:-])")


def applicant_count(value: Any, text: str = "") -> int | None:
    """How many people a booking is for: ``2``, ``"3 orang"``, ``"berdua"``, ``"saya sendiri"``.

    Returns the number as written (the form validator refuses more than the office allows),
    or None when the text names no count.
    """
    raw = _first(value)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return int(raw)
    for candidate in (str(raw or ""), text or ""):
        lowered = candidate.lower()
        digits = _COUNT_DIGITS.search(lowered)
        if digits:
            return int(digits.group(1))
        for word, number in sorted(_COUNT_WORDS.items(), key=lambda item: -len(item[0])):
            if re.search(rf"\b{word}\b", lowered):
                return number
    return None
