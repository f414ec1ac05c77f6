"""Rasa's SQL tracker store, read for the reports and trimmed by the retention.

Rasa (``SQLTrackerStore``) keeps one row per conversation event in the table ``events``;
the sender id is the applicant's WhatsApp number. The table is declared here again rather
than imported from Rasa, which takes seconds to import. Its URL comes from
``LAW_TRACKER_URL``, by default the embedded SQLite file of ``endpoints.yml``
(``var/tracker.db`` under the project root); in production the PostgreSQL database that
``endpoints.prod.yml`` names.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.engine import Engine, make_url

from antrean.config import PROJECT_ROOT
from antrean.staff.common import StaffError
from antrean.staff.store import chunks

TRACKER_URL_ENV = "LAW_TRACKER_URL"
DEFAULT_TRACKER_PATH = PROJECT_ROOT / "var" / "tracker.db"
PIPELINE_CONFIG = PROJECT_ROOT / "config.yml"
FALLBACK_INTENT = "nlu_fallback"
RASA_DEFAULT_THRESHOLD = 0.3  # FallbackClassifier's default when config.yml sets none
USER_EVENT = "user"

metadata = MetaData()

# Rasa 3.6 ``SQLTrackerStore.SQLEvent``.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),  # seconds since the epoch
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),  # the event as JSON
)


def tracker_url_from_env() -> str:
    return os.environ.get(TRACKER_URL_ENV) or f"sqlite:///{DEFAULT_TRACKER_PATH}"


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


def epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


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


class TrackerStore:
    """The events table of Rasa's tracker store at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            parsed = make_url(self.url)
            if parsed.get_backend_name() == "sqlite":
                if parsed.database and not Path(parsed.database).exists():
                    raise StaffError(f"Tracker store tidak ditemukan: {parsed.database} "
                                     f"(atur {TRACKER_URL_ENV}).", 3)
                # Rasa may be writing at the same time: wait for its lock, do not fail.
                self._engine = create_engine(self.url, future=True,
                                             connect_args={"timeout": 30})
            else:
                self._engine = create_engine(self.url, future=True, pool_pre_ping=True)
        return self._engine

    def has_events(self) -> bool:
        return inspect(self.engine).has_table(events.name)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def message_stats(
        self, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo, threshold: float
    ) -> MessageStats:
        """User messages with ``start`` ≤ time < ``end``, counted per intent and day."""
        stats = MessageStats()
        if not self.has_events():
            return stats
        query = select(events.c.timestamp, events.c.intent_name, events.c.data).where(
            events.c.type_name == USER_EVENT,
            events.c.timestamp >= epoch(start),
            events.c.timestamp < epoch(end),
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query):
                day = dt.datetime.fromtimestamp(row.timestamp, tz).date()
                stats.add(day, row.intent_name, fell_back(row.intent_name, row.data, threshold))
        return stats

    # --- retention -------------------------------------------------------------------
    def senders_before(self, before: dt.datetime) -> list[str]:
        """Conversations holding events older than ``before``."""
        if not self.has_events():
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.sender_id).where(events.c.timestamp < epoch(before)).distinct()
            )
            return sorted(r.sender_id for r in rows)

    def remove_before(self, before: dt.datetime, senders: Sequence[str], dry_run: bool) -> int:
        """Delete (or with ``dry_run`` count) these senders' events older than ``before``."""
        total = 0
        for part in chunks(list(senders)):
            condition = (events.c.timestamp < epoch(before)) & events.c.sender_id.in_(part)
            with self.engine.begin() as conn:
                if dry_run:
                    total += conn.execute(
                        select(func.count()).select_from(events).where(condition)
                    ).scalar_one()
                else:
                    total += int(conn.execute(delete(events).where(condition)).rowcount or 0)
        return total
