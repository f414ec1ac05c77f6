"""Reading names, yes/no at the summary, and parts of the day, from an applicant's reply.

Companion of :mod:`actions.reading` (dates, times, counts, services); pure functions.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from actions.reading import _BIRTH_MARK, _DMY, _NIK, Message

# --- names ---------------------------------------------------------------------------
# "nama saya Budi", "namanya Budi", "atas nama Budi", "a.n. Budi", "nama: Budi".
_NAME_INTRO = re.compile(
    r"(?<!\w)(?:nama(?:\s+lengkap(?:nya)?)?(?:\s+(?:saya|sy|aku|ku|gw|gue|ane|beliau|anak\s+saya"
    r"|istri\s+saya|suami\s+saya|ibu\s+saya|bapak\s+saya|anaknya|nya))?|namaku|namanya"
    r"|atas\s+nama|a\.\s?n\.?|a/n|my\s+name\s+is)(?!\w)\s*(?:adalah|:|=|-)?\s*", re.I)
# Words after a name that start something else: "…, lahir 12-03-1990", "… NIK 3171…".
_NAME_END = re.compile(r"\s*(?:[,;(]|\blahir\b|\blhr\b|\bttl\b|\btgl\b|\btanggal\b|\bnik\b"
                       r"|\bktp\b|\bno\b|\bumur\b|\busia\b|\d)", re.I)
# Polite words around an answer that are not part of the name.
_NAME_PREFIX_WORDS = re.compile(r"^(?:saya|sy|aku|gw|gue|ane|ini|itu|oh|ok|oke|iya|ya|baik"
                                r"|siap|namanya|nama|pak|bu|kak|mas|mbak)\b[\s,:.-]*", re.I)
_NAME_SUFFIX_WORDS = re.compile(r"[\s,.-]*\b(?:kak|ka|min|pak|bu|mas|mbak|ya|yah|ok|oke"
                                r"|terima\s*kasih|makasih|mksh|thx)\s*[.!]*$", re.I)
# Replies to the name question that are no name.
_NOT_NAMES = {"ya", "iya", "ok", "oke", "okay", "siap", "baik", "sebentar", "bentar", "tunggu",
              "nanti", "halo", "hai", "hi", "p", "ping", "tidak", "gak", "ga", "nggak", "no",
              "yes", "test", "tes", "hmm", "apa", "lupa", "gatau", "ga tau", "tidak tahu",
              "nama", "nama saya", "saya", "aku", "gw", "paspor", "baru", "biasa", "elektronik",
              "sendiri", "besok", "batal", "benar", "betul", "bener", "sudah", "udah", "belum",
              "salah", "terserah", "bebas", "makasih", "terima kasih", "thanks"}
# Words of a sentence, not of a name: a reply holding one is no name ("eh salah, tanggalnya
# jumat aja", "bentar ya saya cek dulu").
_NEVER_IN_NAMES = {"salah", "tanggal", "tanggalnya", "tgl", "jam", "jamnya", "besok", "lusa",
                   "mau", "ingin", "pengen", "bisa", "boleh", "tolong", "dong", "deh", "aja",
                   "saja", "ya", "yah", "kok", "sih", "nih", "tuh", "udah", "sudah", "belum",
                   "nanti", "bentar", "sebentar", "dulu", "tidak", "gak", "ga", "nggak", "bukan",
                   "ganti", "ubah", "diganti", "diubah", "maksud", "maksudnya", "eh", "loh",
                   "paspor", "antrian", "antrean", "daftar", "nik", "ktp", "lahir", "orang",
                   "berapa", "apa", "gimana", "kapan", "dimana", "kenapa", "jadi", "tapi",
                   "terus", "lagi", "cek", "batal", "batalin", "the", "is", "my", "name"}
# Words of the booking itself: a reply made only of these is no name ("Paspor Baru").
_BOOKING_WORDS = {"paspor", "pasport", "passport", "baru", "biasa", "elektronik", "antri",
                  "antrian", "antrean", "daftar", "mau", "saya", "ganti", "hilang", "rusak",
                  "perpanjang", "book", "booking", "can", "i", "want", "to", "a", "the", "yang",
                  "yg", "untuk", "buat", "bikin", "e-paspor", "new"}
_LETTER_PUNCT = set("'’`.-, ")



class NameProblem(str):
    """Why a reply to the name question is not taken as a name."""


NOT_A_NAME = NameProblem("not_a_name")
HAS_EMOJI = NameProblem("emoji")
HAS_DIGITS = NameProblem("digits")


def _is_symbol(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith("S") or category in ("Cs", "Co", "Cf") or ord(char) >= 0x1F000


def tidy_name(raw: str) -> str | NameProblem:
    """A name as typed (trimmed, inner spaces made one), or why it is none.

    Letters of any script with accents are kept as typed ("José", "Ni Luh Putu Ayu"), as
    are apostrophes, dots and hyphens ("Nur'aini", "Muh. Al-Fatih"); emoji and digits are
    refused so the applicant can type the name again.
    """
    text = " ".join(raw.replace("\u200d", "").split()).strip(" ,.;:!-")
    if any(_is_symbol(c) for c in text):
        return HAS_EMOJI
    if any(c.isdigit() for c in text):
        return HAS_DIGITS
    if not text or any(not (c.isalpha() or c in _LETTER_PUNCT) for c in text):
        return NOT_A_NAME
    if sum(c.isalpha() for c in text) < 2 or len(text) > 80 or text.lower() in _NOT_NAMES:
        return NOT_A_NAME
    words = text.lower().replace(",", " ").split()
    if all(word in _BOOKING_WORDS for word in words) or any(w in _NEVER_IN_NAMES for w in words):
        return NOT_A_NAME
    return text


def introduced_name(message: Message) -> str | None:
    """A name introduced as such anywhere: "nama saya Budi Santoso", "atas nama Siti"."""
    if message.is_legacy or message.is_payload:
        value = message.entity("person_name")
        return str(value).strip() if value else None
    match = _NAME_INTRO.search(message.text)
    if not match:
        return None
    rest = message.text[match.end():]
    end = _NAME_END.search(rest)
    candidate = tidy_name(_NAME_SUFFIX_WORDS.sub("", rest[:end.start()] if end else rest))
    return candidate if not isinstance(candidate, NameProblem) else None


def answered_name(message: Message) -> str | NameProblem:
    """The reply to "what is the full name?", with birth date and NIK cut off if given too."""
    if message.is_payload:
        value = message.entity("person_name")
        return tidy_name(str(value)) if value else NOT_A_NAME
    introduced = introduced_name(message)
    if introduced:
        return introduced
    text = _NIK.sub(" ", message.text)
    for match in _DMY.finditer(text):
        text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    end = _NAME_END.search(text)
    if end and end.start() > 0:
        text = text[:end.start()]
    text = _NAME_SUFFIX_WORDS.sub("", _NAME_PREFIX_WORDS.sub("", text.strip()))
    text = _BIRTH_MARK.sub("", text)
    return tidy_name(text)


# --- the summary: yes or no -------------------------------------------------------------
_YES = re.compile(
    r"^\s*(?:y|ya+|yaa+|iya+|iy|yes+|yup|yoi|ok+|oke+|okey|okay|sip+|siap|benar|bener|bnr"
    r"|betul|btl|betol|udah benar|sudah benar|sdh benar|udh bener|setuju|lanjut|gas|gass+"
    r"|mantap|confirm|konfirmasi|correct|right|yes please|boleh|pas|cocok|sesuai|fix|yakin"
    r"|leres|muhun|nggih|enggih|inggih|iye|sampun|mangga|monggo|yes correct|that's right"
    r"|iyo|alah bana|bana|olo|eh iyo"
    r"|👍|👌|🙏|✅"
    r"|ya\s*udah|ya\s*sudah|udah|sudah|sdh|udh|ok\s*deh|oke\s*deh)"
    r"(?:[\s,.!]+(?:benar|bener|betul|sudah|udah|semua|semuanya|kak|ka|min|pak|bu|mas|mbak|dong"
    r"|deh|ya|yah|aja|lanjut|daftar|daftarkan|ambil|sesuai|mantap|ok|oke|thanks|makasih"
    r"|terima kasih|sip|gas|betul|itu|data|datanya|semua data|nya))*\s*[.!👍🙏😊]*\s*$", re.I)
_NO = re.compile(r"^\s*(?:tidak|tdk|gak|ga|nggak|enggak|engga|no|nope|bukan|salah|keliru|henteu"
                 r"|mboten|ora|kagak|ogah|lepat"
                 r"|ada yang salah|ada yg salah|belum benar|blm bener|kurang tepat)\b", re.I)


# A reply opening with a yes word ("iya pindahin", "ok gas daftarin") confirms, unless a
# doubt follows ("ya tapi…", "iya, eh jangan").
_YES_START = re.compile(r"^\s*(?:y|ya+|iya+|iy|yes|yess|yup|yoi|ok+|oke+|okey|okay|sip+|siap|benar"
                        r"|yakin|leres|muhun|nggih|enggih|inggih|iye|sampun|mangga|monggo|iyo|olo"
                        r"|bener|betul|setuju|lanjut|gas+|boleh|mantap|ya\s*udah|ya\s*sudah)"
                        r"(?!\w)", re.I)
_DOUBT = re.compile(r"(?<!\w)(?:tidak|tdk|gak|ga|nggak|enggak|bukan|salah|tapi|tp|ganti|ubah"
                    r"|batal\w*|jangan|belum|blm|kecuali)(?!\w)", re.I)


def says_yes(message: Message) -> bool:
    """A confirmation: "ya", "iya benar", "ok lanjut", "sudah benar kak", "iya pindahin"."""
    text = message.text
    return (text.strip() == "/affirm" or bool(_YES.match(text))
            or (bool(_YES_START.match(text)) and not _DOUBT.search(text)))


def says_no(message: Message) -> bool:
    """"tidak", "salah", "ada yang salah": something in the summary is wrong."""
    return message.text.strip() == "/deny" or bool(_NO.match(message.text))


# --- parts of the day, for "pagi" / "abis dzuhur" at the time question -------------------
_DAY_PARTS: tuple[tuple[str, str, dt.time, dt.time], ...] = (
    ("setelah zuhur", r"(?:abis|habis|hbs|setelah|stlh|sesudah|ba'?da|bakda|lepas)\s*"
                      r"(?:dzuhur|dhuhur|zuhur|zhuhur|duhur|lohor|zuhr|makan\s*siang|istirahat"
                      r"|isoma|jam\s*makan\s*siang|sholat\s*jumat|jumatan)",
     dt.time(13, 0), dt.time(14, 30)),
    ("pagi", r"pagi+|pgi|morning|subuh|pagi2|pagi-pagi|paling pagi|pagian|isuk|isuk-isuk",
     dt.time(8, 0), dt.time(10, 30)),
    ("siang", r"siang+|siank|noon|tengah hari|agak siang|siangan|lunch",
     dt.time(11, 0), dt.time(13, 0)),
    ("sore", r"sore+|sorean|afternoon|petang|agak sore|paling sore|terakhir",
     dt.time(13, 30), dt.time(14, 30)),
)


def day_part(message: Message) -> tuple[str, dt.time, dt.time] | None:
    """The part of the day named ("pagi", "abis dzuhur"), with its first and last slot."""
    if message.is_payload:
        return None
    for name, words, first, last in _DAY_PARTS:
        if re.search(rf"(?<!\w)(?:{words})(?!\w)", message.text, re.I):
            return name, first, last
    return None
