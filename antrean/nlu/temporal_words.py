"""Indonesian vocabulary of the temporal extractor: numbers, weekdays, months, day parts.

Every table maps the spellings applicants really type (abbreviations, old spellings such as
*Pebruari*/*Nopember*, common slips such as *snin* or *jum'at*) to one value, and each table
comes with a regex alternation built from its keys, longest first, so that ``"dua puluh
lima"`` wins over ``"dua"`` and ``"agustus"`` over ``"agu"``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Unit words with their common colloquial or slipped spellings.
_UNITS: dict[int, tuple[str, ...]] = {
    1: ("satu",),
    2: ("dua",),
    3: ("tiga",),
    4: ("empat",),
    5: ("lima",),
    6: ("enam",),
    7: ("tujuh", "tuju"),
    8: ("delapan", "dlapan", "lapan"),
    9: ("sembilan", "smbilan"),
}


def _number_forms() -> dict[tuple[str, ...], int]:
    """Every spelled number from 0 to 59 as a tuple of words."""
    forms: dict[tuple[str, ...], int] = {("nol",): 0, ("sepuluh",): 10, ("sebelas",): 11}
    for value, spellings in _UNITS.items():
        for word in spellings:
            forms[(word,)] = value
            if value >= 2:
                forms[(word, "belas")] = 10 + value
    for tens in (2, 3, 4, 5):
        for tens_word in _UNITS[tens]:
            forms[(tens_word, "puluh")] = tens * 10
            for value, spellings in _UNITS.items():
                for word in spellings:
                    forms[(tens_word, "puluh", word)] = tens * 10 + value
    return forms


_NUMBER_FORMS = _number_forms()
# Keyed without spaces, so "duapuluh lima" and "dua  puluh lima" read the same.
_NUMBER_BY_COMPACT = {"".join(words): value for words, value in _NUMBER_FORMS.items()}

# Regex matching one spelled number 0-59; words may be glued ("duapuluh") or spaced.
NUMBER_WORD_RE = "(?:" + "|".join(
    r"\s*".join(re.escape(word) for word in words)
    for words in sorted(_NUMBER_FORMS, key=lambda w: -len("".join(w)))
) + ")"

# A number written with 1-2 digits or spelled out. Digits may be glued to a following word
# ("3hr", "9an"); a spelled number may not run into more letters ("duanya").
SMALL_NUMBER_RE = rf"(?:\d{{1,2}}(?!\d)|{NUMBER_WORD_RE}(?![a-z]))"


def parse_number(token: str) -> int | None:
    """Read a number typed as digits or Indonesian words.

    Args:
        token: ``"25"``, ``"dua puluh lima"``, ``"duapuluh lima"``, ``"Sebelas"``.

    Returns:
        The integer, or ``None`` when the token is no number this module knows.
    """
    compact = "".join(token.lower().split())
    if compact.isdigit():
        return int(compact)
    return _NUMBER_BY_COMPACT.get(compact)


# Weekday spellings -> Python weekday number (Monday = 0).
WEEKDAYS: dict[str, int] = {
    "senin": 0, "snin": 0, "senen": 0, "snen": 0, "monday": 0,
    "selasa": 1, "slasa": 1, "selsa": 1, "tuesday": 1,
    "rabu": 2, "rebo": 2, "rabo": 2, "wednesday": 2,
    "kamis": 3, "kemis": 3, "kmis": 3, "thursday": 3,
    "jumat": 4, "jum'at": 4, "jum’at": 4, "jum`at": 4, "jumaat": 4, "jum at": 4,
    "jumad": 4, "jmat": 4, "jmt": 4, "friday": 4,
    "sabtu": 5, "saptu": 5, "sbtu": 5, "saturday": 5,
    "minggu": 6, "mingu": 6, "ahad": 6, "sunday": 6,
}

# Month spellings (full, old spelling, abbreviations, English abbreviations) -> month number.
MONTHS: dict[str, int] = {
    "januari": 1, "jan": 1,
    "februari": 2, "pebruari": 2, "febuari": 2, "feb": 2, "peb": 2, "febr": 2,
    "maret": 3, "mar": 3, "mrt": 3,
    "april": 4, "apr": 4,
    "mei": 5,
    "juni": 6, "jun": 6,
    "juli": 7, "jul": 7,
    "agustus": 8, "agt": 8, "agu": 8, "agst": 8, "ags": 8, "agus": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "okt": 10, "oct": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12,
}

# Day parts that fix the reading of a clock hour ("jam 3 sore" = 15:00).
DAY_PARTS: dict[str, str] = {
    "pagi": "pagi", "pgi": "pagi", "subuh": "subuh", "dini hari": "subuh",
    "siang": "siang", "siank": "siang",
    "sore": "sore", "petang": "sore",
    "malam": "malam", "malem": "malam", "mlm": "malam",
}


def alternation(words: Iterable[str]) -> str:
    """A non-capturing regex group matching any of ``words``, longest first.

    Spaces inside a word match any run of whitespace.
    """
    escaped = (
        r"\s+".join(re.escape(part) for part in word.split())
        for word in sorted(set(words), key=len, reverse=True)
    )
    return "(?:" + "|".join(escaped) + ")"


def lookup(table: dict[str, int] | dict[str, str], typed: str) -> int | str:
    """The value of a table entry as typed (any case, any inner whitespace)."""
    return table[" ".join(typed.lower().split())]


WEEKDAY_RE = alternation(WEEKDAYS) + r"(?!\w)"
MONTH_RE = alternation(MONTHS) + r"(?!\w)\.?"
DAY_PART_RE = alternation(DAY_PARTS) + r"(?!\w)"
# "tanggal", "tgl", "tgl.", "tg", "tnggl" and friends, maybe glued to the number ("tgl14").
DAY_OF_MONTH_KEYWORD_RE = r"(?:tanggal|tangal|tanggl|tnggl|tggl|tgl|tg)(?![a-z])\.?"
# "jam", "jm", "pukul", "pkl", "pk" (each may carry a dot: "pkl.").
CLOCK_KEYWORD_RE = r"(?:pukul|pkl|pk|jam|jm)\.?"
# "lagi", "lg", "lgi" closing "3 hari lagi".
AGAIN_RE = r"(?:lagi|lgi|lg)(?!\w)"
NEXT_RE = r"(?:depan|dpn|dpan|ngajeng|payun)(?!\w)"
WEEK_RE = r"(?:minggu|mgg|pekan)(?!\w)"
DAY_RE = r"(?:hari|hr|hri)(?!\w)"
TOMORROW_RE = r"(?:beso+k+|bsk|besuk|bsok|esok|sesuk|mbenjing|tomorrow|tmrw)(?!\w)"
PAST_RE = r"(?:lalu|kemarin|kemaren|kmrn|kmarin|kmren)(?!\w)"

# What a rule's resolver returns for text it recognises but must not turn into an entity
# ("minggu lalu", "senin-jumat"): the span is consumed so no shorter rule reads it.
BLOCKED = ""

Resolver = Callable[[re.Match[str], dt.date], str | None]


@dataclass(frozen=True)
class Rule:
    """One pattern of the extractor and how to turn its match into a value.

    Attributes:
        entity: ``"date"``, ``"time"``, or ``""`` for a rule that only blocks its span.
        pattern: compiled case-insensitive regex, matched against the original text.
        resolve: returns the value (``YYYY-MM-DD`` / ``HH:MM``), :data:`BLOCKED`, or
            ``None`` when this match is no temporal expression after all.
    """

    entity: str
    pattern: re.Pattern[str]
    resolve: Resolver


def rule(entity: str, pattern: str, resolve: Resolver) -> Rule:
    """A :class:`Rule` with ``pattern`` compiled case-insensitively (verbose syntax)."""
    return Rule(entity, re.compile(pattern, re.IGNORECASE | re.VERBOSE), resolve)


def previous_word(text: str, position: int) -> str:
    """The lowercased word just before ``position`` (punctuation stripped), or ``""``."""
    found = re.search(r"(\w+)\W*$", text[:position])
    return found.group(1).lower() if found else ""


def is_quantity(word: str) -> bool:
    """Whether ``word`` counts something ("2 jam", "dua minggu", "setengah jam")."""
    return parse_number(word) is not None or word in {"setengah", "beberapa", "bbrp"}
