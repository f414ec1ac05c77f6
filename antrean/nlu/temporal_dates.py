"""Calendar-date rules of the Indonesian temporal extractor, resolved against today.

How each form is read (today = the office's today, Asia/Jakarta; weeks start on Monday):

* "hari ini" is today; "besok"/"bsk"/"besuk"/"esok" +1; "lusa" and "besok lusa" +2;
  "N hari lagi" +N; "seminggu lagi"/"sepekan lagi" +7; "N minggu lagi" +7N.
* A weekday alone ("kamis", "hari jumat", "besok senin", "senin besok") is the next one
  strictly after today: applicants book from tomorrow, so "selasa" said on a Tuesday is the
  Tuesday a week later.
* "senin depan" / "senin minggu depan" / "senin pekan depan" is Monday of the next calendar
  week, even when a closer Monday comes first ("kamis depan" said on a Tuesday is nine days
  later, not two).
* "senin ini" / "senin minggu ini" is that day of this calendar week; when it has already
  passed, people mean the coming one, so it is the next one instead.
* "minggu depan" / "pekan depan" alone is Monday of the next calendar week: the first day
  the office serves in the week meant; the dialogue confirms the date before booking.
  "hari minggu depan" is Sunday of that week.
* Day and month without a year ("14 des", "14/12", "tgl 14 desember") is the next such date
  not in the past (today included); a 2-digit year is 20YY, or 19YY if that would be more
  than 20 years ahead.
* "tgl N" is the next day N on or after tomorrow (today's number names next month's day);
  "tgl N bulan depan"/"bulan ini" pins the month.
* Past references ("senin lalu", "minggu kemarin") and ranges ("senin-jumat", "senin s/d
  jumat") yield nothing: every date the assistant asks for lies ahead, and a range names no
  single day. "minggu ini" and "bulan depan" alone name no day either.
* Bare 8-digit numbers ("07122026") are not read: they collide with NIKs, phone numbers and
  codes; the legacy "#Nama#ddmmyyyy#ddmmyyyy" format is parsed by ``antrean.legacy_format``.
"""
from __future__ import annotations

import datetime as dt
import re

from antrean.nlu.temporal_words import (
    AGAIN_RE,
    BLOCKED,
    DAY_OF_MONTH_KEYWORD_RE,
    DAY_RE,
    MONTH_RE,
    MONTHS,
    NEXT_RE,
    PAST_RE,
    SMALL_NUMBER_RE,
    TOMORROW_RE,
    WEEK_RE,
    WEEKDAY_RE,
    WEEKDAYS,
    Resolver,
    Rule,
    is_quantity,
    lookup,
    parse_number,
    previous_word,
    rule,
)

_LEFT = r"(?<!\w)"
# Numeric dates may not continue another number ("0812-9900-4406", "1.500.000").
_NUM_LEFT = r"(?<![\w/.:-])"
_NUM_RIGHT = r"(?!\w|[/.:-]\d)"
_THIS = r"(?:ini|ni)(?!\w)"
_MONTH_WORD = r"(?:bulan|bln)(?!\w)"
# An optional weekday before an explicit date: "Senin, 7 Desember 2026", "rabu tgl 9".
_WEEKDAY_PREFIX = rf"(?:(?:{DAY_RE}\s*)?{WEEKDAY_RE}\s*,?\s*)?"
_DAY_KEYWORD_PREFIX = rf"(?:{DAY_OF_MONTH_KEYWORD_RE}\s*)?"
_UNTIL = r"(?:[-–]|(?:s/d|s\.d\.?|sd|sampai|sampe|smp|hingga|ke)(?!\w))"
_YEARS_AHEAD_FOR_TWO_DIGITS = 20
_LOOKAHEAD_YEARS = 8  # enough to reach the next 29 February


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _next_weekday(today: dt.date, weekday: int) -> dt.date:
    """The first ``weekday`` strictly after today."""
    return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _next_day_month(today: dt.date, day: int, month: int) -> dt.date | None:
    """The first ``day``/``month`` on or after today (``None`` for 31/2 and friends)."""
    for year in range(today.year, today.year + _LOOKAHEAD_YEARS + 1):
        found = _make_date(year, month, day)
        if found and found >= today:
            return found
    return None


