"""Rasa's SQL tracker store: read for the staff reports and the review export, trimmed by retention.

Rasa (``SQLTrackerStore``) keeps one row per conversation event in the table ``events``; the
sender id is the applicant's WhatsApp number. The table is declared here again rather than
imported from Rasa, which takes seconds to import, and it is never created or migrated here:
it is Rasa's. Which database it is (``LAW_TRACKER_URL``) is for the caller to say.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Engine, make_url

from antrean.store.engine import create_store_engine
from antrean.store.staff_queries import chunks

USER_EVENT = "user"
BOT_EVENT = "bot"
SESSION_STARTED_EVENT = "session_started"
# What a staff member reading a conversation sees: the messages, and where staff took over.
CONVERSATION_EVENTS = (USER_EVENT, BOT_EVENT, "pause", "resume")
SQLITE_BUSY_TIMEOUT_S = 30

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


class TrackerStoreMissing(Exception):
    """The tracker store's SQLite file does not exist.

    Rasa has never run with it, or the URL is wrong. Reading must not create an empty file Rasa
    would then take for its store.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class UserMessage(NamedTuple):
    """One ``user`` event: when, the intent Rasa predicted, and the event as JSON."""

    timestamp: float
    intent_name: str | None
    data: str | None


class ConversationEvent(NamedTuple):
    """One event of a conversation as stored: its row id (increasing), when, type, JSON."""

    id: int
    timestamp: float
    type_name: str
    data: str | None


class StoredEvent(NamedTuple):
    """One message or action of a conversation, for the review of what the bot misread."""

    id: int
    sender_id: str
    timestamp: float
    type_name: str  # "user", "bot", "action" or "slot"
    intent_name: str | None
    action_name: str | None
    data: str | None


# What the review reads: the applicant's messages, the bot's replies, the actions between, and
# the slots set (to find the names to mask).
REVIEW_EVENTS = (USER_EVENT, BOT_EVENT, "action", "slot")


def epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


