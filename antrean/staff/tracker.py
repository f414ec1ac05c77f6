"""Rasa's tracker store as the staff tools see it: where it is, and what its messages say.

Rasa keeps one row per conversation event; the SQL over them is the store's
(``antrean/store/tracker_queries.py``). Its URL comes from ``LAW_TRACKER_URL``, by default
the embedded SQLite file of ``endpoints.yml`` (``var/tracker.db`` under the project root); in
production the PostgreSQL database that ``endpoints.prod.yml`` names. Here a user message is
judged: it "fell back" when Rasa answered with its fallback or predicted its intent under the
FallbackClassifier threshold of ``config.yml``.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from antrean.config import PROJECT_ROOT
from antrean.settings import TRACKER_URL_ENV
from antrean.staff.common import StaffError
from antrean.store.tracker_queries import TrackerEvents

DEFAULT_TRACKER_PATH = PROJECT_ROOT / "var" / "tracker.db"
PIPELINE_CONFIG = PROJECT_ROOT / "config.yml"
FALLBACK_INTENT = "nlu_fallback"
RASA_DEFAULT_THRESHOLD = 0.3  # FallbackClassifier's default when config.yml sets none


def tracker_url_from_env() -> str:
    """Rasa's tracker store as the settings name it (``LAW_TRACKER_URL``)."""
    from antrean.settings import Settings

    return Settings.from_env().tracker_url


def fallback_threshold(path: Path = PIPELINE_CONFIG) -> float:
    """The FallbackClassifier threshold of the NLU pipeline in ``config.yml``."""
    try:
        pipeline = yaml.safe_load(path.read_text(encoding="utf-8")).get("pipeline") or []
    except (OSError, AttributeError, yaml.YAMLError):
        return RASA_DEFAULT_THRESHOLD
    for component in pipeline:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", RASA_DEFAULT_THRESHOLD))
    return RASA_DEFAULT_THRESHOLD


@dataclass
class MessageStats:
    """User messages of a period and how many of them the assistant did not understand."""

    total: int = 0
    fallback: int = 0
    per_intent: Counter = field(default_factory=Counter)
    per_day: dict[dt.date, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, day: dt.date, intent: str | None, fell_back: bool) -> None:
        self.total += 1
        self.per_intent[intent or "(tanpa intent)"] += 1
        self.per_day[day][0] += 1
        if fell_back:
            self.fallback += 1
            self.per_day[day][1] += 1


def fell_back(intent: str | None, data: str | None, threshold: float) -> bool:
    """Rasa answered with its fallback, or the intent was predicted under the threshold."""
    if intent == FALLBACK_INTENT:
        return True
    try:
        parsed: Any = json.loads(data or "{}")
        confidence = parsed.get("parse_data", {}).get("intent", {}).get("confidence")
    except (ValueError, AttributeError):
        return False
    return isinstance(confidence, (int, float)) and confidence < threshold


class TrackerStore(TrackerEvents):
    """The events of Rasa's tracker store at ``url``, for the staff commands."""

    def missing_store_error(self, path: str) -> Exception:
        return StaffError(f"Tracker store tidak ditemukan: {path} (atur {TRACKER_URL_ENV}).", 3)

    def message_stats(
        self, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo, threshold: float
    ) -> MessageStats:
        """User messages with ``start`` ≤ time < ``end``, counted per intent and day."""
        stats = MessageStats()
        for message in self.user_messages(start, end):
            day = dt.datetime.fromtimestamp(message.timestamp, tz).date()
            stats.add(day, message.intent_name,
                      fell_back(message.intent_name, message.data, threshold))
        return stats