def _next_day_of_month(start: dt.date, day: int) -> dt.date | None:
    """The first date with day number ``day`` on or after ``start``."""
    year, month = start.year, start.month
    for _ in range(13):
        found = _make_date(year, month, day)
        if found and found >= start:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _full_year(match: re.Match[str], today: dt.date) -> int | None:
    """The year written in the match, ``0`` when none is written, ``None`` if implausible."""
    groups = match.groupdict()
    if groups.get("y4"):
        year = int(groups["y4"])
        return year if 1900 <= year <= 2099 else None
    if groups.get("y2"):
        year = 2000 + int(groups["y2"])
        return year - 100 if year > today.year + _YEARS_AHEAD_FOR_TWO_DIGITS else year
    return 0


def _explicit(match: re.Match[str], today: dt.date, month: int | None) -> str | None:
    """A written day (and month, and maybe year) as a date."""
    day = parse_number(match.group("d"))
    year = _full_year(match, today)
    if day is None or month is None or year is None or not 1 <= month <= 12:
        return None
    found = _make_date(year, month, day) if year else _next_day_month(today, day, month)
    return _iso(found) if found else None


def _resolve_day_month_name(match: re.Match[str], today: dt.date) -> str | None:
    return _explicit(match, today, int(lookup(MONTHS, match.group("mon").rstrip("."))))


def _resolve_numeric(match: re.Match[str], today: dt.date) -> str | None:
    return _explicit(match, today, int(match.group("m")))


def _resolve_day_of_month(match: re.Match[str], today: dt.date) -> str | None:
    """Read "tgl 14" (next 14th from tomorrow), "tgl 7 bulan depan", "tgl 30 bulan ini"."""
    day = parse_number(match.group("d"))
    if day is None or not 1 <= day <= 31:
        return None
    which = (match.group("which") or "").lower()
    if not which:
        found = _next_day_of_month(today + dt.timedelta(days=1), day)
    elif which in ("ini", "ni"):
        found = _make_date(today.year, today.month, day)
    else:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        found = _make_date(year, month, day)
    return _iso(found) if found else None


def _resolve_weekday(match: re.Match[str], today: dt.date) -> str | None:
    typed = match.group("wd")
    weekday = int(lookup(WEEKDAYS, typed))
    modifier = " ".join((match.group("mod") or "").lower().split())
    # "2 minggu" is two weeks, not Sunday.
    bare = match.start("wd") == match.start() and not match.group("mod")
    if weekday == 6 and bare and is_quantity(previous_word(match.string, match.start())):
        return None
    if re.search(NEXT_RE, modifier, re.IGNORECASE):
        return _iso(_monday(today) + dt.timedelta(days=7 + weekday))
    if re.search(_THIS, modifier, re.IGNORECASE):
        this_week = _monday(today) + dt.timedelta(days=weekday)
        return _iso(this_week if this_week >= today else _next_weekday(today, weekday))
    return _iso(_next_weekday(today, weekday))


def _offset(days: int) -> Resolver:
    def resolve(match: re.Match[str], today: dt.date) -> str | None:
        return _iso(today + dt.timedelta(days=days))

    return resolve


def _resolve_in_days(match: re.Match[str], today: dt.date) -> str | None:
    count = parse_number(match.group("n")) if match.group("n") else 1
    if count is None or not 1 <= count <= 366:
        return None
    return _iso(today + dt.timedelta(days=count))


def _resolve_in_weeks(match: re.Match[str], today: dt.date) -> str | None:
    count = parse_number(match.group("n")) if match.group("n") else 1
    if count is None or not 1 <= count <= 52:
        return None
    return _iso(today + dt.timedelta(weeks=count))


def _resolve_next_week(match: re.Match[str], today: dt.date) -> str | None:
    return _iso(_monday(today) + dt.timedelta(days=7))


def _block(match: re.Match[str], today: dt.date) -> str | None:
    return BLOCKED


