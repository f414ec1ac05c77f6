"""Masking of personal data for logs: only the last four characters stay readable."""
from __future__ import annotations


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
