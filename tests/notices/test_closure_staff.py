"""``antrean tutup`` on a date with 40 active bookings: 40 closure notices, sent once through
the local Graph API, shown in ``antrean daftar``; ``antrean buka`` before sending cancels them."""
from __future__ import annotations

import datetime as dt

from antrean.notices import NoticeOutbox
from tests.channel.helpers import accept_all, sent_bodies
from tests.notices.conftest import DAY, reserve
from tests.notices.test_sending import send_round
from tests.staff.conftest import run, staff_env, tracker_url  # noqa: F401


def book_forty(service) -> list:
    return [reserve(service, f"62813000{i:05d}", 100 + i, time=dt.time(8 + i // 20))
            for i in range(40)]


def test_closing_a_date_with_40_bookings_sends_40_notices_once(service, run, graph):  # noqa: F811
    accept_all(graph)
    book_forty(service)
    result = run("tutup", DAY.isoformat(), "--alasan", "Pemadaman listrik")
    assert result.code == 0 and "40 pemberitahuan penutupan diantrekan" in result.out
    assert send_round(service, graph) == 40
    assert send_round(service, graph) == 0
    bodies = sent_bodies(graph)
    assert len(bodies) == len({b["to"] for b in bodies}) == 40
    template = bodies[0]["template"]
    assert template["name"] == "penutupan_layanan"
    assert template["components"][0]["parameters"][2]["text"] == "Pemadaman listrik"
    assert all(c["parameters"][0]["payload"].startswith("notice:move:")
               for c in template["components"][1:])
    listing = run("daftar", DAY.isoformat())
    assert listing.out.count("penutupan: dikirim") == 40


def test_reopening_before_sending_cancels_the_notices(service, run, graph):  # noqa: F811
    accept_all(graph)
    book_forty(service)
    run("tutup", DAY.isoformat(), "--alasan", "Rapat")
    result = run("buka", DAY.isoformat())
    assert "40 pemberitahuan penutupan yang belum terkirim dibatalkan" in result.out
    assert NoticeOutbox(service).claim(limit=50) == []
    # The date is open again: its bookings get their reminders, never the closure notice.
    send_round(service, graph)
    assert {b["template"]["name"] for b in sent_bodies(graph)} == {"pengingat_antrean"}


def test_the_report_counts_reminders_read_confirmed_and_no_shows(service, booked_day, run,  # noqa: F811
                                                                 graph):
    from antrean.model import Attendance
    from antrean.staff.reports import reminder_figures
    from tests.notices.conftest import EVE, at

    accept_all(graph)
    send_round(service, graph)
    outbox = NoticeOutbox(service)
    first = outbox.notices_between(DAY, DAY)[0]
    outbox.record_delivery(first.wamid, "read", EVE)
    outbox.confirm_attendance(booked_day.bookings[0].code, booked_day.bookings[0].phone)
    later = at(service, EVE + dt.timedelta(days=2))
    with later.store.transaction() as tx:
        for booking in (booked_day.bookings[1], booked_day.opted_out):
            staff_booking = tx.staff.by_code(booking.code)
            tx.staff.set_attendance(staff_booking.id, Attendance.NO_SHOW, later.now())
    figures = reminder_figures(later, DAY, DAY)
    assert figures == {"sent": 5, "read": 1, "failed": 0, "attend": 1, "reminded": 5,
                       "not_reminded": 1, "no_show_reminded": 1, "no_show_not_reminded": 1}
    result = run("laporan", "--dari", DAY.isoformat(), "--sampai", DAY.isoformat(),
                 "--tanpa-percakapan", now=EVE + dt.timedelta(days=2))
    assert "Pengingat WhatsApp:" in result.out and "Terkirim" in result.out
