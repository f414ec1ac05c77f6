"""What one applicant message says for a booking, read the way a counter clerk would.

The booking form asks one question at a time, but people answer in their own words ("sy
aja", "senen", "abis dzuhur", "just me"), answer two questions at once ("Budi Santoso,
12-03-1990"), or put everything in their first message. This module reads a message for
every booking value, knowing which question was asked, and follows one rule throughout:
a value is taken only where it was meant.

* A name only as the answer to the name question, after "nama saya …" / "atas nama …", or
  from the legacy ``#Nama#…`` format: never from capitalised words elsewhere ("Paspor Baru",
  "Can I book").
* A date of birth is never a booking date: a date after "lahir"/"ttl", or one whose year
  has passed, is a birth date.
* A bare number answers the question asked (a count, a day of the month, an hour).

Everything here is pure: text in, values out; the form validator checks the values against
the booking rules.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from antrean.codes import is_valid_code
from antrean.nlu.temporal import TemporalMatch
from antrean.nlu.temporal import extract_temporal as _extract

# Phrases the temporal extractor does not read (it knows "senen", "tomorrow", "sesuk",
# "ngajeng" and the English day names itself), rewritten into the Indonesian it knows.
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"day after tomorrow", "lusa"),
    (r"tmr", "besok"), (r"isukan", "besok"),
    (r"today", "hari ini"),
    (r"next week", "minggu depan"),
    (r"next (monday|mon)", "senin depan"), (r"next (tuesday|tue|tues)", "selasa depan"),
    (r"next (wednesday|wed)", "rabu depan"), (r"next (thursday|thu|thurs)", "kamis depan"),
    (r"next (friday|fri)", "jumat depan"),
    (r"ngarep", "depan"),
    # "tabuh 9" (Sundanese), "at 10": jam
    (r"tabuh|at", "jam"),
    (r"january", "januari"), (r"february", "februari"), (r"march", "maret"),
    (r"may", "mei"), (r"june", "juni"), (r"july", "juli"), (r"august", "agustus"),
    (r"october", "oktober"), (r"december", "desember"),
    # One spelling of each weekday, for the day-of-month rule right after.
    (r"senen|snen", "senin"), (r"jum'?at|jumaat", "jumat"),
    # "kamis 17": the day of the month, not the next Thursday
    (r"(senin|selasa|rabu|kamis|jumat|sabtu|minggu),?\s+(\d{1,2})(?!\s*(?:[.:]\d|\d|pagi|siang|sore"
     r"|orang|org|menit|hari|minggu|bulan)(?!\w))", r"\1 tgl \2"),
    (r"jamnya|jamny", "jam"), (r"tanggalnya|tglnya|tgl nya", "tanggal"),
)
_REWRITE_RES = [(re.compile(rf"(?<![\w])(?:{pattern})(?![\w])", re.I), repl)
                for pattern, repl in _REWRITES]
_AM_PM = re.compile(r"(?<![\w:.])(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?!\w)", re.I)

# Words that mark the date after them as a date of birth.
_BIRTH_MARK = re.compile(r"(?:lahir|lhr|ttl|tgl\.?\s*lahir|tanggal\s+lahir|dob|born)\W*$", re.I)
_NIK = re.compile(r"(?<!\d)(\d{4}[\s.-]?\d{4}[\s.-]?\d{4}[\s.-]?\d{4})(?!\d)")
_DMY = re.compile(
    r"(?<![\d/.-])(\d{1,2})\s*[-/. ]\s*(\d{1,2})\s*[-/. ]\s*(\d{4}|\d{2})(?![\d/.-])"
    r"|(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)"
)


@functools.lru_cache(maxsize=512)
def extract_temporal(text: str, today: dt.date) -> tuple[TemporalMatch, ...]:
    """The extractor's dates and times of ``text``, read once per text.

    A message is read for booking dates, clock times and dates of birth alike.
    """
    return tuple(_extract(text, today))


def rewrite(text: str) -> str:
    """``text`` with English day words and regional spellings in the extractor's Indonesian.

    "9 am" / "2pm" become "jam 9" / "jam 14", which no day-part rule can misread.
    """
    def am_pm(match: re.Match[str]) -> str:
        hour = int(match.group(1)) % 12 + (12 if match.group(3).lower().startswith("p") else 0)
        return f"jam {hour}.{match.group(2) or '00'}"

    text = _AM_PM.sub(am_pm, text)
    text = _WORD.sub(_weekday_slip, text)
    for pattern, repl in _REWRITE_RES:
        text = pattern.sub(repl, text)
    return text


_WORD = re.compile(r"[A-Za-z]{4,7}")
_WEEKDAY_NAMES = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu")


def _weekday_slip(match: re.Match[str]) -> str:
    """A weekday with a slip of the thumb ("jumt", "kmis", "selsa") as the weekday."""
    word = match.group(0).lower()
    if word in _WEEKDAY_NAMES:
        return match.group(0)
    best = max(_WEEKDAY_NAMES, key=lambda day: difflib.SequenceMatcher(None, word, day).ratio())
    close = difflib.SequenceMatcher(None, word, best).ratio() >= 0.85
    return best if close else match.group(0)


@dataclass(frozen=True)
class Message:
    """The latest applicant message as the NLU read it.

    Attributes:
        text: as typed (a button's payload starts with "/").
        intent: the intent name, "" when unknown.
        confidence: the intent's confidence.
        entities: the NLU's entities (dicts with ``entity`` and ``value``).
    """

    text: str
    intent: str = ""
    confidence: float = 0.0
    entities: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def is_payload(self) -> bool:
        """A tapped choice: its entities are exact, its text means nothing."""
        return self.text.startswith("/")

    @property
    def is_legacy(self) -> bool:
        """The 2017 ``#Nama#ddmmyyyy#ddmmyyyy`` format, read by its own NLU rule."""
        return self.text.lstrip().startswith("#") and self.text.count("#") >= 3

    def entity(self, name: str) -> Any:
        """The last value of an entity (a correction names the right value last)."""
        values = [e.get("value") for e in self.entities if e.get("entity") == name]
        return values[-1] if values else None

    @property
    def lowered(self) -> str:
        return " ".join(self.text.lower().split())


def _birth_spans(text: str, today: dt.date) -> list[tuple[int, int, dt.date]]:
    """Dates in ``text`` that are dates of birth: after a birth word, or in a past year."""
    found = []
    for match in extract_temporal(text, today):
        if match.entity != "date":
            continue
        day = dt.date.fromisoformat(match.value)
        if _BIRTH_MARK.search(text[:match.start]) or day.year < today.year:
            found.append((match.start, match.end, day))
    for dmy in _DMY.finditer(text):
        parsed = _dmy(dmy, today)
        if parsed and (parsed.year < today.year or _BIRTH_MARK.search(text[:dmy.start()])):
            found.append((dmy.start(), dmy.end(), parsed))
    return found


def _dmy(match: re.Match[str], today: dt.date) -> dt.date | None:
    groups = match.groups()
    day, month, year = groups[:3] if groups[0] else groups[3:]
    number = int(year)
    if len(year) == 2:
        number += 2000 if 2000 + number <= today.year else 1900
    try:
        return dt.date(number, int(month), int(day))
    except ValueError:
        return None


def booking_dates(message: Message, today: dt.date) -> list[dt.date]:
    """Dates meant for the visit: every date except dates of birth and NIK digits."""
    if message.is_payload or message.is_legacy:
        value = message.entity("date")
        return [dt.date.fromisoformat(value)] if value else []
    text = _without_niks(rewrite(message.text))
    births = _birth_spans(text, today)
    dates = []
    for match in extract_temporal(text, today):
        if match.entity != "date":
            continue
        if any(start <= match.start < end for start, end, _ in births):
            continue
        if _NOT_BEFORE.search(text[:match.start]) or _NOT_AFTER.match(text[match.end:]):
            continue  # "bukan kamis", "kamis ada rapat": the day that is not meant
        dates.append(_recently_passed(dt.date.fromisoformat(match.value), match.text, today))
    return dates


# A day named only to be ruled out: "bukan kamis, jumat", "jumat aja, kamis ada rapat".
_NOT_BEFORE = re.compile(
    r"(?<!\w)(?:bukan|jangan|selain|kecuali|not)\s*(?:hari\s*|tanggal\s*|tgl\s*)?$", re.I)
_NOT_AFTER = re.compile(
    r"\s*(?:(?:saya|sy|aku|gw)\s*)?(?:ada|lagi|sedang|lg)?\s*(?:rapat|acara|kerja|urusan|dinas"
    r"|kondangan)|\s*(?:saya|sy|aku|gw)?\s*(?:gak|ga|tidak|nggak|ngga|gk|tdk|ndak)\s*bisa"
    r"|\s*(?:sibuk|penuh|can'?t|cannot)", re.I)


def _recently_passed(day: dt.date, typed: str, today: dt.date) -> dt.date:
    """This year's date when a day and month without a year passed only recently.

    The extractor reads "27 november" as the next 27 November; said on 30 November that is
    a year away, while the applicant meant the one three days ago (and must be told it has
    passed, not that it is too far ahead).
    """
    if re.search(r"\d{4}", typed) or (day - today).days < 300:
        return day
    try:
        earlier = day.replace(year=day.year - 1)
    except ValueError:
        return day
    return earlier if (today - earlier).days <= 90 else day


_WEEK_ONLY = re.compile(r"(?<!\w)(?:minggu|pekan|mgg)\s*(?:depan|dpn|ngajeng|payun)(?!\w)"
                        r"|next week", re.I)
_WEEKDAY_WORD = re.compile(r"(?<!\w)(?:senin|senen|selasa|rabu|rebo|kamis|kemis|jum'?at|sabtu"
                           r"|monday|tuesday|wednesday|thursday|friday|tgl|tanggal|\d)", re.I)


def names_a_week_only(message: Message) -> bool:
    """Whether the message names a week and no day in it ("minggu depan").

    The applicant has a week in mind, not a date.
    """
    return (not message.is_payload and bool(_WEEK_ONLY.search(message.text))
            and not _WEEKDAY_WORD.search(_WEEK_ONLY.sub(" ", message.text)))


def booking_times(message: Message, today: dt.date) -> list[dt.time]:
    """Clock times in the message ("jam 9", "setengah 10", "9 am", a tapped time)."""
    if message.is_payload:
        value = message.entity("time")
        return [dt.time.fromisoformat(value)] if value else []
    text = _without_niks(rewrite(message.text))
    return [dt.time.fromisoformat(m.value) for m in extract_temporal(text, today)
            if m.entity == "time"]


def bare_number(message: Message) -> int | None:
    """The number when the whole answer is one ("3", "3 aja", "jam 9" is not)."""
    match = re.fullmatch(r"\s*(?:yg\s+|yang\s+)?(\d{1,2})\s*(?:aja|saja|deh|ya|dong)?\s*[.!]?\s*",
                         message.text, re.I)
    return int(match.group(1)) if match else None


def birth_date(message: Message, today: dt.date, asked: bool) -> dt.date | None:
    """A date of birth: any date when it was asked for, else only one marked as such."""
    if message.is_payload or message.is_legacy:
        value = message.entity("birth_date")
        return dt.date.fromisoformat(value) if value else None
    text = _without_niks(rewrite(message.text))
    births = _birth_spans(text, today)
    if births:
        return births[0][2]
    if not asked:
        return None
    match = _DMY.search(text)
    if match:
        return _dmy(match, today)
    # Only a date written with its year: "jumat" or "besok" is no date of birth.
    dates = [m for m in extract_temporal(text, today)
             if m.entity == "date" and re.search(r"\d{4}|'\d{2}", m.text)]
    return dt.date.fromisoformat(dates[0].value) if dates else None


def _without_niks(text: str) -> str:
    return _NIK.sub(lambda m: " " * len(m.group(0)), text)


def nik(message: Message) -> str | None:
    """A 16-digit NIK, possibly typed in groups ("3171 0112 0390 0003")."""
    value = message.entity("nik") if message.is_payload else None
    if value:
        return re.sub(r"\D", "", str(value))
    match = _NIK.search(message.text)
    return re.sub(r"\D", "", match.group(1)) if match else None


_CODE_PART = r"([2-9A-HJKMNP-Za-hjkmnp-z]{4})"
_CODE = re.compile(rf"(?<![0-9A-Za-z]){_CODE_PART}[\s-]?{_CODE_PART}(?![0-9A-Za-z])")


def booking_code(message: Message) -> str | None:
    """A booking code as the NLU found it, or typed with a space or in lower case.

    "erkd q6uq" counts; only a code whose check character agrees does.
    """
    value = message.entity("booking_code")
    if value:
        return str(value)
    for match in _CODE.finditer(message.text):
        code = (match.group(1) + match.group(2)).upper()
        if is_valid_code(code):
            return code
    return None


def person_blocks(text: str) -> list[str]:
    """The text cut after each NIK: one piece per person when several are typed at once."""
    blocks, start = [], 0
    for match in _NIK.finditer(text):
        blocks.append(text[start:match.end()])
        start = match.end()
    return blocks


def digits_answer(message: Message) -> str | None:
    """The digits of an answer to the NIK question that is mostly digits (maybe wrong)."""
    digits = re.sub(r"\D", "", message.text)
    return digits if len(digits) >= 6 else None


# --- how many people ----------------------------------------------------------------
_COUNT_NUMBER_WORDS = {"satu": 1, "se": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
                       "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9, "sepuluh": 10,
                       "two": 2, "three": 3, "four": 4}
_GROUP_WORDS = {"berdua": 2, "berduaan": 2, "bertiga": 3, "berempat": 4, "berlima": 5,
                "berenam": 6, "bertujuh": 7, "sekeluarga": None}
_SELF = r"(?:saya|sy|sya|aku|aq|ak|gw|gue|gua|ane|aye|abdi|kula|kulo|ambo|awak|w|me|myself|i)"
_ONLY = (r"(?:aja|ajah|aj|aje|saja|se|mawon|wae|bae|doang|doank|dong|sendiri|sndiri|sendirian"
         r"|only|just|cuma|cm|hanya|tok|thok)")
_ALONE = re.compile(
    rf"(?<!\w)(?:sendiri|sndiri|sndri|sendri|sendirian|seorang|1\s*org|1\s*orang|satu\s*orang"
    rf"|nyalira|piyambak\w*|dewek|sorangan|surang|sorang|alone|by\s+myself|one\s+person"
    rf"|only\s+one|sndr"
    rf"|solo|just\s+me|only\s+me|me\s+only|myself|just\s+myself|cuma\s+{_SELF}"
    rf"|hanya\s+{_SELF}|{_SELF}\s+{_ONLY})(?!\w)", re.I)
_N_PEOPLE = re.compile(r"(?<![\w/.:-])(\d{1,2}|satu|dua|tiga|empat|lima|enam|tujuh|delapan"
                       r"|sembilan|sepuluh)\s*(?:org|orang|orng|pemohon|people|persons?|pax"
                       r"|jiwa)(?!\w)", re.I)
# People named beside the applicant: "sama istri", "dan 2 anak", "+ ibu".
_RELATIVES = (r"istri|isteri|bini|suami|laki|anak|anakku|anak2|bocil|ibu|bapak|ayah|mama|mamah"
              r"|papa|papah|ortu|nyokap|bokap|adik|adek|ade|kakak|kaka|kk|mertua|nenek|kakek"
              r"|om|tante|keponakan|ponakan|teman|temen|pacar|cucu|wife|husband|son|daughter|kid"
              r"|kids|children|child|mom|dad|mother|father|garwa|bojo|putra|putri|simbah|mbah"
              r"|eyang|rayi|raka|pamajikan|salaki|budak|uda|uni|amak|apak")
# "sama istri", "and our 2 kids", "kaliyan garwa" (Javanese), "jeung pamajikan" (Sundanese)
_WITH_RELATIVES = re.compile(
    rf"(?:sama|sm|ama|dan|dgn|dengan|bareng|brg|plus|\+|&|with|and|,|kaliyan|kalih|karo"
    rf"|sareng|jeung|samo)\s*(?:(?:my|our|the|his|her)\s+)?"
    rf"(?:(\d|satu|dua|tiga|empat|se|two|three|four)\s*)?(?:orang\s+)?({_RELATIVES})(?!\w)",
    re.I)


def applicant_count(message: Message, asked: bool) -> int | None:
    """How many people come.

    Outside the count question only explicit phrases count ("2 orang", "berdua",
    "sendiri"); when the question was asked, a bare number and "sy aja" / "gw doang" /
    "just me" too, and people named beside the applicant are added up ("berdua sama
    istri" is 2, "saya sama 2 anak" is 3).
    """
    if message.is_payload:
        value = message.entity("applicant_count")
        return as_count(value)
    text = message.lowered
    for word, number in _GROUP_WORDS.items():
        if number and re.search(rf"(?<!\w){word}(?!\w)", text):
            return number
    match = _N_PEOPLE.search(text)
    if match:
        return as_count(match.group(1))
    if _ALONE.search(text) and not _WITH_RELATIVES.search(text):
        return 1
    relatives = _WITH_RELATIVES.findall(text)
    if relatives and re.search(rf"(?<!\w){_SELF}(?!\w)|^\s*(sama|sm|ama|bareng|with)", text):
        # "saya sama istri", "sy dan 2 anak sy": the applicant plus the people named
        return 1 + sum(as_count(n) or (2 if rel in ("ortu",) else 1) for n, rel in relatives)
    if not asked:
        return None
    number = bare_number(message)
    if number is not None:
        return number
    words = re.fullmatch(r"\s*(satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh)"
                         r"\s*(?:aja|saja|ya|deh)?\s*", text)
    return _COUNT_NUMBER_WORDS[words.group(1)] if words else None


def as_count(value: Any) -> int | None:
    """A whole number of people from an entity value or a word ("2", 2.0, "dua"), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in _COUNT_NUMBER_WORDS:
        return _COUNT_NUMBER_WORDS[value.strip().lower()]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number or abs(number) > 1000 or number != int(number):  # NaN, inf, 2.5
        return None
    return int(number)


# --- service and passport type --------------------------------------------------------
_SERVICE_WORDS = (
    ("hilang", r"hilang|ilang|kehilangan|lost|kecurian|dicuri|dicopet|kecopetan|ical"),
    ("rusak", r"rusak|sobek|robek|basah|kena air|kebakar|terbakar|damaged|broken|lecek|sobek2"),
    ("penggantian", r"ganti|penggantian|gantian|perpanjang\w*|panjangin|habis|abis|expired?"
                    r"|kadaluar?sa|kedaluwarsa|kadaluwarsa|penuh|mati|renew\w*|lama"),
    ("baru", r"baru|pertama|pertama kali|bikin|buat\s+paspor|pembuatan|new|belum pernah punya"
             r"|enggal|anyar|first"),
)
# Vowel-less abbreviations typed in a hurry, read in a message about the passport.
_SERVICE_ABBREVIATIONS = (
    ("baru", r"bru|br|baruu"), ("hilang", r"ilng|hlg|hlng|ilg|ilang2"),
    ("rusak", r"rsk|rusk|rsak"), ("penggantian", r"prpnjg|perpnjg|prpjg|pnjg|gnti|gnt"),
)
_STRONG_SERVICE_WORDS = (
    ("hilang", r"hilang|kehilangan|kecurian|dicuri|kecopetan"),
    ("rusak", r"rusak|sobek|robek"),
    ("penggantian", r"penggantian|perpanjang\w*|expired|kadaluar?sa|kedaluwarsa|kadaluwarsa"),
)
_PASSPORT_WORDS = (
    ("biasa", r"biasa|non[\s-]?elektronik|non[\s-]?e[\s-]?paspor|manual|konvensional|regular"
              r"|reguler|ordinary|normal|standard|standar|yang murah|yg murah|non[\s-]?chip|biaso"),
    ("elektronik", r"elektronik|elektronic|electronic|e[\s-]?paspor|e[\s-]?pasport"
                   r"|e[\s-]?passport|chip|epaspor"),
)
_INDIFFERENT = re.compile(
    r"(?<!\w)(terserah|trserah|terserh|serah|bebas|apa aja|apa saja|mana aja|mana saja"
    r"|yang mana aja|yg mana aja|gpp|ga papa|gak papa|nggak papa|any|whatever|anything"
    r"|up to you|sembarang|yg ada|yang ada|yang kosong|yg kosong|kapan aja|kapan saja"
    r"|jam berapa aja|jam brp aja)(?!\w)", re.I)


def _pick(text: str, table: tuple[tuple[str, str], ...]) -> str | None:
    for canonical, words in table:
        if re.search(rf"(?<!\w)(?:{words})(?!\w)", text, re.I):
            return canonical
    return None


def service_type(message: Message, asked: bool) -> str | None:
    """Baru / penggantian / hilang / rusak, from a choice, the words used or the NLU."""
    value = message.entity("service_type")
    if message.is_payload:
        return str(value) if value in ("baru", "penggantian", "hilang", "rusak") else None
    text = message.lowered
    # Outside the question only a message about the passport, or a word with no other
    # reading, names the service: "abis dzuhur" and "saya baru tahu" do not.
    table: tuple[tuple[str, str], ...]
    if asked or re.search(r"pasp|pspr|passport", text):
        table = _SERVICE_WORDS
    else:
        table = _STRONG_SERVICE_WORDS
    found = _pick(text, table) or (_near_word(text, table) if asked else None)
    if found is None and table is _SERVICE_WORDS:
        found = _pick(text, _SERVICE_ABBREVIATIONS)  # "mw dftr paspr bru"
    if found:
        return found
    return str(value) if value in ("baru", "penggantian", "hilang", "rusak") else None


def _near_word(text: str, table: tuple[tuple[str, str], ...]) -> str | None:
    """A one-word answer with a slip of the thumb ("bru", "biasaa", "elektonik")."""
    words = text.split()
    if len(words) > 2:
        return None
    typed = words[-1] if words else ""
    forms = {typed, re.sub(r"(\w)\1+", r"\1", typed)}
    best, best_score = None, 0.0
    for canonical, alternatives in table:
        for word in [canonical, *re.split(r"\|", alternatives)]:
            if not re.fullmatch(r"[a-z-]{3,}", word):
                continue
            score = max(difflib.SequenceMatcher(None, form, word).ratio() for form in forms)
            if score > best_score:
                best, best_score = canonical, score
    return best if best_score >= 0.85 else None


def passport_type(message: Message, asked: bool) -> str | None:
    """Biasa / elektronik; "non elektronik" wins over "elektronik"."""
    value = message.entity("passport_type")
    if value in ("biasa", "elektronik"):
        return str(value)
    if message.is_payload:
        return None
    text = message.lowered
    if not asked and not re.search(r"paspor|pasport|passport|pspr|e[\s-]?pas|elektronik", text):
        return None
    return _pick(text, _PASSPORT_WORDS) or (_near_word(text, _PASSPORT_WORDS) if asked else None)


def indifferent(message: Message) -> bool:
    """"terserah", "bebas", "apa aja": the applicant leaves the choice to the office."""
    return not message.is_payload and bool(_INDIFFERENT.search(message.lowered))
