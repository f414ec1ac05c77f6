"""The notice outbox on SQLite and PostgreSQL: reminders queued once, at their hour, for
the right bookings; claims that never overlap; retries, final errors, delivery reports;
closure notices, the move that keeps the reschedule, reopening; attendance; retention."""
from __future__ import annotations

import datetime as dt
import threading

from antrean.model import NoticeKind, NoticeState
from antrean.notices import NoticeOutbox, notice_label
from antrean.outcomes import Rescheduled
from antrean.staff.privacy import apply_retention
from tests.notices.conftest import DAY, EVE, at, reserve


def test_reminders_are_due_from_the_hour_the_day_before(service, booked_day):
    assert NoticeOutbox(at(service, EVE - dt.timedelta(minutes=1))).queue_due_reminders() == 0
    outbox = NoticeOutbox(at(service, EVE))
    assert outbox.queue_due_reminders() == 5
    assert outbox.queue_due_reminders() == 0  # queued once, whoever runs it again
    queued = outbox.notices_between(DAY, DAY)
    assert sorted(n.phone for n in queued) == sorted(b.phone for b in booked_day.bookings)
    first = next(n for n in queued if n.phone == booked_day.bookings[0].phone)
    assert first.parameters["people"] == "Pemohon 1 0 dan Pemohon 1 1"
    assert first.parameters["day"] == "Selasa" and first.parameters["date"] == "8 Desember 2026"
    assert first.parameters["time"] == "08.00"


def test_a_booking_made_after_the_hour_for_the_next_day_gets_no_reminder(service, booked_day):
    late = reserve(at(service, EVE + dt.timedelta(minutes=5)), "6281200009999", 50)
    outbox = NoticeOutbox(at(service, EVE + dt.timedelta(hours=1)))
    outbox.queue_due_reminders()
    assert late.phone not in {n.phone for n in outbox.notices_between(DAY, DAY)}


