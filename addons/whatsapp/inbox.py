"""The channel's inbox: accepted messages, stored before Meta gets its 200, until answered.

Blocking SQL over ``whatsapp_inbox`` (``antrean/store/tables.py``, migration 0005), run by
:class:`~addons.whatsapp.dedup.MessageStore` on its worker threads. A message's life:

1. :func:`accept` — the webhook stores the delivery's messages that are neither answered
   (their id is in ``whatsapp_processed_messages``) nor already waiting, and leases to the
   caller every one nobody works on: new rows, and rows whose lease ran out (a crashed
   process's, or one a SIGTERM released). A re-delivery of a message whose first attempt
   never finished is therefore worked on, not skipped as "seen before".
2. :func:`renew` — while a process holds leases it extends them, so a slow queue never lets
   another process take the same message.
3. :func:`finish` — after the reply was handed to the Graph API: the row goes and the id is
   recorded as processed, in one transaction. A crash before that means the message is
   worked on again (at least once), never lost.
4. :func:`release` — at shutdown, what was not finished is handed back at once;
   :func:`take_stale` is how a (re)started process picks such rows up, oldest first.

:func:`earlier_waiting` keeps an applicant's messages in the order they arrived across
processes: a message is handed to Rasa once the sender's earlier rows are gone.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from addons.whatsapp.payload import InboundMessage, MessageKind
from antrean.store.tables import whatsapp_inbox as inbox
from antrean.store.tables import whatsapp_processed_messages as processed

CHUNK = 500
# A message taken this many times without being finished is given up (logged, never lost
# silently): it is probably what makes the process crash.
MAX_ATTEMPTS = 5


def new_token() -> str:
    return uuid.uuid4().hex


def to_record(message: InboundMessage) -> str:
    """The message as the JSON stored in the inbox."""
    return json.dumps({
        "message_id": message.message_id,
        "sender_id": message.sender_id,
        "kind": message.kind.value,
        "wire_type": message.wire_type,
        "text": message.text,
        "profile_name": message.profile_name,
        "phone_number_id": message.phone_number_id,
        "timestamp": message.timestamp.timestamp() if message.timestamp else None,
    }, ensure_ascii=False)


def from_record(record: str) -> InboundMessage:
    """The message back from its inbox JSON."""
    data: dict[str, Any] = json.loads(record)
    stamp = data.get("timestamp")
    return InboundMessage(
        message_id=data["message_id"],
        sender_id=data["sender_id"],
        kind=MessageKind(data["kind"]),
        wire_type=data["wire_type"],
        text=data.get("text"),
        profile_name=data.get("profile_name"),
        phone_number_id=data.get("phone_number_id"),
        timestamp=dt.datetime.fromtimestamp(stamp, dt.timezone.utc) if stamp else None,
    )


def accept(
    conn: Connection, messages: Sequence[InboundMessage], now: dt.datetime, lease_s: float
) -> set[str]:
    """Store the messages not seen before; returns the ids leased to the caller."""
    token, until = new_token(), now + dt.timedelta(seconds=lease_s)
    taken: set[str] = set()
    for part in _chunks(_unique(messages)):
        ids = [message.message_id for message in part]
        answered = set(conn.execute(
            select(processed.c.message_id).where(processed.c.message_id.in_(ids))).scalars())
        rows = [
            {"message_id": m.message_id, "sender_id": m.sender_id, "message": to_record(m),
             "received_at": now, "lease_token": token, "lease_until": until, "attempts": 1}
            for m in part if m.message_id not in answered
        ]
        if not rows:
            continue
        conn.execute(_insert_new(conn), rows)
        # Another process may have finished one of them since the check above (its row
        # deleted, its id recorded as processed): the INSERT then stored it afresh. Looked up
        # again after the INSERT (which waited for that finish to commit), such a row goes.
        fresh = [row["message_id"] for row in rows]
        late = list(conn.execute(
            select(processed.c.message_id).where(processed.c.message_id.in_(fresh))).scalars())
        if late:
            conn.execute(delete(inbox).where(inbox.c.message_id.in_(late),
                                             inbox.c.lease_token == token))
        conn.execute(  # waiting rows nobody works on any more
            update(inbox)
            .where(inbox.c.message_id.in_([row["message_id"] for row in rows]), _free(now))
            .values(lease_token=token, lease_until=until, attempts=inbox.c.attempts + 1)
        )
        taken.update(conn.execute(
            select(inbox.c.message_id).where(inbox.c.lease_token == token,
                                             inbox.c.message_id.in_(ids))).scalars())
    return taken


def take_stale(
    conn: Connection, now: dt.datetime, lease_s: float, limit: int
) -> tuple[list[InboundMessage], list[str]]:
    """Lease up to ``limit`` waiting messages nobody works on, oldest first.

    Returns:
        The messages to work on, and the ids given up after ``MAX_ATTEMPTS`` tries (they
        are recorded as processed and leave the inbox).
    """
    token, until = new_token(), now + dt.timedelta(seconds=lease_s)
    ids = list(conn.execute(
        select(inbox.c.message_id).where(_free(now)).order_by(inbox.c.id).limit(limit)
    ).scalars())
    if not ids:
        return [], []
    conn.execute(
        update(inbox).where(inbox.c.message_id.in_(ids), _free(now))
        .values(lease_token=token, lease_until=until, attempts=inbox.c.attempts + 1)
    )
    rows = conn.execute(
        select(inbox.c.message_id, inbox.c.message, inbox.c.attempts)
        .where(inbox.c.lease_token == token).order_by(inbox.c.id)
    ).all()
    given_up = [row.message_id for row in rows if row.attempts > MAX_ATTEMPTS]
    if given_up:
        finish(conn, given_up, now)
    return [from_record(row.message) for row in rows if row.attempts <= MAX_ATTEMPTS], given_up


def renew(conn: Connection, ids: Iterable[str], now: dt.datetime, lease_s: float) -> None:
    """Extend the leases of messages this process still holds."""
    until = now + dt.timedelta(seconds=lease_s)
    for part in _chunks(list(ids)):
        conn.execute(update(inbox).where(inbox.c.message_id.in_(part)).values(lease_until=until))


def release(conn: Connection, ids: Iterable[str]) -> None:
    """Hand unfinished messages back, for the next start (or another process) at once."""
    for part in _chunks(list(ids)):
        conn.execute(update(inbox).where(inbox.c.message_id.in_(part))
                     .values(lease_token=None, lease_until=None))


def finish(conn: Connection, ids: Sequence[str], now: dt.datetime) -> None:
    """The messages were answered: out of the inbox, into the processed ids."""
    for part in _chunks(list(ids)):
        conn.execute(delete(inbox).where(inbox.c.message_id.in_(part)))
        conn.execute(_insert_processed(conn), [{"message_id": i, "received_at": now}
                                               for i in part])


def earlier_waiting(conn: Connection, message_id: str, sender_id: str) -> list[str]:
    """The sender's messages accepted before ``message_id`` and not answered yet, oldest first.

    Rows are numbered as they are accepted, before Meta gets its 200, so this is the order
    the applicant's messages arrived in, whichever process took each. Empty when
    ``message_id`` has no row (worked on without the inbox, when the database did not answer).
    """
    mine = select(inbox.c.id).where(inbox.c.message_id == message_id).scalar_subquery()
    return list(conn.execute(
        select(inbox.c.message_id).where(inbox.c.sender_id == sender_id, inbox.c.id < mine)
        .order_by(inbox.c.id)).scalars())


def waiting(conn: Connection) -> int:
    """How many messages are in the inbox."""
    return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def _free(now: dt.datetime) -> Any:
    return or_(inbox.c.lease_until.is_(None), inbox.c.lease_until < now)


def _insert_new(conn: Connection) -> Any:
    return _on_conflict_do_nothing(conn, inbox, "message_id")


def _insert_processed(conn: Connection) -> Any:
    return _on_conflict_do_nothing(conn, processed, "message_id")


def _on_conflict_do_nothing(conn: Connection, table: Any, column: str) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[column])
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=[column])
    return insert(table).prefix_with("IGNORE")  # not reached: LAW runs on the two above


def _unique(messages: Sequence[InboundMessage]) -> list[InboundMessage]:
    seen: dict[str, InboundMessage] = {}
    for message in messages:
        seen.setdefault(message.message_id, message)
    return list(seen.values())


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
