"""Queries of "who may see and change a booking", inside one transaction of the slot store.

Reached through ``StoreSession.access``: failed look-ups per number (the rate limit), the
notices owed to a booking's own number, and the NIKs staff released.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from antrean.model import NikRelease, OwnerNotice, SlotRef
from antrean.store.tables import lookup_failures, nik_releases, owner_notices


class AccessQueries:
    """Operations on an open transaction (see ``antrean.access``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- failed look-ups ------------------------------------------------------------
    def add_lookup_failure(self, phone: str, kind: str, now: dt.datetime,
                           forget_before: dt.datetime) -> None:
        """Record a failure, and forget every failure older than ``forget_before``."""
        self.conn.execute(delete(lookup_failures)
                          .where(lookup_failures.c.failed_at < forget_before))
        self.conn.execute(insert(lookup_failures)
                          .values(phone=phone, kind=kind, failed_at=now))

    def lookup_failures_since(self, phone: str, since: dt.datetime) -> list[dt.datetime]:
        """When ``phone``'s failures after ``since`` happened, oldest first."""
        rows = self.conn.execute(
            select(lookup_failures.c.failed_at)
            .where(lookup_failures.c.phone == phone, lookup_failures.c.failed_at > since)
            .order_by(lookup_failures.c.failed_at)
        )
        return [r.failed_at for r in rows]

    # --- notices to a booking's own number -------------------------------------------
    def add_owner_notice(self, code: str, phone: str, event: str, slot: SlotRef,
                         by_phone: str | None, now: dt.datetime) -> OwnerNotice:
        new_id = self.conn.execute(
            insert(owner_notices).values(
                booking_code=code, phone=phone, event=event, service_date=slot.date,
                slot_time=slot.time, by_phone=by_phone, created_at=now)
        ).inserted_primary_key[0]
        return OwnerNotice(new_id, code, phone, event, slot, by_phone, now)

    def owner_notices(self, include_sent: bool = False) -> list[OwnerNotice]:
        query = select(owner_notices).order_by(owner_notices.c.id)
        if not include_sent:
            query = query.where(owner_notices.c.sent_at.is_(None))
        return [_notice(row) for row in self.conn.execute(query)]

    def mark_notice_sent(self, notice_id: int, by: str, now: dt.datetime) -> bool:
        result = self.conn.execute(
            update(owner_notices)
            .where(owner_notices.c.id == notice_id, owner_notices.c.sent_at.is_(None))
            .values(sent_at=now, sent_by=by)
        )
        return result.rowcount == 1

    # --- NIKs released by staff --------------------------------------------------------
    def add_nik_release(self, code: str, nik_masked: str, reason: str, staff: str,
                        now: dt.datetime) -> NikRelease:
        new_id = self.conn.execute(
            insert(nik_releases).values(booking_code=code, nik_masked=nik_masked,
                                        reason=reason, released_by=staff, released_at=now)
        ).inserted_primary_key[0]
        return NikRelease(new_id, code, nik_masked, reason, staff, now)

    def nik_releases(self) -> list[NikRelease]:
        rows = self.conn.execute(select(nik_releases).order_by(nik_releases.c.id))
        return [NikRelease(**row._mapping) for row in rows]


def _notice(row: Row) -> OwnerNotice:
    return OwnerNotice(
        id=row.id, booking_code=row.booking_code, phone=row.phone, event=row.event,
        slot=SlotRef(row.service_date, row.slot_time), by_phone=row.by_phone,
        created_at=row.created_at, sent_at=row.sent_at, sent_by=row.sent_by)
