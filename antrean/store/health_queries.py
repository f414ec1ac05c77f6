"""What readiness checks and metrics ask the slot store: does it answer, and how much waits.

Blocking calls on an engine of :func:`antrean.store.engine.create_store_engine` (whose
connect and statement timeouts bound them); callers run them on a worker thread
(``law_rasa/readiness.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from antrean.model import NoticeState
from antrean.store.tables import notice_outbox, owner_notices, whatsapp_inbox


@dataclass(frozen=True)
class Backlogs:
    """Rows waiting in the shared queues; ``None`` where the table could not be read."""

    inbox: int | None  # WhatsApp messages accepted and not answered yet
    notice_outbox: int | None  # office notices still pending
    owner_notices: int | None  # notices owed to a booking's own number, not sent


def ping(engine: Engine) -> None:
    """Raise unless the database answers ``SELECT 1``."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def backlogs(engine: Engine) -> Backlogs:
    """Count the three queues, each on its own connection.

    A table that is missing (a store not migrated yet) gives ``None`` for its count, not a
    failure: on PostgreSQL one failed statement would spoil the others of its transaction.
    """
    queries = (
        select(func.count()).select_from(whatsapp_inbox),
        select(func.count()).select_from(notice_outbox)
        .where(notice_outbox.c.state == NoticeState.PENDING.value),
        select(func.count()).select_from(owner_notices).where(owner_notices.c.sent_at.is_(None)),
    )
    counts: list[int | None] = []
    for query in queries:
        try:
            with engine.connect() as conn:
                counts.append(int(conn.execute(query).scalar_one()))
        except SQLAlchemyError:
            counts.append(None)
    return Backlogs(*counts)
