"""Booking codes: short, unambiguous to read aloud, not guessable from other codes.

The alphabet leaves out 0/O and 1/I/L. Codes are drawn from a cryptographic random source
(so one code tells nothing about another); the last character is a check character, so a
mistyped code is recognised as invalid instead of matching somebody else's booking.
Codes are shown in two groups (``KM7Q-2PXA``) and accepted in any case, with or without
the dash or spaces.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_STRIP = re.compile(r"[\s\-_.]")


def _check_char(body: str) -> str:
    # Weighted sum (position-dependent), so swapping two characters is caught too.
    total = sum((i + 1) * _INDEX[c] for i, c in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_code(length: int = 8) -> str:
    """A fresh random code of ``length`` characters (check character included)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(length - 1))
    return body + _check_char(body)


def normalise_code(raw: str) -> str:
    """Upper-case, without separators."""
    return _STRIP.sub("", raw or "").upper()


def is_valid_code(raw: str, length: int = 8) -> bool:
    code = normalise_code(raw)
    if len(code) != length or any(c not in _INDEX for c in code):
        return False
    return _check_char(code[:-1]) == code[-1]


def display_code(code: str) -> str:
    """``KM7Q2PXA`` → ``KM7Q-2PXA`` (groups of four, easier to read aloud)."""
    code = normalise_code(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
