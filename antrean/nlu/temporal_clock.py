"""Clock-time rules of the Indonesian temporal extractor ("jam 9", "setengah 10", "14.30").

An hour said without a day part is read the way a counter clerk would inside office hours
(08:00-16:00): nobody books a passport slot at 02:00, so "jam 1" to "jam 5" mean 13:00 to
17:00, and "jam 6" to "jam 12" are morning to noon as written. Hours 0 and 13-23 are 24-hour
values and kept as written whatever day part follows. A day part decides otherwise:

========  ===========================================================
pagi      as written (05:00 for "jam 5 pagi")
subuh     as written, "jam 12" = 00:00 (also "dini hari")
siang     1-6 become 13:00-18:00, 7-12 as written ("jam 11 siang")
sore      1-11 become 13:00-23:00 ("jam 3 sore" = 15:00; also "petang")
malam     6-11 become 18:00-23:00, 12 = 00:00, 1-5 as written (01:00)
========  ===========================================================

"setengah N" is half an hour before hour N read by the same rule ("setengah 10" = 09:30,
"setengah 2" = 13:30), "lewat"/"lebih" add and "kurang" subtracts minutes or "seperempat".
"""
from __future__ import annotations

import datetime as dt
import re

from antrean.nlu.temporal_words import (
    CLOCK_KEYWORD_RE,
    DAY_OF_MONTH_KEYWORD_RE,
    DAY_PART_RE,
    DAY_PARTS,
    SMALL_NUMBER_RE,
    Rule,
    lookup,
    parse_number,
    previous_word,
    rule,
)

_MINUTES_PER_DAY = 24 * 60
_LEFT = r"(?<!\w)"
# A bare "14.30" may not continue a number, a date or an amount ("1.500.000", "7.12.2026").
_DIGITAL_LEFT = r"(?<![\w/.:,])"
_PRE = rf"(?:(?P<pre>{DAY_PART_RE})\s+)?"
_POST = rf"(?:\s*(?P<post>{DAY_PART_RE}))?"
_ZONE = r"(?:\s*wib(?!\w))?"
_EXACT = r"(?:-?an(?!\w))?(?:\s*(?:tepat|teng|pas)(?!\w))?"  # "jam 9an", "jam 9 teng"
_HALF = r"(?:setengah|stengah|stgh|stngh|sthg)(?!\w)"
_OFFSET = rf"""
    (?P<op>lewat|lwt|lebih|lbh|kurang|krg)(?!\w)\s*
    (?P<off>seperempat|sprempat|seprempat|setengah|{SMALL_NUMBER_RE})
    (?:\s*(?:menit|mnt|mnit)(?!\w))?
"""
# Units after a decimal number that is no clock time ("1.25 kg", "2.50 jt").
_NOT_A_TIME_AFTER = re.compile(
    r"\s*(?:kg|km|cm|gb|mb|persen|%|juta|jt|rb|ribu)(?!\w)", re.IGNORECASE
)
_DURATION_AFTER = re.compile(r"\s*(?:menit|mnt|mnit|detik)(?!\w)", re.IGNORECASE)
_OFFSET_WORDS = {"seperempat": 15, "sprempat": 15, "seprempat": 15, "setengah": 30}


