"""``hapus-data``: the retention on the slot store, the tracker store and the WhatsApp tables,
on SQLite and PostgreSQL. Today is Tue 1 Dec 2026 and office.yml keeps 30 days, so the
personal data of bookings before Sun 1 Nov 2026 goes, and events before 1 Nov 00:00 WIB."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from addons.whatsapp import dedup
from addons.whatsapp.payload import StatusUpdate
from antrean.clock import OFFICE_TZ
from antrean.model import BookingStatus
from antrean.store.console_queries import ConsoleQueries
from antrean.store.tables import (
    WHATSAPP_TABLES,
    applicants,
    bookings,
    handoff_requests,
    takeovers,
)
from antrean.store.takeover_queries import TakeoverQueries
from tests.conftest import person
from tests.staff.conftest import book, count_rows, service_at

D, T = dt.date, dt.time
OLD, KEPT, NO_BOOKING, FUTURE = "6281200000001", "6281200000004", "6281200000006", "6281200000005"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=OFFICE_TZ)


@pytest.fixture
def past(office_config, store, service, conversations, database_url, run):
    """Bookings, conversations, hand-off requests and WhatsApp rows, old and recent."""
    october = service_at(office_config, store, at(10, 1))
    served = book(october, OLD, D(2026, 10, 5), T(9),
                  [person(), person("Ani", D(1992, 5, 4), True, 2)])
    never_expired = book(october, "6281200000002", D(2026, 10, 30), T(9), serial=3)
    cancelled = book(october, "6281200000003", D(2026, 10, 6), T(9), serial=4)
    october.cancel(cancelled.code)
    kept = book(service_at(office_config, store, at(10, 20)), KEPT, D(2026, 11, 2), T(9), serial=5)
    future = book(service, FUTURE, D(2026, 12, 7), T(9), serial=6)
    assert run("hadir", served.code, now=at(10, 5)).code == 0

    conversations.add(OLD, [(at(10, 2), "book_queue", 0.9), (at(10, 2, 11), "affirm", 0.9)])
    conversations.add(KEPT, [(at(10, 20), "book_queue", 0.9)])
    conversations.add(NO_BOOKING, [(at(10, 15), "ask_fee", 0.9), (at(11, 20), "ask_fee", 0.9)])
    conversations.add(FUTURE, [(at(11, 30), "book_queue", 0.9)])

    service_at(office_config, store, at(10, 2)).flag_for_human(OLD, "request_human", "tolong")
    service_at(office_config, store, at(11, 20)).flag_for_human(NO_BOOKING, "fallback", "??")

    # Newest first: the channel purges ids older than a week of its own clock on first use.
    for when, wamid in ((at(11, 20), "wamid.new"), (at(10, 2), "wamid.old")):
        messages = dedup.MessageStore(database_url, clock=lambda when=when: when)
        messages.claim_sync(wamid)
        messages.record_status_sync(StatusUpdate(wamid, "delivered"))
        messages.dispose()
    return {"served": served, "never_expired": never_expired, "cancelled": cancelled,
            "kept": kept, "future": future}


def events_of(tracker_url: str, sender: str) -> int:
    return count_rows(tracker_url, f"SELECT count(*) FROM events WHERE sender_id = '{sender}'")


def snapshot(service, tracker_url, database_url):
    with service.store.transaction() as tx:
        people = tx.conn.execute(select(func.count()).select_from(applicants)).scalar_one()
        handoffs = tx.conn.execute(select(func.count()).select_from(handoff_requests)).scalar_one()
    tracked = count_rows(tracker_url, "SELECT count(*) FROM events")
    whatsapp = sum(count_rows(database_url, f"SELECT count(*) FROM {t.name}")
                   for t in WHATSAPP_TABLES)
    return people, handoffs, tracked, whatsapp


def booking_row(service, code):
    with service.store.transaction() as tx:
        return tx.conn.execute(select(bookings).where(bookings.c.code == code)).one()


def test_dry_run_counts_and_deletes_nothing(run, service, past, tracker_url, database_url):
    before = snapshot(service, tracker_url, database_url)
    result = run("hapus-data", "--dry-run")
    assert result.code == 0, result.err
    assert "SIMULASI (--dry-run)" in result.out
    assert "sebelum Min 01-11-2026" in result.out
    assert "Booking dianonimkan     : 3 (4 pemohon" in result.out
    assert "Permintaan petugas      : 1" in result.out
    # OLD: session start + 2 × (listen, user, bot); NO_BOOKING: its October message only.
    assert "Percakapan (tracker)    : 13 event dari 2 percakapan" in result.out
    assert "Tabel kanal WhatsApp    : 2 baris" in result.out
    assert snapshot(service, tracker_url, database_url) == before


def test_retention_removes_personal_data_and_keeps_the_counts(
    run, service, past, tracker_url, database_url
):
    old_niks = [a.nik for key in ("served", "never_expired", "cancelled")
                for a in past[key].applicants]
    result = run("hapus-data")
    assert result.code == 0, result.err
    assert "Booking dianonimkan     : 3 (4 pemohon" in result.out

    with service.store.transaction() as tx:
        assert tx.conn.execute(
            select(func.count()).select_from(applicants).where(applicants.c.nik.in_(old_niks))
        ).scalar_one() == 0
    served = booking_row(service, past["served"].code)
    assert (served.phone, served.applicant_count, served.attendance) == ("", 2, "arrived")
    assert served.anonymised_at is not None
    never_expired = booking_row(service, past["never_expired"].code)
    assert never_expired.status == BookingStatus.COMPLETED.value
    assert never_expired.active_phone is None
    assert booking_row(service, past["cancelled"].code).status == BookingStatus.CANCELLED.value
    for key in ("kept", "future"):  # later bookings untouched
        assert service.find_by_code(past[key].code) == past[key]

    assert events_of(tracker_url, OLD) == 0
    assert events_of(tracker_url, KEPT) == 5  # its booking of 2 Nov is still kept
    assert events_of(tracker_url, NO_BOOKING) == 3  # November's message stays
    assert events_of(tracker_url, FUTURE) == 5
    assert [h.phone for h in service.handoffs()] == [NO_BOOKING]
    for table in WHATSAPP_TABLES:  # the inbox (empty here) is trimmed the same way
        expected = 0 if table.name == "whatsapp_inbox" else 1
        assert count_rows(database_url, f"SELECT count(*) FROM {table.name}") == expected

    report = run("laporan", "--dari", "2026-10-01", "--sampai", "2026-10-31", "--tanpa-percakapan")
    assert "Booking (tidak batal)     : 2 (3 orang)" in report.out
    assert "Pembatalan                : 1 dari 3 booking" in report.out
    assert "Tidak hadir               : 0 dari 1 yang ditandai" in report.out

    again = run("hapus-data")
    assert "Booking dianonimkan     : 0 (0 pemohon" in again.out
    assert "0 event dari 0 percakapan" in again.out and "0 baris" in again.out


def test_staff_tools_on_an_anonymised_booking(run, service, past):
    run("hapus-data")
    code = past["served"].code
    listing = run("daftar", "2026-10-05").out
    assert "(2 orang, data dihapus)" in listing and "hadir" in listing and "Ani" not in listing
    assert "data pribadi sudah dihapus" in run("cari", code).out
    refused = run("hadir", code)
    assert refused.code == 1 and "sudah dihapus" in refused.out


def test_missing_tracker_store_fails_loudly_unless_skipped(
    run, service, past, monkeypatch, tmp_path
):
    monkeypatch.setenv("LAW_TRACKER_URL", f"sqlite:///{tmp_path / 'typo.db'}")
    result = run("hapus-data")
    assert result.code == 3 and "Tracker store tidak ditemukan" in result.err
    assert booking_row(service, past["served"].code).anonymised_at is None
    skipped = run("hapus-data", "--tanpa-percakapan")
    assert skipped.code == 0 and "Percakapan (tracker)    : 0 event" in skipped.out
    assert booking_row(service, past["served"].code).anonymised_at is not None


def test_whatsapp_tables_not_created_yet_are_skipped(run, service, conversations):
    result = run("hapus-data")
    assert result.code == 0 and "Tabel kanal WhatsApp    : 0 baris" in result.out


def test_whatsapp_table_names_follow_the_channel():
    for ours in WHATSAPP_TABLES:
        theirs = dedup.metadata.tables[ours.name]
        assert set(ours.c.keys()) <= set(theirs.c.keys())


REBOOKER = "6281200000007"


def two_sessions(conversations, sender: str, sessions) -> None:
    """One conversation of several sessions; each session is (when, [user texts])."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events: list = []
    for start, texts in sessions:
        stamp = start.timestamp()
        events += [ActionExecuted("action_session_start", timestamp=stamp),
                   SessionStarted(timestamp=stamp)]
        for offset, text in enumerate(texts, start=1):
            events += [ActionExecuted("action_listen", timestamp=stamp + offset),
                       UserUttered(text, intent={"name": "inform", "confidence": 0.9},
                                   timestamp=stamp + offset),
                       BotUttered("baik", timestamp=stamp + offset + 0.5)]
    import asyncio

    asyncio.run(conversations.store.save(DialogueStateTracker.from_events(sender, events)))


