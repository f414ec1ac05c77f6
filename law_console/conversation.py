"""A conversation as staff read it in the hand-off inbox: Rasa's events, personal data masked.

The messages come from Rasa's tracker store (``LAW_TRACKER_URL``, read with
``antrean.store.tracker_queries``), so the inbox shows them even while Rasa is down. Until a
staff member clicks "tampilkan" (audited by the page), what could identify the applicant is
masked in every line: runs of 8 or more digits (NIK, phone numbers, ``ddmmyyyy``), dates of a
past year (a date of birth), booking codes, the words after "nama saya" / "atas nama", the
name segment of the legacy ``#Nama#…`` format, and every value the conversation's personal
slots held (names, NIKs, dates of birth, codes) wherever it appears, also in the bot's own
replies.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from antrean.codes import ALPHABET
from antrean.masking import mask_code, mask_name, mask_numbers_in_text, mask_tail
from antrean.store.tracker_queries import ConversationEvent
from law_console.takeover import CONSOLE_METADATA_KEY

# Booking codes: 8 characters of the code alphabet (antrean.codes), maybe split by a hyphen.
_CODE = re.compile(rf"\b[{ALPHABET}]{{4}}-?[{ALPHABET}]{{4}}\b")
_DATE = re.compile(
    r"\b\d{1,2}\s*[-/. ]\s*(?:\d{1,2}|[A-Za-z]{3,9})\.?\s*[-/. ]?\s*((?:19|20)\d{2})\b")
_LEGACY_NAME = re.compile(r"(?<=#)([^#\n\d][^#\n]*?)(?=#)")
# A name typed after "nama saya", "atas nama"… (up to four words), before any slot holds it.
_NAME_AFTER = re.compile(
    r"(?i)\b(nama(?:\s+(?:saya|sy|aku|ku|gw|gue|lengkap|lgkp|anak|istri|suami))?|atas\s+nama)"
    r"(\s*(?:adalah|:|=)?\s*)((?:[^\W\d_]+\.?[ \t]?){1,4})")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MASKED_DATE = "**-**-****"


@dataclass(frozen=True)
class Line:
    """One line of the conversation as shown.

    Attributes:
        id: The event's row in the tracker store (increasing; the poll asks for newer ones).
        who: ``pemohon``, ``asisten``, ``petugas`` or ``sistem`` (a pause or resume).
        label: Who wrote it, in words ("Pemohon", "Asisten", "Petugas Siti").
        text: The message, masked unless revealed.
        at: When, in office time ("14.05", or "30-11 14.05" for an earlier day).
    """

    id: int
    who: str
    label: str
    text: str
    at: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Masker:
    """Masks personal data in a text; ``Masker.none()`` leaves texts as they are (revealed).

    Args:
        known: Values the applicant gave (the personal slots' values).
        this_year: Dates of earlier years are taken as dates of birth and masked.
        public: Texts left as they are (the office's own phone number in the bot's replies).
    """

    def __init__(self, known: Iterable[str], this_year: int, public: Iterable[str] = (),
                 active: bool = True) -> None:
        self.active = active
        self.this_year = this_year
        self.known = sorted({v for v in known if len(v.strip()) >= 3}, key=len, reverse=True)
        kept = sorted({v for v in public if v}, key=len, reverse=True)
        self.public = re.compile("|".join(map(re.escape, kept))) if kept else None

    @classmethod
    def none(cls) -> Masker:
        return cls((), 0, active=False)

    def __call__(self, text: str | None) -> str:
        if not text:
            return ""
        if not self.active:
            return text
        if self.public is None:
            return self._mask(text)
        pieces = self.public.split(text)
        kept = self.public.findall(text)
        return "".join(self._mask(piece) + (kept[i] if i < len(kept) else "")
                       for i, piece in enumerate(pieces))

    def _mask(self, text: str) -> str:
        for value in self.known:
            text = re.sub(re.escape(value), _mask_value(value), text, flags=re.IGNORECASE)
        text = _LEGACY_NAME.sub(lambda m: mask_name(m.group(1)), text)
        text = _NAME_AFTER.sub(_name_after, text)
        text = _DATE.sub(self._date, text)
        text = mask_numbers_in_text(text)
        return _CODE.sub(_code, text)

    def _date(self, match: re.Match[str]) -> str:
        return MASKED_DATE if int(match.group(1)) < self.this_year else match.group(0)


def _mask_value(value: str) -> str:
    compact = value.replace("-", "").replace(" ", "")
    if compact.isdigit():
        return mask_tail(compact)
    if _ISO_DATE.match(value):
        return MASKED_DATE
    if _CODE.fullmatch(value.upper()) and any(c.isdigit() for c in value):
        return mask_code(value)
    return mask_name(value)


def _name_after(match: re.Match[str]) -> str:
    name = match.group(3)
    kept = name[len(name.rstrip()):]
    return match.group(1) + match.group(2) + mask_name(name.strip()) + kept


def _code(match: re.Match[str]) -> str:
    code = match.group(0)
    return mask_code(code) if any(c.isdigit() for c in code) else code


def lines(found: list[ConversationEvent], masker: Callable[[str | None], str],
          tz: dt.tzinfo, today: dt.date) -> list[Line]:
    """The events as lines for the page (events that show nothing are left out)."""
    shown = []
    for event in found:
        line = _line(event, masker, tz, today)
        if line is not None:
            shown.append(line)
    return shown


def _line(event: ConversationEvent, masker: Callable[[str | None], str], tz: dt.tzinfo,
          today: dt.date) -> Line | None:
    try:
        data = json.loads(event.data or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    moment = dt.datetime.fromtimestamp(event.timestamp or 0, dt.timezone.utc).astimezone(tz)
    at = f"{moment:%H.%M}" if moment.date() == today else f"{moment:%d-%m %H.%M}"
    if event.type_name == "pause":
        return Line(event.id, "sistem", "", "Petugas mengambil alih; asisten diam.", at)
    if event.type_name == "resume":
        return Line(event.id, "sistem", "", "Asisten kembali melayani.", at)
    text = data.get("text")
    if event.type_name == "user":
        if not text:
            return None
        return Line(event.id, "pemohon", "Pemohon", masker(str(text)), at)
    if not text:
        return None  # a bot event with buttons only, or a custom payload
    metadata = data.get("metadata")
    staff = metadata.get(CONSOLE_METADATA_KEY) if isinstance(metadata, dict) else None
    if isinstance(staff, dict):
        name = str(staff.get("staff") or "").strip()
        return Line(event.id, "petugas", f"Petugas {name}".strip(), masker(str(text)), at)
    return Line(event.id, "asisten", "Asisten", masker(str(text)), at)