# Order matters only between rules matching the very same span: the earlier one wins.
DATE_RULES: tuple[Rule, ...] = (
    # Blockers: past references, weekday ranges, the weekend, fractions and "24/7".
    rule("", rf"{_LEFT}(?:{WEEKDAY_RE}|{WEEK_RE}|{_MONTH_WORD}|tahun|thn)\s*{PAST_RE}", _block),
    rule("", rf"{_LEFT}{WEEKDAY_RE}\s*{_UNTIL}\s*{WEEKDAY_RE}", _block),
    rule("", rf"{_LEFT}sabtu\s*(?:[-/&,]|dan(?!\w))?\s*(?:minggu|ahad)(?!\w)", _block),
    rule("", rf"{_LEFT}(?:{WEEK_RE}\s*{_THIS}|{_MONTH_WORD}\s*(?:{_THIS}|{NEXT_RE}))", _block),
    rule("", rf"""{_NUM_LEFT}(?:24/7|(?:1/2|1/4|3/4)
        (?=\s*(?:jam|hari|hr|bulan|bln|tahun|thn|menit|kg|lusin)(?!\w)))""", _block),
    # Relative days.
    rule("date", rf"{_LEFT}{DAY_RE}\s*{_THIS}", _offset(0)),
    rule("date", rf"{_LEFT}{TOMORROW_RE}", _offset(1)),
    rule("date", rf"{_LEFT}(?:{TOMORROW_RE}\s*)?lusa+(?!\w)", _offset(2)),
    rule("date", rf"""{_LEFT}(?:(?P<n>{SMALL_NUMBER_RE}|\d{{3}}(?!\d))\s*{DAY_RE}|sehari)
        \s*{AGAIN_RE}""", _resolve_in_days),
    rule("date", rf"""{_LEFT}(?:seminggu|sminggu|sepekan|(?P<n>{SMALL_NUMBER_RE})\s*{WEEK_RE})
        \s*{AGAIN_RE}""", _resolve_in_weeks),
    rule("date", rf"{_LEFT}{WEEK_RE}\s*{NEXT_RE}", _resolve_next_week),
    # Weekdays, with "hari", "besok" and "depan" / "minggu depan" / "ini".
    rule("date", rf"""
        {_LEFT}(?:{DAY_RE}\s*)?(?:{TOMORROW_RE}\s+(?:{DAY_RE}\s*)?)?(?P<wd>{WEEKDAY_RE})
        (?:\s*(?P<mod>{NEXT_RE}|{WEEK_RE}\s*{NEXT_RE}|(?:{WEEK_RE}\s*)?{_THIS}|{TOMORROW_RE}))?
    """, _resolve_weekday),
    # Explicit dates.
    rule("date", rf"""
        {_LEFT}{_WEEKDAY_PREFIX}{_DAY_KEYWORD_PREFIX}
        (?P<d>{SMALL_NUMBER_RE})\s*[-/.]?\s*(?:{_MONTH_WORD}\s*)?(?P<mon>{MONTH_RE})
        (?:\s*(?:[-/,]\s*)?(?P<y4>\d{{4}})(?!\d)|\s*[-/']\s*(?P<y2>\d{{2}})(?![\d.:]))?
        (?!\w)
    """, _resolve_day_month_name),
    rule("date", rf"""
        {_NUM_LEFT}{_WEEKDAY_PREFIX}{_DAY_KEYWORD_PREFIX}
        (?P<y4>\d{{4}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}}){_NUM_RIGHT}
    """, _resolve_numeric),
    rule("date", rf"""
        {_NUM_LEFT}{_WEEKDAY_PREFIX}{_DAY_KEYWORD_PREFIX}
        (?P<d>\d{{1,2}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?:(?P<y4>\d{{4}})|(?P<y2>\d{{2}}))
        {_NUM_RIGHT}
    """, _resolve_numeric),
    rule("date", rf"""
        {_NUM_LEFT}{_WEEKDAY_PREFIX}{_DAY_KEYWORD_PREFIX}(?P<d>\d{{1,2}})/(?P<m>\d{{1,2}})
        {_NUM_RIGHT}
    """, _resolve_numeric),
    rule("date", rf"""
        {_LEFT}{_WEEKDAY_PREFIX}{DAY_OF_MONTH_KEYWORD_RE}\s*(?P<d>\d{{1,2}})[-.](?P<m>\d{{1,2}})
        {_NUM_RIGHT}
    """, _resolve_numeric),
    rule("date", rf"""
        {_LEFT}{_WEEKDAY_PREFIX}{DAY_OF_MONTH_KEYWORD_RE}\s*(?P<d>{SMALL_NUMBER_RE})
        (?:\s*{_MONTH_WORD}\s*(?P<which>{NEXT_RE}|{_THIS}))?(?!\w)
    """, _resolve_day_of_month),
)