def test_claims_never_overlap_and_each_notice_is_sent_once(service, booked_day):
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_due_reminders()
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            items = outbox.claim(limit=1)
            if not items:
                return
            for item in items:
                assert outbox.sent(item, f"wamid.{item.notice.id}")
                with lock:
                    taken.append(item.notice.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == len(set(taken)) == 5


def test_a_cancelled_or_opted_out_booking_after_queueing_is_not_sent(service, booked_day):
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_due_reminders()
    service.cancel(booked_day.bookings[0].code)
    outbox.set_reminders(booked_day.bookings[1].phone, on=False)
    assert len(outbox.claim(limit=10)) == 3
    states = {n.phone: (n.state, n.cancel_reason) for n in outbox.notices_between(DAY, DAY)}
    assert states[booked_day.bookings[0].phone] == (NoticeState.CANCELLED, "booking_cancelled")
    assert states[booked_day.bookings[1].phone] == (NoticeState.CANCELLED, "opted_out")


def test_failures_are_retried_with_backoff_then_failed_and_final_codes_at_once(
        service, booked_day):
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_due_reminders()
    first, second = outbox.claim(limit=2)
    outbox.failed(first, 131026, "not on WhatsApp", retryable=False)
    outbox.failed(second, None, "ServerDisconnectedError", retryable=True)
    by_id = {n.id: n for n in outbox.notices_between(DAY, DAY)}
    assert by_id[first.notice.id].state is NoticeState.FAILED
    assert notice_label(by_id[first.notice.id]) == \
        "gagal: nomor tidak terdaftar di WhatsApp (131026)"
    retry = by_id[second.notice.id]
    assert retry.state is NoticeState.PENDING and retry.next_attempt_at > EVE
    # Not due again before its pause; after max_attempts tries it is failed for good.
    assert second.notice.id not in {i.notice.id for i in outbox.claim(limit=10)}
    later = EVE
    for _ in range(10):
        later += dt.timedelta(hours=1)
        late_outbox = NoticeOutbox(at(service, later))
        for item in late_outbox.claim(limit=10):
            if item.notice.id == second.notice.id:
                late_outbox.failed(item, 500, "down", retryable=True)
    final = {n.id: n for n in outbox.notices_between(DAY, DAY)}[second.notice.id]
    assert final.state is NoticeState.FAILED and final.attempts == 5


def test_template_paused_is_final(service, booked_day):
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_due_reminders()
    (item,) = outbox.claim(limit=1)
    outbox.failed(item, 132015, "Template paused", retryable=True)
    notice = next(n for n in outbox.notices_between(DAY, DAY) if n.id == item.notice.id)
    assert notice.state is NoticeState.FAILED and notice.error_code == 132015


def test_delivery_reports_land_on_the_right_row_and_never_go_back(service, booked_day):
    outbox = NoticeOutbox(at(service, EVE))
    outbox.queue_due_reminders()
    items = outbox.claim(limit=5)
    for item in items:
        outbox.sent(item, f"wamid.out.{item.notice.id}")
    target = items[2].notice.id
    assert outbox.record_delivery(f"wamid.out.{target}", "read", EVE)
    assert outbox.record_delivery(f"wamid.out.{target}", "delivered", EVE)
    assert not outbox.record_delivery("wamid.unknown", "read", EVE)
    delivered = {n.id: n.delivery for n in outbox.notices_between(DAY, DAY)}
    assert delivered[target] == "read"
    assert [d for i, d in delivered.items() if i != target] == [None] * 4


def test_closure_notices_offer_free_days_and_the_move_keeps_the_reschedule(service,
                                                                           booked_day):
    service.close_date(DAY, "Pemadaman listrik")
    outbox = NoticeOutbox(service)
    # Closure notices are service information: the number that stopped reminders gets one.
    assert outbox.queue_closure(DAY, "Pemadaman listrik") == 6
    assert outbox.queue_closure(DAY, "Pemadaman listrik") == 0
    items = outbox.claim(limit=10)
    assert len(items) == 6
    group = next(i for i in items if i.notice.phone == booked_day.bookings[0].phone)
    assert group.values["reason"] == "Pemadaman listrik"
    assert [b.payload.split(":")[3] for b in group.buttons] == \
        ["2026-12-07", "2026-12-09", "2026-12-10"]
    moved = outbox.move(group.buttons[0].payload, group.notice.phone)
    assert isinstance(moved, Rescheduled)
    assert moved.booking.slot.date == dt.date(2026, 12, 7)
    assert moved.booking.reschedule_count == 0  # the one reschedule is still there
    assert service.reschedule_problem(moved.booking) is None
    # Not from another number, and not twice (the booking left the closed date).
    other = next(i for i in items if i.notice.phone == booked_day.bookings[1].phone)
    assert not isinstance(outbox.move(other.buttons[0].payload, "628999"), Rescheduled)
    assert not isinstance(outbox.move(group.buttons[1].payload, group.notice.phone),
                          Rescheduled)


def test_reopening_before_sending_cancels_the_closure_notices(service, booked_day):
    service.close_date(DAY, "Rapat")
    outbox = NoticeOutbox(service)
    outbox.queue_closure(DAY, "Rapat")
    service.reopen_date(DAY)
    assert outbox.cancel_closure(DAY) == 6
    assert outbox.claim(limit=10) == []


def test_attendance_is_confirmed_only_from_the_booking_number(service, booked_day):
    outbox = NoticeOutbox(service)
    booking = booked_day.bookings[0]
    assert not outbox.confirm_attendance(booking.code, "628999")
    assert outbox.confirm_attendance(booking.code, booking.phone)
    with service.store.transaction() as tx:
        assert tx.staff.by_code(booking.code).attendance_confirmed_at is not None


def test_retention_removes_the_number_and_names_from_old_notices(service, booked_day):
    NoticeOutbox(at(service, EVE)).queue_due_reminders()
    later = at(service, dt.datetime.combine(DAY + dt.timedelta(days=40), dt.time(9),
                                            tzinfo=EVE.tzinfo))
    apply_retention(later, None, None, dry_run=False)
    notices = NoticeOutbox(later).notices_between(DAY, DAY)
    assert len(notices) == 5
    assert all(n.phone == "" and n.parameters == {} for n in notices)
    assert all(n.kind is NoticeKind.REMINDER for n in notices)