class TrackerEvents:
    """The events table of Rasa's tracker store at ``url``; opened at first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The engine, built at first use.

        Raises:
            Exception: ``missing_store_error(path)`` if the URL names a SQLite file that
                does not exist.
        """
        if self._engine is None:
            parsed = make_url(self.url)
            if parsed.get_backend_name() == "sqlite":
                if parsed.database and not Path(parsed.database).exists():
                    raise self.missing_store_error(parsed.database)
                # Rasa may be writing at the same time: wait for its lock, do not fail.
                self._engine = create_engine(
                    self.url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
                )
            else:
                self._engine = create_store_engine(self.url)
        return self._engine

    def missing_store_error(self, path: str) -> Exception:
        """What to raise for a missing SQLite file; a caller may say it in its own words."""
        return TrackerStoreMissing(path)

    def has_events(self) -> bool:
        """Whether Rasa has created its table yet (it does at its first conversation)."""
        return inspect(self.engine).has_table(events.name)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- reading ---------------------------------------------------------------------
    def count_user_messages(
        self, since: dt.datetime | None = None, before: dt.datetime | None = None
    ) -> int:
        """How many user messages :meth:`user_messages` would give (for a progress bar)."""
        if not self.has_events():
            return 0
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(events).where(*_period(since, before))
            return int(conn.execute(query).scalar() or 0)

    def user_messages(
        self, since: dt.datetime | None = None, before: dt.datetime | None = None
    ) -> Iterator[UserMessage]:
        """User messages with ``since`` ≤ time < ``before``, oldest event first.

        Rows are streamed, not loaded at once: a year of conversations does not fit in the
        memory of a staff laptop. Iterate to the end (or close the iterator) to release the
        connection.
        """
        if not self.has_events():
            return
        query = (
            select(events.c.timestamp, events.c.intent_name, events.c.data)
            .where(*_period(since, before))
            .order_by(events.c.id)
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query):
                yield UserMessage(row.timestamp, row.intent_name, row.data)

    def conversation(
        self, sender: str, limit: int = 20, after_id: int | None = None
    ) -> list[ConversationEvent]:
        """The last ``limit`` messages (and pauses/resumes) of ``sender``, oldest first.

        With ``after_id``, only the events stored after that row (what a polling page has
        not shown yet).
        """
        if not self.has_events():
            return []
        query = select(events.c.id, events.c.timestamp, events.c.type_name, events.c.data).where(
            events.c.sender_id == sender, events.c.type_name.in_(CONVERSATION_EVENTS))
        if after_id is not None:
            query = query.where(events.c.id > after_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events.c.id.desc()).limit(limit)).all()
        return [ConversationEvent(r.id, r.timestamp, r.type_name, r.data) for r in reversed(rows)]

    def review_events(
        self, since: dt.datetime | None = None, before: dt.datetime | None = None
    ) -> Iterator[StoredEvent]:
        """Messages and actions with ``since`` ≤ time < ``before``.

        One conversation after the other, each in the order stored; streamed (iterate to the
        end to free the connection).
        """
        if not self.has_events():
            return
        conditions = [events.c.type_name.in_(REVIEW_EVENTS)]
        if since is not None:
            conditions.append(events.c.timestamp >= epoch(since))
        if before is not None:
            conditions.append(events.c.timestamp < epoch(before))
        query = (select(events.c.id, events.c.sender_id, events.c.timestamp, events.c.type_name,
                        events.c.intent_name, events.c.action_name, events.c.data)
                 .where(*conditions).order_by(events.c.sender_id, events.c.id))
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query):
                yield StoredEvent(row.id, row.sender_id, row.timestamp, row.type_name,
                                  row.intent_name, row.action_name, row.data)

    def messages_around(self, event_id: int, before: int = 6, after: int = 6
                        ) -> list[ConversationEvent]:
        """The messages of the conversation of event ``event_id`` just before and after it.

        Also every ``slot`` event of that conversation (after the messages), whose values tell
        the caller which names to mask.
        """
        if not self.has_events():
            return []
        with self.engine.connect() as conn:
            sender = conn.execute(
                select(events.c.sender_id).where(events.c.id == event_id)).scalar()
            if sender is None:
                return []
            columns = (events.c.id, events.c.timestamp, events.c.type_name, events.c.data)
            mine = (events.c.sender_id == sender, events.c.type_name.in_(REVIEW_EVENTS[:2]))
            earlier = conn.execute(select(*columns).where(*mine, events.c.id <= event_id)
                                   .order_by(events.c.id.desc()).limit(before + 1)).all()
            later = conn.execute(select(*columns).where(*mine, events.c.id > event_id)
                                 .order_by(events.c.id).limit(after)).all()
            slots = conn.execute(select(*columns).where(
                events.c.sender_id == sender, events.c.type_name == "slot")
                .order_by(events.c.id)).all()
        return [ConversationEvent(r.id, r.timestamp, r.type_name, r.data)
                for r in [*reversed(earlier), *later, *slots]]

    def last_user_message_at(self, sender: str) -> dt.datetime | None:
        """When ``sender`` last wrote (WhatsApp's 24-hour window runs from it)."""
        if not self.has_events():
            return None
        with self.engine.connect() as conn:
            stamp = conn.execute(select(func.max(events.c.timestamp)).where(
                events.c.sender_id == sender, events.c.type_name == USER_EVENT)).scalar()
        return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.timezone.utc)

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

    def session_start_before(self, sender: str, moment: dt.datetime) -> dt.datetime | None:
        """When the conversation session of ``sender`` that was going on at ``moment`` began.

        ``None`` if Rasa recorded no session start up to then.
        """
        with self.engine.connect() as conn:
            stamp = conn.execute(
                select(func.max(events.c.timestamp)).where(
                    events.c.sender_id == sender,
                    events.c.type_name == SESSION_STARTED_EVENT,
                    events.c.timestamp <= epoch(moment),
                )
            ).scalar()
        return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.timezone.utc)

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


def _period(since: dt.datetime | None, before: dt.datetime | None) -> list:
    conditions = [events.c.type_name == USER_EVENT]
    if since is not None:
        conditions.append(events.c.timestamp >= epoch(since))
    if before is not None:
        conditions.append(events.c.timestamp < epoch(before))
    return conditions
