"""Queries and atomic writes of the slot store, inside one transaction.

``SqlStore.transaction()`` is the unit of work: a context manager that commits when the block
ends normally and rolls back otherwise. Capacity is taken with a conditional update
(``taken = taken + n WHERE taken + n <= capacity``), which is atomic on PostgreSQL (row lock,
re-checked after waiting) and on SQLite (write lock held from ``BEGIN IMMEDIATE``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from antrean.model import Applicant, Booking, BookingStatus, HandoffRequest, SlotRef
from antrean.store.access_queries import AccessQueries
from antrean.store.console_queries import ConsoleQueries
from antrean.store.outbox_queries import OutboxQueries
from antrean.store.staff_queries import StaffQueries
from antrean.store.tables import (
    applicants,
    bookings,
    capacity_overrides,
    closures,
    handoff_requests,
    slot_usage,
)

__all__ = ["SqlStore", "StoreSession", "IntegrityError"]


class StoreSession:
    """Operations on one open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def staff(self) -> StaffQueries:
        """The staff tools' queries (daily list, attendance, reports, retention).

        They run in this transaction, and are kept in a module of their own so the booking
        core's stays small.
        """
        return StaffQueries(self.conn)

    @property
    def access(self) -> AccessQueries:
        """Failed code look-ups, notices owed to a booking's number, released NIKs."""
        return AccessQueries(self.conn)

    @property
    def console(self) -> ConsoleQueries:
        """The staff console's accounts, sessions, sign-in attempts and audit log."""
        return ConsoleQueries(self.conn)

    @property
    def outbox(self) -> OutboxQueries:
        """Reminders and closure notices owed to bookings' numbers, and those numbers."""
        return OutboxQueries(self.conn)

    # --- calendar data -------------------------------------------------------------
    def staff_closures(self, first: dt.date, last: dt.date) -> dict[dt.date, str]:
        rows = self.conn.execute(
            select(closures.c.service_date, closures.c.reason).where(
                closures.c.service_date.between(first, last)
            )
        )
        return {r.service_date: r.reason for r in rows}

    def close_date(self, day: dt.date, reason: str, now: dt.datetime) -> None:
        self.conn.execute(delete(closures).where(closures.c.service_date == day))
        self.conn.execute(insert(closures).values(service_date=day, reason=reason, created_at=now))

    def reopen_date(self, day: dt.date) -> bool:
        result = self.conn.execute(delete(closures).where(closures.c.service_date == day))
        return bool(result.rowcount)

    def capacity_overrides(
        self, first: dt.date, last: dt.date
    ) -> dict[tuple[dt.date, dt.time | None], int]:
        rows = self.conn.execute(
            select(
                capacity_overrides.c.service_date,
                capacity_overrides.c.slot_time,
                capacity_overrides.c.capacity,
            ).where(capacity_overrides.c.service_date.between(first, last))
        )
        return {(r.service_date, r.slot_time): r.capacity for r in rows}

    def set_capacity(
        self, day: dt.date, time: dt.time | None, capacity: int, now: dt.datetime
    ) -> None:
        slot_match = (
            capacity_overrides.c.slot_time.is_(None)
            if time is None
            else capacity_overrides.c.slot_time == time
        )
        self.conn.execute(
            delete(capacity_overrides).where(
                and_(capacity_overrides.c.service_date == day, slot_match)
            )
        )
        self.conn.execute(
            insert(capacity_overrides).values(
                service_date=day, slot_time=time, capacity=capacity, updated_at=now
            )
        )

    def clear_capacity(self, day: dt.date, time: dt.time | None) -> int | None:
        """Remove the override of ``day`` (date-wide when ``time`` is None, else that slot's).

        Returns the capacity it set, or None when there was no such override.
        """
        slot_match = (
            capacity_overrides.c.slot_time.is_(None)
            if time is None
            else capacity_overrides.c.slot_time == time
        )
        where = and_(capacity_overrides.c.service_date == day, slot_match)
        previous = self.conn.execute(select(capacity_overrides.c.capacity).where(where)
                                     ).scalars().first()
        if previous is None:
            return None
        self.conn.execute(delete(capacity_overrides).where(where))
        return int(previous)

    # --- places --------------------------------------------------------------------
    def usage(self, first: dt.date, last: dt.date) -> dict[tuple[dt.date, dt.time], int]:
        rows = self.conn.execute(
            select(slot_usage).where(slot_usage.c.service_date.between(first, last))
        )
        return {(r.service_date, r.slot_time): r.taken for r in rows}

    def take_places(self, slot: SlotRef, count: int, capacity: int) -> bool:
        """Add ``count`` to the slot's counter if it stays within ``capacity``."""
        self._ensure_usage_row(slot)
        result = self.conn.execute(
            update(slot_usage)
            .where(
                slot_usage.c.service_date == slot.date,
                slot_usage.c.slot_time == slot.time,
                slot_usage.c.taken + count <= capacity,
            )
            .values(taken=slot_usage.c.taken + count)
        )
        return result.rowcount == 1

    def release_places(self, slot: SlotRef, count: int) -> None:
        self.conn.execute(
            update(slot_usage)
            .where(
                slot_usage.c.service_date == slot.date,
                slot_usage.c.slot_time == slot.time,
                slot_usage.c.taken >= count,
            )
            .values(taken=slot_usage.c.taken - count)
        )

    def _ensure_usage_row(self, slot: SlotRef) -> None:
        dialect = self.conn.dialect.name
        values = {"service_date": slot.date, "slot_time": slot.time, "taken": 0}
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(slot_usage).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(slot_usage).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise NotImplementedError(dialect)
        self.conn.execute(stmt)

    # --- bookings ------------------------------------------------------------------
    def expire_past(self, today: dt.date, phone: str, niks: Iterable[str]) -> None:
        """Mark this number's and these NIKs' bookings before ``today`` as completed."""
        past_ids = select(bookings.c.id).where(
            bookings.c.status == BookingStatus.ACTIVE.value, bookings.c.service_date < today
        )
        nik_list = list(niks)
        owners = select(applicants.c.booking_id).where(applicants.c.nik_active.in_(nik_list))
        target = past_ids.where((bookings.c.phone == phone) | bookings.c.id.in_(owners))
        ids = [r.id for r in self.conn.execute(target)]
        if not ids:
            return
        self.conn.execute(
            update(applicants).where(applicants.c.booking_id.in_(ids)).values(nik_active=None)
        )
        self.conn.execute(
            update(bookings)
            .where(bookings.c.id.in_(ids))
            .values(status=BookingStatus.COMPLETED.value, active_phone=None)
        )

    def active_by_phone(self, phone: str) -> Booking | None:
        row = self.conn.execute(
            select(bookings).where(bookings.c.active_phone == phone)
        ).first()
        return self._load(row) if row else None

    def active_nik_holders(self, niks: Iterable[str]) -> set[str]:
        rows = self.conn.execute(
            select(applicants.c.nik_active).where(applicants.c.nik_active.in_(list(niks)))
        )
        return {r.nik_active for r in rows}

    def active_by_nik(self, nik: str) -> Booking | None:
        owner = select(applicants.c.booking_id).where(applicants.c.nik_active == nik)
        row = self.conn.execute(select(bookings).where(bookings.c.id.in_(owner))).first()
        return self._load(row) if row else None

    def by_code(self, code: str) -> Booking | None:
        row = self.conn.execute(select(bookings).where(bookings.c.code == code)).first()
        return self._load(row) if row else None

    def insert_booking(self, booking: Booking) -> None:
        """Insert an active booking; raises IntegrityError on a taken number, NIK or code."""
        booking_id = self.conn.execute(
            insert(bookings)
            .values(
                code=booking.code,
                phone=booking.phone,
                active_phone=booking.phone,
                service_date=booking.slot.date,
                slot_time=booking.slot.time,
                service_type=booking.service_type,
                passport_type=booking.passport_type,
                status=booking.status.value,
                reschedule_count=booking.reschedule_count,
                created_at=booking.created_at,
                updated_at=booking.created_at,
            )
        ).inserted_primary_key[0]
        self.conn.execute(
            insert(applicants),
            [
                {
                    "booking_id": booking_id,
                    "position": i,
                    "name": a.name,
                    "birth_date": a.birth_date,
                    "nik": a.nik,
                    "nik_active": a.nik,
                }
                for i, a in enumerate(booking.applicants)
            ],
        )

    def mark_cancelled(self, code: str, now: dt.datetime) -> bool:
        """Cancel an active booking; False if it is no longer active."""
        result = self.conn.execute(
            update(bookings)
            .where(bookings.c.code == code, bookings.c.status == BookingStatus.ACTIVE.value)
            .values(
                status=BookingStatus.CANCELLED.value,
                active_phone=None,
                cancelled_at=now,
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            return False
        booking_id = select(bookings.c.id).where(bookings.c.code == code).scalar_subquery()
        self.conn.execute(
            update(applicants).where(applicants.c.booking_id == booking_id).values(nik_active=None)
        )
        return True

    def move_booking(
        self, code: str, slot: SlotRef, seen_reschedules: int, now: dt.datetime
    ) -> bool:
        """Move an active booking, counting the reschedule; False if it changed meanwhile."""
        result = self.conn.execute(
            update(bookings)
            .where(
                bookings.c.code == code,
                bookings.c.status == BookingStatus.ACTIVE.value,
                bookings.c.reschedule_count == seen_reschedules,
            )
            .values(
                service_date=slot.date,
                slot_time=slot.time,
                reschedule_count=bookings.c.reschedule_count + 1,
                updated_at=now,
            )
        )
        return result.rowcount == 1

    def move_booking_uncounted(self, code: str, from_slot: SlotRef, slot: SlotRef,
                               now: dt.datetime) -> bool:
        """Move an active booking still at ``from_slot`` without counting a reschedule.

        For a move the office caused (its date closed); False if it changed meanwhile.
        """
        result = self.conn.execute(
            update(bookings)
            .where(
                bookings.c.code == code,
                bookings.c.status == BookingStatus.ACTIVE.value,
                bookings.c.service_date == from_slot.date,
                bookings.c.slot_time == from_slot.time,
            )
            .values(service_date=slot.date, slot_time=slot.time, updated_at=now)
        )
        return result.rowcount == 1

    def booking_id(self, code: str) -> int | None:
        return self.conn.execute(
            select(bookings.c.id).where(bookings.c.code == code)).scalar_one_or_none()

    def open_handoff(self, phone: str) -> HandoffRequest | None:
        row = self.conn.execute(
            select(handoff_requests)
            .where(handoff_requests.c.phone == phone, handoff_requests.c.resolved_at.is_(None))
            .order_by(handoff_requests.c.id)
        ).first()
        return HandoffRequest(**row._mapping) if row else None

    def add_handoff(
        self, phone: str, reason: str, message: str | None, now: dt.datetime
    ) -> HandoffRequest:
        new_id = self.conn.execute(
            insert(handoff_requests)
            .values(phone=phone, reason=reason, message=message, created_at=now)
        ).inserted_primary_key[0]
        return HandoffRequest(new_id, phone, reason, message, now)

    def update_handoff_message(self, handoff_id: int, message: str | None) -> None:
        self.conn.execute(
            update(handoff_requests)
            .where(handoff_requests.c.id == handoff_id)
            .values(message=message)
        )

    def handoffs(self, include_resolved: bool = False) -> list[HandoffRequest]:
        query = select(handoff_requests).order_by(handoff_requests.c.created_at)
        if not include_resolved:
            query = query.where(handoff_requests.c.resolved_at.is_(None))
        return [HandoffRequest(**row._mapping) for row in self.conn.execute(query)]

    def resolve_handoff(self, handoff_id: int, staff: str, now: dt.datetime) -> bool:
        result = self.conn.execute(
            update(handoff_requests)
            .where(handoff_requests.c.id == handoff_id, handoff_requests.c.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by=staff)
        )
        return result.rowcount == 1

    def _load(self, row: Row) -> Booking:
        people = self.conn.execute(
            select(applicants)
            .where(applicants.c.booking_id == row.id)
            .order_by(applicants.c.position)
        )
        return Booking(
            code=row.code,
            phone=row.phone,
            slot=SlotRef(row.service_date, row.slot_time),
            service_type=row.service_type,
            passport_type=row.passport_type,
            applicants=tuple(Applicant(p.name, p.birth_date, p.nik) for p in people),
            status=BookingStatus(row.status),
            reschedule_count=row.reschedule_count,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
        )


class SqlStore:
    """The slot store on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[StoreSession]:
        with self.engine.begin() as conn:
            yield StoreSession(conn)

    def dispose(self) -> None:
        self.engine.dispose()
