"""Staff queries on the slot store: a day's bookings, attendance, report counts, retention.

They run inside a transaction of the booking service's store (``tx.staff`` of
``SqlStore.transaction()``) and work on its connection, so the staff tools share the unit of
work of the booking core without adding to its repository. The WhatsApp channel's rows,
possibly in a database of their own, are trimmed by ``remove_channel_rows_before``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.engine import Connection

from antrean.model import Applicant, Attendance, BookingStatus, DayCounts, SlotRef, StaffBooking
from antrean.store.engine import create_store_engine
from antrean.store.tables import (
    WHATSAPP_TABLES,
    applicants,
    bookings,
    handoff_requests,
    notice_outbox,
    takeovers,
)

CHUNK = 500  # ids per statement: well under every backend's limit of bound parameters


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """``items`` in slices of ``size``, one statement's worth of bound parameters each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StaffQueries:
    """Queries on one open connection of the slot store."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- reading ---------------------------------------------------------------------
    def bookings_on(self, day: dt.date) -> list[StaffBooking]:
        """Every booking of ``day``, cancelled ones included, by slot time and code."""
        query = (
            select(bookings)
            .where(bookings.c.service_date == day)
            .order_by(bookings.c.slot_time, bookings.c.code)
        )
        return self._load(list(self.conn.execute(query)))

    def by_code(self, code: str) -> StaffBooking | None:
        rows = list(self.conn.execute(select(bookings).where(bookings.c.code == code)))
        loaded = self._load(rows)
        return loaded[0] if loaded else None

    def day_counts(self, first: dt.date, last: dt.date) -> dict[dt.date, DayCounts]:
        """Per service date between ``first`` and ``last``: bookings, people, attendance."""
        people = (
            select(func.count())
            .where(applicants.c.booking_id == bookings.c.id)
            .scalar_subquery()
        )
        query = select(
            bookings.c.service_date,
            bookings.c.status,
            bookings.c.attendance,
            func.coalesce(bookings.c.applicant_count, people).label("people"),
        ).where(bookings.c.service_date.between(first, last))
        counts: dict[dt.date, DayCounts] = defaultdict(DayCounts)
        for row in self.conn.execute(query):
            day = counts[row.service_date]
            if row.status == BookingStatus.CANCELLED.value:
                day.cancelled += 1
                continue
            day.bookings += 1
            day.people += row.people
            if row.attendance == Attendance.ARRIVED.value:
                day.arrived += 1
            elif row.attendance == Attendance.NO_SHOW.value:
                day.no_show += 1
        return dict(counts)

    def phones_with_bookings_from(self, first_kept: dt.date) -> set[str]:
        """Numbers whose personal data is still kept: a booking on or after ``first_kept``."""
        rows = self.conn.execute(
            select(bookings.c.phone)
            .where(bookings.c.service_date >= first_kept, bookings.c.anonymised_at.is_(None))
            .distinct()
        )
        return {r.phone for r in rows}

    def first_kept_booking_made(self, first_kept: dt.date) -> dict[str, dt.datetime]:
        """For each number with a kept booking, when the earliest such booking was made."""
        rows = self.conn.execute(
            select(bookings.c.phone, func.min(bookings.c.created_at).label("made"))
            .where(bookings.c.service_date >= first_kept, bookings.c.anonymised_at.is_(None))
            .group_by(bookings.c.phone)
        )
        return {r.phone: r.made for r in rows}

    # --- attendance ------------------------------------------------------------------
    def set_attendance(self, booking_id: int, value: Attendance, now: dt.datetime) -> bool:
        """Mark one booking; False if it is cancelled or its data is gone meanwhile."""
        result = self.conn.execute(
            update(bookings)
            .where(
                bookings.c.id == booking_id,
                bookings.c.status != BookingStatus.CANCELLED.value,
                bookings.c.anonymised_at.is_(None),
            )
            .values(attendance=value.value, attendance_at=now)
        )
        return result.rowcount == 1

    def mark_unmarked_no_show(self, day: dt.date, now: dt.datetime) -> int:
        """Every booking of ``day`` not cancelled and not marked becomes a no-show."""
        result = self.conn.execute(
            update(bookings)
            .where(
                bookings.c.service_date == day,
                bookings.c.status != BookingStatus.CANCELLED.value,
                bookings.c.attendance.is_(None),
            )
            .values(attendance=Attendance.NO_SHOW.value, attendance_at=now)
        )
        return int(result.rowcount or 0)

    # --- retention -------------------------------------------------------------------
    def expired_booking_ids(self, first_kept: dt.date) -> list[int]:
        """Bookings before ``first_kept`` that still hold personal data."""
        rows = self.conn.execute(
            select(bookings.c.id)
            .where(bookings.c.service_date < first_kept, bookings.c.anonymised_at.is_(None))
            .order_by(bookings.c.id)
        )
        return [r.id for r in rows]

    def anonymise(self, booking_ids: Sequence[int], now: dt.datetime) -> int:
        """Delete these bookings' applicants and blank their number; returns applicants gone.

        The booking row stays, with its date, slot, service, status, attendance and the
        number of applicants, so reports over old dates still count it.
        """
        gone = 0
        for part in chunks(booking_ids):
            sizes = dict.fromkeys(part, 0)
            rows = self.conn.execute(
                select(applicants.c.booking_id, func.count().label("n"))
                .where(applicants.c.booking_id.in_(part))
                .group_by(applicants.c.booking_id)
            )
            for row in rows:
                sizes[row.booking_id] = row.n
            self.conn.execute(delete(applicants).where(applicants.c.booking_id.in_(part)))
            by_size: dict[int, list[int]] = defaultdict(list)
            for booking_id, size in sizes.items():
                by_size[size].append(booking_id)
            for size, ids in by_size.items():
                self.conn.execute(
                    update(bookings)
                    .where(bookings.c.id.in_(ids))
                    .values(phone="", active_phone=None, anonymised_at=now, applicant_count=size)
                )
            # The notices keep their state and delivery for the reports, not the number
            # or the people's names.
            self.conn.execute(
                update(notice_outbox)
                .where(notice_outbox.c.booking_id.in_(part))
                .values(phone="", parameters="{}")
            )
            # A booking still "active" after its date has simply been served or missed.
            self.conn.execute(
                update(bookings)
                .where(
                    bookings.c.id.in_(part), bookings.c.status == BookingStatus.ACTIVE.value
                )
                .values(status=BookingStatus.COMPLETED.value)
            )
            gone += sum(sizes.values())
        return gone

    def count_applicants_of(self, booking_ids: Sequence[int]) -> int:
        total = 0
        for part in chunks(booking_ids):
            total += self.conn.execute(
                select(func.count()).where(applicants.c.booking_id.in_(part))
            ).scalar_one()
        return total

    def old_handoffs(self, before: dt.datetime, remove: bool) -> int:
        """Hand-off records older than ``before``: every one holds an applicant's number.

        The requests created before it (with the message) and the console's takeovers
        that ended before it.
        """
        found = 0
        for table, condition in (
            (handoff_requests, handoff_requests.c.created_at < before),
            (takeovers, takeovers.c.ended_at < before),
        ):
            if remove:
                found += int(self.conn.execute(delete(table).where(condition)).rowcount or 0)
            else:
                found += self.conn.execute(
                    select(func.count()).select_from(table).where(condition)).scalar_one()
        return found

    # --- loading ---------------------------------------------------------------------
    def _load(self, rows: list) -> list[StaffBooking]:
        people: dict[int, list[Applicant]] = defaultdict(list)
        ids = [r.id for r in rows]
        for part in chunks(ids):
            query = (
                select(applicants)
                .where(applicants.c.booking_id.in_(part))
                .order_by(applicants.c.booking_id, applicants.c.position)
            )
            for p in self.conn.execute(query):
                people[p.booking_id].append(Applicant(p.name, p.birth_date, p.nik))
        return [
            StaffBooking(
                id=r.id,
                code=r.code,
                phone=r.phone,
                slot=SlotRef(r.service_date, r.slot_time),
                service_type=r.service_type,
                passport_type=r.passport_type,
                status=BookingStatus(r.status),
                reschedule_count=r.reschedule_count,
                attendance=Attendance(r.attendance) if r.attendance else None,
                attendance_at=r.attendance_at,
                applicants=tuple(people.get(r.id, ())),
                anonymised_at=r.anonymised_at,
                applicant_count=r.applicant_count,
                attendance_confirmed_at=r.attendance_confirmed_at,
                created_at=r.created_at,
            )
            for r in rows
        ]


def remove_channel_rows_before(url: str, cutoff: dt.datetime, dry_run: bool) -> int:
    """Delete (or with ``dry_run`` count) the WhatsApp channel's rows older than ``cutoff``.

    The channel's database may be another one than the slot store's, not yet migrated by
    anyone: absent tables are skipped rather than created.
    """
    engine = create_store_engine(url)
    total = 0
    try:
        present = set(inspect(engine).get_table_names())
        for table in WHATSAPP_TABLES:
            if table.name not in present:
                continue
            stamp = table.c.received_at if "received_at" in table.c else table.c.recorded_at
            with engine.begin() as conn:
                if dry_run:
                    total += conn.execute(
                        select(func.count()).select_from(table).where(stamp < cutoff)
                    ).scalar_one()
                else:
                    total += int(conn.execute(delete(table).where(stamp < cutoff)).rowcount or 0)
    finally:
        engine.dispose()
    return total