def clock_hour(hour: int, day_part: str | None) -> int | None:
    """The 24-hour hour meant by ``hour`` said with ``day_part`` (see module docstring).

    Args:
        hour: the hour as typed, 0-23.
        day_part: a value of ``DAY_PARTS`` ("pagi", "siang", ...) or ``None``.

    Returns:
        The hour 0-23, or ``None`` when ``hour`` is no hour of the day.
    """
    if not 0 <= hour <= 23:
        return None
    if hour == 0 or hour >= 13:
        return hour
    if day_part is None:
        return hour + 12 if hour <= 5 else hour
    if day_part == "pagi":
        return hour
    if day_part == "subuh":
        return 0 if hour == 12 else hour
    if day_part == "siang":
        return hour + 12 if hour <= 6 else hour
    if day_part == "sore":
        return hour + 12 if hour <= 11 else hour
    # malam
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _format(minutes: int) -> str:
    minutes %= _MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_part(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    typed = groups.get("post") or groups.get("pre")
    return str(lookup(DAY_PARTS, typed)) if typed else None


def _half_before(match: re.Match[str]) -> str | None:
    """Read "setengah N": thirty minutes before hour N."""
    hour = parse_number(match.group("hh"))
    if hour is None or hour == 0:
        return None
    resolved = clock_hour(hour, _day_part(match))
    return None if resolved is None else _format(resolved * 60 - 30)


def _offset_minutes(match: re.Match[str]) -> int | None:
    """Signed minutes of "lewat 15" / "kurang seperempat", 0 without an offset."""
    if not match.group("op"):
        return 0
    typed = match.group("off").lower()
    minutes = _OFFSET_WORDS.get(typed, parse_number(typed))
    if minutes is None or not 1 <= minutes <= 59:
        return None
    return -minutes if match.group("op").lower().startswith("k") else minutes


def _resolve_keyword_clock(match: re.Match[str], today: dt.date) -> str | None:
    """Read "jam 9", "pukul 10.30", "jam setengah 2 siang", "jam 11 kurang seperempat"."""
    # "2 jam 15 menit" is a duration, not "jam 15".
    if _DURATION_AFTER.match(match.string, match.end()):
        return None
    if match.group("hh"):
        return _half_before(match)
    hour = parse_number(match.group("h"))
    minute = int(match.group("m")) if match.group("m") else 0
    offset = _offset_minutes(match)
    if hour is None or minute > 59 or offset is None or (offset and match.group("m")):
        return None
    resolved = clock_hour(hour, _day_part(match))
    return None if resolved is None else _format(resolved * 60 + minute + offset)


def _resolve_half(match: re.Match[str], today: dt.date) -> str | None:
    return _half_before(match)


def _resolve_digital(match: re.Match[str], today: dt.date) -> str | None:
    """Bare "09:15" / "14.30" / "10.00 WIB"."""
    if _NOT_A_TIME_AFTER.match(match.string, match.end()):
        return None
    hour, minute = int(match.group("h")), int(match.group("m"))
    resolved = clock_hour(hour, _day_part(match))
    if resolved is None or minute > 59:
        return None
    return _format(resolved * 60 + minute)


def _resolve_hour_with_part(match: re.Match[str], today: dt.date) -> str | None:
    """A bare hour made a time by its day part or zone: "9 pagi", "10 WIB"."""
    before = previous_word(match.string, match.start())
    # "tgl 9 pagi" is the 9th in the morning, not 09:00.
    if re.fullmatch(DAY_OF_MONTH_KEYWORD_RE, before, re.IGNORECASE):
        return None
    resolved = clock_hour(int(match.group("h")), _day_part(match))
    return None if resolved is None else _format(resolved * 60)


CLOCK_RULES: tuple[Rule, ...] = (
    rule("time", rf"""
        {_LEFT}{_PRE}(?P<kw>{CLOCK_KEYWORD_RE})\s*
        (?:
            {_HALF}\s*(?P<hh>{SMALL_NUMBER_RE})
          | (?P<h>{SMALL_NUMBER_RE})(?:[.:](?P<m>\d{{2}})(?!\d))?(?:\s*{_OFFSET})?
        )
        {_EXACT}{_POST}{_ZONE}(?!\w)
    """, _resolve_keyword_clock),
    rule("time", rf"""
        {_LEFT}{_PRE}{_HALF}\s*(?P<hh>{SMALL_NUMBER_RE}){_EXACT}{_POST}{_ZONE}(?!\w)
    """, _resolve_half),
    rule("time", rf"""
        {_DIGITAL_LEFT}{_PRE}(?P<h>\d{{1,2}})[.:](?P<m>\d{{2}})(?!\d|[.:/]\d)
        {_POST}{_ZONE}(?!\w)
    """, _resolve_digital),
    rule("time", rf"""
        {_DIGITAL_LEFT}(?P<h>\d{{1,2}})(?!\d)\s*
        (?:(?P<post>{DAY_PART_RE})|wib(?!\w))
    """, _resolve_hour_with_part),
)
