"""Queries of the notice outbox and of the numbers it writes to, inside one transaction.

Reached through ``StoreSession.outbox`` (``antrean.notices`` is the logic). A row is claimed
with a lease by a conditional update — "still pending, due, and nobody's lease running" —
so two senders never hold one row: on PostgreSQL the candidates are read
``FOR UPDATE SKIP LOCKED`` (a second sender skips them instead of waiting), on SQLite the
transaction holds the write lock from ``BEGIN IMMEDIATE`` (one writer at a time, as for
bookings). The outcome is written under the claim's token only.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from antrean.model import Notice, NoticeKind, NoticeState
from antrean.store.tables import bookings, notice_contacts, notice_outbox

# Later reports never overwrite earlier-ranked ones ("delivered" arriving after "read").
DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


class OutboxQueries:
    """Operations on an open transaction (see ``antrean.notices``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- queueing ----------------------------------------------------------------------
    def queue(self, rows: Sequence[dict[str, Any]], now: dt.datetime) -> int:
        """Insert notices unless the booking already has one of that kind for that date.

        Each row holds ``booking_id``, ``kind``, ``service_date``, ``phone`` and
        ``parameters`` (a dict). Returns how many were new.
        """
        added = 0
        for row in rows:
            values = {
                **row,
                "kind": NoticeKind(row["kind"]).value,
                "parameters": json.dumps(row["parameters"], ensure_ascii=False),
                "state": NoticeState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            result = self.conn.execute(_insert_ignoring_duplicates(self.conn, values))
            added += int(result.rowcount or 0)
        return added

    # --- claiming and outcomes ------------------------------------------------------------
    def claim(self, now: dt.datetime, lease_s: float, limit: int) -> list[Notice]:
        """Lease up to ``limit`` due notices to the caller; each try counts in ``attempts``."""
        free = and_(
            notice_outbox.c.state == NoticeState.PENDING.value,
            notice_outbox.c.next_attempt_at <= now,
            or_(notice_outbox.c.lease_until.is_(None), notice_outbox.c.lease_until < now),
        )
        due = (select(notice_outbox.c.id).where(free)
               .order_by(notice_outbox.c.next_attempt_at, notice_outbox.c.id).limit(limit))
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = [r.id for r in self.conn.execute(due)]
        if not ids:
            return []
        token = uuid.uuid4().hex
        self.conn.execute(
            update(notice_outbox)
            .where(notice_outbox.c.id.in_(ids), free)
            .values(lease_token=token, lease_until=now + dt.timedelta(seconds=lease_s),
                    attempts=notice_outbox.c.attempts + 1)
        )
        rows = self.conn.execute(select(notice_outbox)
                                 .where(notice_outbox.c.lease_token == token)
                                 .order_by(notice_outbox.c.id))
        return [_notice(row) for row in rows]

    def mark_sent(self, notice_id: int, token: str, now: dt.datetime, wamid: str | None,
                  sent_as: str) -> bool:
        return self._finish(notice_id, token, state=NoticeState.SENT.value, sent_at=now,
                            wamid=wamid, sent_as=sent_as, error_code=None, error_title=None)

    def mark_failed(self, notice_id: int, token: str, code: int | None, title: str | None,
                    retry_at: dt.datetime | None) -> bool:
        """Record a failed try: pending again from ``retry_at``, or failed for good."""
        if retry_at is None:
            return self._finish(notice_id, token, state=NoticeState.FAILED.value,
                                error_code=code, error_title=title)
        return self._finish(notice_id, token, next_attempt_at=retry_at, error_code=code,
                            error_title=title)

    def cancel_claimed(self, notice_id: int, token: str, reason: str) -> bool:
        return self._finish(notice_id, token, state=NoticeState.CANCELLED.value,
                            cancel_reason=reason)

    def _finish(self, notice_id: int, token: str, **values: Any) -> bool:
        result = self.conn.execute(
            update(notice_outbox)
            .where(notice_outbox.c.id == notice_id, notice_outbox.c.lease_token == token,
                   notice_outbox.c.state == NoticeState.PENDING.value)
            .values(lease_token=None, lease_until=None, **values)
        )
        return result.rowcount == 1

    def cancel_pending(self, kind: NoticeKind, service_date: dt.date, reason: str) -> int:
        """Cancel the pending notices of a kind for a date (a reopened date's closures)."""
        result = self.conn.execute(
            update(notice_outbox)
            .where(notice_outbox.c.kind == kind.value,
                   notice_outbox.c.service_date == service_date,
                   notice_outbox.c.state == NoticeState.PENDING.value)
            .values(state=NoticeState.CANCELLED.value, cancel_reason=reason,
                    lease_token=None, lease_until=None)
        )
        return int(result.rowcount or 0)

    def record_delivery(self, wamid: str, status: str, at: dt.datetime) -> bool:
        """Attach a delivery report to the notice sent as ``wamid``; False if none is."""
        row = self.conn.execute(
            select(notice_outbox.c.id, notice_outbox.c.delivery)
            .where(notice_outbox.c.wamid == wamid)
        ).first()
        if row is None or status not in DELIVERY_RANK:
            return False
        if DELIVERY_RANK[status] <= DELIVERY_RANK.get(row.delivery or "", 0):
            return True
        self.conn.execute(update(notice_outbox).where(notice_outbox.c.id == row.id)
                          .values(delivery=status, delivery_at=at))
        return True

    # --- reading ----------------------------------------------------------------------------
    def notices(self, first: dt.date | None = None, last: dt.date | None = None,
                booking_ids: Iterable[int] | None = None) -> list[Notice]:
        query = select(notice_outbox).order_by(notice_outbox.c.id)
        if first is not None and last is not None:
            query = query.where(notice_outbox.c.service_date.between(first, last))
        if booking_ids is not None:
            query = query.where(notice_outbox.c.booking_id.in_(list(booking_ids)))
        return [_notice(row) for row in self.conn.execute(query)]

    def by_wamid(self, wamid: str) -> Notice | None:
        row = self.conn.execute(select(notice_outbox)
                                .where(notice_outbox.c.wamid == wamid)).first()
        return _notice(row) if row else None

    def booking_state(self, booking_id: int) -> tuple[str, dt.date] | None:
        """The booking's status and date now (a notice is sent only while they still hold)."""
        row = self.conn.execute(select(bookings.c.status, bookings.c.service_date)
                                .where(bookings.c.id == booking_id)).first()
        return (row.status, row.service_date) if row else None

    def confirm_attendance(self, booking_id: int, now: dt.datetime) -> bool:
        result = self.conn.execute(
            update(bookings).where(bookings.c.id == booking_id)
            .values(attendance_confirmed_at=func.coalesce(bookings.c.attendance_confirmed_at,
                                                          now))
        )
        return result.rowcount == 1

    # --- numbers ------------------------------------------------------------------------------
    def touch_inbound(self, phone: str, at: dt.datetime) -> None:
        """``phone`` wrote to us at ``at`` (opens the 24-hour window)."""
        self._upsert(phone, last_inbound_at=at)

    def set_reminders_off(self, phone: str, off_at: dt.datetime | None) -> None:
        self._upsert(phone, reminders_off_at=off_at)

    def contact(self, phone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(last message, reminders off since) of a number; Nones when unknown."""
        row = self.conn.execute(select(notice_contacts)
                                .where(notice_contacts.c.phone == phone)).first()
        return (row.last_inbound_at, row.reminders_off_at) if row else (None, None)

    def reminders_off(self, phones: Iterable[str]) -> set[str]:
        wanted = list(phones)
        if not wanted:
            return set()
        rows = self.conn.execute(select(notice_contacts.c.phone).where(
            notice_contacts.c.phone.in_(wanted), notice_contacts.c.reminders_off_at.is_not(None)))
        return {r.phone for r in rows}

    def forget_contacts_before(self, cutoff: dt.datetime) -> int:
        """Forget last-message times older than ``cutoff``; rows left empty go.

        An opt-out is kept while it stands: it is the applicant's own choice.
        """
        self.conn.execute(update(notice_contacts)
                          .where(notice_contacts.c.last_inbound_at < cutoff)
                          .values(last_inbound_at=None))
        result = self.conn.execute(delete(notice_contacts).where(
            notice_contacts.c.last_inbound_at.is_(None),
            notice_contacts.c.reminders_off_at.is_(None)))
        return int(result.rowcount or 0)

    def _upsert(self, phone: str, **values: Any) -> None:
        updated = self.conn.execute(update(notice_contacts)
                                    .where(notice_contacts.c.phone == phone).values(**values))
        if updated.rowcount:
            return
        dialect = self.conn.dialect.name
        row = {"phone": phone, **values}
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(notice_contacts).values(**row).on_conflict_do_update(
                index_elements=["phone"], set_=values)
        else:
            stmt = sqlite.insert(notice_contacts).values(**row).on_conflict_do_update(
                index_elements=["phone"], set_=values)
        self.conn.execute(stmt)


def _insert_ignoring_duplicates(conn: Connection, values: dict[str, Any]) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(notice_outbox).values(**values).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(notice_outbox).values(**values).on_conflict_do_nothing()
    return insert(notice_outbox).values(**values)  # pragma: no cover - unsupported backend


def _notice(row: Row) -> Notice:
    return Notice(
        id=row.id, booking_id=row.booking_id, kind=NoticeKind(row.kind),
        service_date=row.service_date, phone=row.phone,
        parameters=json.loads(row.parameters or "{}"), state=NoticeState(row.state),
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, created_at=row.created_at,
        lease_token=row.lease_token, sent_at=row.sent_at, sent_as=row.sent_as, wamid=row.wamid,
        error_code=row.error_code, error_title=row.error_title, delivery=row.delivery,
        delivery_at=row.delivery_at, cancel_reason=row.cancel_reason)
