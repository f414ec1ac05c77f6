"""Masking of personal data for logs: only the last four characters stay readable."""
from __future__ import annotations

import re


def mask_tail(value: str | None, visible: int = 4) -> str:
    if not value:
        return ""
    text = str(value)
    if len(text) <= visible:
        return "*" * len(text)
    return "*" * (len(text) - visible) + text[-visible:]


def mask_phone(phone: str | None) -> str:
    """``6281299004406`` → ``*********4406``."""
    return mask_tail(phone)


def mask_name(name: str | None) -> str:
    """``Budi Santoso`` → ``B*** S******``."""
    if not name:
        return ""
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())


_LONG_DIGIT_RUN = re.compile(r"\d[\d .-]{6,}\d")


def mask_numbers_in_text(text: str | None) -> str:
    """Mask every run of 8 or more digits (a NIK, a phone number) inside free text.

    ``"nik saya 3171011203900003 ya"`` → ``"nik saya ************0003 ya"``.
    """
    if not text:
        return ""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return mask_tail(digits) if len(digits) >= 8 else match.group(0)

    return _LONG_DIGIT_RUN.sub(_mask, text)


def mask_code(code: str | None) -> str:
    """A booking code in a log: ``KM7Q2PXA`` → ``******XA``.

    A code is the key to a booking (with it, anyone sees its day and time), so a log keeps
    only enough to tell two codes apart by eye, like a NIK's last digits.
    """
    return mask_tail(str(code or "").replace("-", ""), visible=2)
