"""Applicant messages as the retraining loop reads them from Rasa's tracker store.

A stored ``user`` event holds the text and Rasa's parse: the intent, its confidence, the
ranking of the other intents and the entities. Here such a message is judged (did it fall
back, was it under a confidence threshold), its personal data masked, and its text brought to
the form two messages are compared in.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from antrean.codes import is_valid_code
from antrean.masking import mask_code, mask_name, mask_numbers_in_text
from antrean.staff.tracker import FALLBACK_INTENT

DEFAULT_CONFIDENCE_THRESHOLD = 0.7
# Entities whose text is personal data; masked in exported messages like NIKs and numbers.
PERSONAL_ENTITIES = ("person_name",)
MASK_RUN = re.compile(r"\*{3,}")
# A word that could be a booking code (8 characters of the code alphabet, maybe "KM7Q-2PXA").
CODE_LIKE = re.compile(r"\b[0-9A-Za-z]{4}[-\s]?[0-9A-Za-z]{4}\b")


def normalise(text: str) -> str:
    """The form two messages are compared in: case, punctuation and spacing do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w*#]+", " ", folded).split())


def mask_personal_data(text: str, entities: Iterable[dict[str, Any]] = ()) -> str:
    """Mask names the NLU recognised, then every NIK-like or phone-like digit run and code."""
    spans = sorted(
        (e for e in entities
         if e.get("entity") in PERSONAL_ENTITIES
         and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: e["start"], reverse=True,
    )
    for entity in spans:
        start, end = entity["start"], entity["end"]
        if 0 <= start < end <= len(text):
            text = text[:start] + mask_name(text[start:end]) + text[end:]
    return mask_codes(mask_numbers_in_text(text))


def mask_codes(text: str) -> str:
    """Mask every word that is a valid booking code (its check character agrees)."""
    return CODE_LIKE.sub(
        lambda m: mask_code(m.group(0)) if is_valid_code(m.group(0)) else m.group(0), text)


def ranking(parse_data: dict[str, Any], intent_name: str | None = None
            ) -> list[tuple[str, float]]:
    """The model's guesses, best first, without the fallback (which displaced the first)."""
    guesses: list[tuple[str, float]] = []
    for ranked in parse_data.get("intent_ranking") or []:
        name, confidence = ranked.get("name"), ranked.get("confidence")
        if name and name != FALLBACK_INTENT and isinstance(confidence, (int, float)):
            guesses.append((name, float(confidence)))
    if not guesses:
        intent = parse_data.get("intent") or {}
        name = intent.get("name") or intent_name
        confidence = intent.get("confidence")
        if name and name != FALLBACK_INTENT and isinstance(confidence, (int, float)):
            guesses.append((name, float(confidence)))
    return guesses


def prediction(parse_data: dict[str, Any], intent_name: str | None) -> tuple[str, float] | None:
    """(intent, confidence) of a stored parse; a fallback shows the intent it displaced."""
    intent = parse_data.get("intent") or {}
    name = intent.get("name") or intent_name
    confidence = intent.get("confidence")
    if not name or not isinstance(confidence, (int, float)):
        return None
    if name == FALLBACK_INTENT:
        guesses = ranking(parse_data)
        if guesses:
            return guesses[0]
    return name, float(confidence)


def fell_back(parse_data: dict[str, Any], intent_name: str | None) -> bool:
    return (parse_data.get("intent") or {}).get("name", intent_name) == FALLBACK_INTENT


def reviewable_text(text: Any) -> bool:
    """Typed language: not empty, not a button payload ("/affirm")."""
    return isinstance(text, str) and bool(text.strip()) and not text.startswith("/")


def masked_text(text: str, parse_data: dict[str, Any]) -> str:
    """The text with personal data masked; entity offsets refer to the text as typed."""
    masked = mask_personal_data(text, parse_data.get("entities") or [])
    return " ".join(masked.split())
