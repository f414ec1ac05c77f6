"""Takeovers of a conversation by staff (table ``takeovers``), and the personal data to mask.

A takeover is active while ``ended_at`` is NULL; a number has at most one active takeover.
Starting one locks the number's open hand-off requests first (``FOR UPDATE``; on SQLite the
transaction holds the write lock from ``BEGIN IMMEDIATE``), so two staff members clicking
"Ambil alih" at once cannot both start one. The rules around it (pausing Rasa, who may end
it) are the console's (``law_console/handoff.py``).

:func:`paused_in_rasa` tells whether Rasa still holds a conversation paused (a new session
ends a pause); :func:`personal_values` reads from Rasa's tracker store what an applicant told
the bot about themselves (the values of the personal slots), so the console can mask them
wherever they appear in the conversation it shows.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select

from antrean.store.tables import handoff_requests, staff_users, takeovers
from antrean.store.tracker_queries import TrackerEvents, epoch, events

# Events after which a conversation is paused (pause) or not (the others reset the tracker).
PAUSE_EVENTS = ("pause", "resume", "session_started", "restart")
# Slots of the domain that hold personal data (names, dates of birth, NIKs, booking codes).
PERSONAL_SLOTS = ("person_name", "birth_date", "nik", "applicants", "booking_code",
                  "owner_birth_date")


@dataclass(frozen=True)
class Takeover:
    """A member of staff answering an applicant instead of the bot."""

    id: int
    phone: str
    staff_user_id: int
    staff_name: str  # the account's display name
    started_at: dt.datetime
    ended_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


class TakeoverQueries:
    """Operations on an open transaction (``TakeoverQueries(tx.conn)``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def start(self, phone: str, staff_user_id: int, now: dt.datetime) -> Takeover | None:
        """Start a takeover of ``phone``; None (nothing written) when one is active already."""
        self.conn.execute(select(handoff_requests.c.id).where(
            handoff_requests.c.phone == phone, handoff_requests.c.resolved_at.is_(None)
        ).with_for_update())
        if self.active(phone) is not None:
            return None
        new_id = self.conn.execute(insert(takeovers).values(
            phone=phone, staff_user_id=staff_user_id, started_at=now)).inserted_primary_key[0]
        return self.by_id(new_id)

    def active(self, phone: str) -> Takeover | None:
        """The active takeover of ``phone``, if any."""
        row = self.conn.execute(_select().where(
            takeovers.c.phone == phone, takeovers.c.ended_at.is_(None)
        ).order_by(takeovers.c.id.desc())).first()
        return _takeover(row) if row else None

    def all_active(self) -> dict[str, Takeover]:
        """Every active takeover, by number."""
        rows = self.conn.execute(_select().where(takeovers.c.ended_at.is_(None)))
        return {row.phone: _takeover(row) for row in rows}

    def by_id(self, takeover_id: int) -> Takeover | None:
        row = self.conn.execute(_select().where(takeovers.c.id == takeover_id)).first()
        return _takeover(row) if row else None

    def end(self, takeover_id: int, now: dt.datetime) -> bool:
        """End an active takeover; False when it had ended already."""
        result = self.conn.execute(update(takeovers).where(
            takeovers.c.id == takeover_id, takeovers.c.ended_at.is_(None)
        ).values(ended_at=now))
        return result.rowcount == 1

    def forget(self, takeover_id: int) -> None:
        """Remove a takeover that never took effect (Rasa could not be paused)."""
        self.conn.execute(delete(takeovers).where(takeovers.c.id == takeover_id))


def _select() -> Select:
    return select(takeovers, staff_users.c.display_name).join(
        staff_users, staff_users.c.id == takeovers.c.staff_user_id)


def _takeover(row: Row) -> Takeover:
    return Takeover(row.id, row.phone, row.staff_user_id, row.display_name, row.started_at,
                    row.ended_at)


def personal_values(tracker: TrackerEvents, sender: str) -> set[str]:
    """Every text value the personal slots of ``sender``'s conversation ever held."""
    if not tracker.has_events():
        return set()
    query = select(events.c.data).where(events.c.sender_id == sender,
                                        events.c.type_name == "slot")
    found: set[str] = set()
    with tracker.engine.connect() as conn:
        for row in conn.execute(query):
            try:
                event = json.loads(row.data or "{}")
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("name") in PERSONAL_SLOTS:
                found.update(_texts(event.get("value")))
    return found


def paused_in_rasa(tracker: TrackerEvents, sender: str,
                   since: dt.datetime | None = None) -> bool | None:
    """Whether Rasa holds ``sender``'s conversation paused, from its stored events.

    A new session (after ``session_expiration_time`` without a message) or a restart resets
    Rasa's tracker and so ends a pause. None when the conversation has none of these events
    (since ``since``, if given: a takeover's start, before its pause is stored).
    """
    if not tracker.has_events():
        return None
    query = select(events.c.type_name).where(events.c.sender_id == sender,
                                             events.c.type_name.in_(PAUSE_EVENTS))
    if since is not None:
        query = query.where(events.c.timestamp >= epoch(since))
    with tracker.engine.connect() as conn:
        last = conn.execute(query.order_by(events.c.id.desc()).limit(1)).scalar()
    return None if last is None else last == "pause"


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.strip():
        yield value.strip()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
