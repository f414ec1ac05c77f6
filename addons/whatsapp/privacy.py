"""Keeping applicants' phone numbers out of the logs (UU PDP 27/2022).

Every number the channel logs on purpose goes through ``mask_phone``. Text that comes from
elsewhere — Meta's error messages, exception tracebacks — may carry a number too, so any run
of seven or more digits in it is masked the same way before it is logged.
"""
from __future__ import annotations

import re
import traceback
from typing import Any

from antrean.masking import mask_phone

_LONG_DIGITS = re.compile(r"\d{7,}")

__all__ = ["mask_phone", "scrub", "scrubbed_traceback"]


def scrub(text: Any, limit: int | None = None) -> str:
    """``text`` with every digit run of seven or more masked, optionally shortened."""
    cleaned = _LONG_DIGITS.sub(lambda match: mask_phone(match.group(0)), str(text))
    return cleaned if limit is None else cleaned[:limit]


def scrubbed_traceback() -> str:
    """The traceback of the exception being handled, with number-like digit runs masked."""
    return scrub(traceback.format_exc()).rstrip()
