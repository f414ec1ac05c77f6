"""Rasa's SQL tracker store without a COUNT query on every save.

To find which events of a tracker are new, Rasa 3.6's ``SQLTrackerStore.save`` counts the
conversation's stored events (``SELECT count(*)`` over the latest session, a round trip made
while the event loop waits) and stores the events after that many. The tracker being saved
was almost always read by ``retrieve`` in the same turn, under the conversation's lock, so
the count is already known: the number of events it was rebuilt from. This store remembers
that number on the tracker object itself (never across turns or processes) and skips the
query; a tracker it did not read (or one with ``max_event_history``, whose event list may be
cut) still gets Rasa's query. An empty tracker is the one Rasa creates when ``retrieve``
found nothing, in the same turn and under the same lock: Rasa's query would count 0 then,
and nothing is written whatever the count, so it is taken as 0 without asking. The events
written, their order and the table are exactly Rasa's.

Measured in the production topology at 60 messages/second: the count query was 9 % of a
Rasa process's profile (docs/performance.md).

On SQLite (the embedded default) the store's connections also run in WAL mode with
``synchronous=NORMAL``, as the slot store's do (antrean/store/engine.py): with SQLite's
default journal every save waited for several disk flushes while Rasa's event loop was
blocked (Rasa CPU per message 13.7 → 11.9 ms at 60 messages/second).

Configured in ``endpoints.yml`` and ``endpoints.prod.yml`` as
``type: addons.tracker_store.KnownCountSQLTrackerStore`` with the same settings as Rasa's
``SQL`` type. It overrides a private method of Rasa 3.6's store (``_additional_events``), so,
like the patches of ``law_rasa.patches``, it refuses to start on any Rasa but the pinned one
(``law_rasa.pinned``), whichever command started Rasa.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from antrean.store.engine import sqlite_file, without_waiting_for_the_disk
from law_rasa.pinned import require_pinned_rasa

# Attribute on a DialogueStateTracker: how many of its events the database holds.
STORED_EVENTS = "_law_stored_events"


def stored_events(tracker: DialogueStateTracker) -> int | None:
    """How many of the tracker's events this store knows to be stored, if it knows."""
    return getattr(tracker, STORED_EVENTS, None)


class KnownCountSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that counts the stored events of a tracker it has just read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        require_pinned_rasa()
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and sqlite_file(self.engine.url.database):
            event.listen(self.engine, "connect", _tune_sqlite)

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new tracker: none of its events are stored yet."""
        tracker = super().init_tracker(sender_id)
        setattr(tracker, STORED_EVENTS, 0)
        return tracker

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker, knowing how many events it was rebuilt from."""
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores the tracker's new events (as Rasa does), then remembers they are stored."""
        await super().save(tracker)
        setattr(tracker, STORED_EVENTS, len(tracker.events))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        known = stored_events(tracker)
        if known is None and not tracker.events:
            known = 0  # a tracker just created: see the module's docstring
        if known is None or tracker._max_event_history or known > len(tracker.events):
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, known, len(tracker.events))


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    without_waiting_for_the_disk(cursor)
    cursor.close()