def tracker_texts(tracker_url: str, sender: str) -> str:
    return " ".join(str(row) for row in rows_of(tracker_url, sender))


def rows_of(tracker_url: str, sender: str) -> list:
    from sqlalchemy import create_engine, text

    engine = create_engine(tracker_url, future=True)
    try:
        with engine.connect() as conn:
            return list(conn.execute(
                text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}))
    finally:
        engine.dispose()


def test_retention_goes_by_age_even_for_a_number_that_booked_again(
    run, office_config, store, conversations, tracker_url
):
    """Book, cancel, book again for a later date: the first booking's conversation goes
    once it is past the retention, although the number still has a kept booking."""
    first_person = person("Siti Lama", D(1985, 2, 3), True, 8)
    second_person = person("Dewi Baru", D(1991, 7, 9), True, 9)
    october = service_at(office_config, store, at(10, 1))
    first = book(october, REBOOKER, D(2026, 10, 5), T(9), [first_person])
    october.cancel(first.code)
    later = book(service_at(office_config, store, at(10, 25)), REBOOKER, D(2026, 11, 10), T(9),
                 [second_person])
    two_sessions(conversations, REBOOKER, [
        (at(10, 1, 9), [f"daftar {first_person.name}", f"nik {first_person.nik}", "ya"]),
        (at(10, 25, 9), [f"daftar {second_person.name}", f"nik {second_person.nik}", "ya"]),
    ])
    assert first_person.nik in tracker_texts(tracker_url, REBOOKER)

    result = run("hapus-data")
    assert result.code == 0, result.err
    kept = tracker_texts(tracker_url, REBOOKER)
    assert first_person.nik not in kept and first_person.name not in kept
    # The later booking (10 Nov, still kept) keeps the session in which it was made.
    assert second_person.nik in kept and second_person.name in kept
    assert len(rows_of(tracker_url, REBOOKER)) == 2 + 3 * 3
    with store.transaction() as tx:
        assert tx.conn.execute(
            select(func.count()).select_from(applicants)
            .where(applicants.c.nik == first_person.nik)).scalar_one() == 0
    assert "Dewi Baru" in run("cari", later.code).out  # the kept booking keeps its data


def test_retention_deletes_takeovers_that_ended_before_the_cutoff(service, conversations, run):
    with service.store.transaction() as tx:
        staff_id = ConsoleQueries(tx.conn).add_user("sari", "Sari", "loket", "x", at(1, 2)).id
        takeover = TakeoverQueries(tx.conn)
        old = takeover.start("6281234500001", staff_id, at(1, 5))
        recent = takeover.start("6281234500002", staff_id, at(11, 27))
        assert old is not None and recent is not None
        tx.conn.execute(takeovers.update().where(takeovers.c.id == old.id)
                        .values(ended_at=at(1, 5, 11)))
        tx.conn.execute(takeovers.update().where(takeovers.c.id == recent.id)
                        .values(ended_at=at(11, 27, 11)))
    assert run("hapus-data").code == 0
    with service.store.transaction() as tx:
        left = tx.conn.execute(select(takeovers.c.phone)).scalars().all()
    assert left == ["6281234500002"]  # the one inside the retention period stays
