"""Reports over a date range: bookings per day, no-shows, cancellations, understanding.

Bookings are counted by service date from the slot store. Messages come from Rasa's
tracker store: a user message "fell back" when its intent is ``nlu_fallback`` or was
predicted with a confidence under the FallbackClassifier threshold of ``config.yml``.
"""
from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from antrean import calendar
from antrean.model import Attendance, DayCounts, NoticeKind, NoticeState
from antrean.notices import NoticeOutbox
from antrean.service import BookingService
from antrean.staff.common import (
    StaffContext,
    StaffError,
    day_label,
    long_day_label,
    parse_date,
    percent,
    render_table,
    with_context,
    write_csv,
)
from antrean.staff.tracker import (
    MessageStats,
    TrackerStore,
    fallback_threshold,
    tracker_url_from_env,
)
from antrean.store.errors import StoreError

MAX_DAYS = 366
CSV_HEADERS = ("tanggal", "booking", "orang", "batal", "hadir", "tidak_hadir", "belum_ditandai",
               "pesan", "pesan_fallback")


class ReportRow(NamedTuple):
    """One day of the report, in the order of the CSV's columns (``CSV_HEADERS``)."""

    date: str  # ISO 8601
    bookings: int
    people: int
    cancelled: int
    arrived: int
    no_show: int
    unmarked: int
    messages: int
    fallback_messages: int


@dataclass
class Report:
    first: dt.date
    last: dt.date
    days: dict[dt.date, DayCounts]
    messages: MessageStats | None  # None: the tracker store was not read
    tracker_problem: str | None
    threshold: float

    def total(self) -> DayCounts:
        total = DayCounts()
        for counts in self.days.values():
            for name in ("bookings", "people", "cancelled", "arrived", "no_show"):
                setattr(total, name, getattr(total, name) + getattr(counts, name))
        return total

    def no_show_rate(self) -> str:
        total = self.total()
        return percent(total.no_show, total.arrived + total.no_show)

    def cancellation_rate(self) -> str:
        total = self.total()
        return percent(total.cancelled, total.bookings + total.cancelled)

    def fallback_rate(self) -> str:
        return percent(self.messages.fallback, self.messages.total) if self.messages else "-"

    def rows(self, service: BookingService) -> list[ReportRow]:
        """One row per service day of the range (and per other day holding bookings)."""
        rows = []
        for day in calendar.dates_between(self.first, self.last):
            counts = self.days.get(day)
            messages = self.messages.per_day.get(day) if self.messages else None
            open_day = calendar.closure_of(service.config, day, {}) is None
            if counts is None and messages is None and not open_day:
                continue
            counts = counts or DayCounts()
            rows.append(ReportRow(day.isoformat(), counts.bookings, counts.people,
                                  counts.cancelled, counts.arrived, counts.no_show,
                                  counts.unmarked, messages[0] if messages else 0,
                                  messages[1] if messages else 0))
        return rows


def build_report(
    service: BookingService,
    tracker: TrackerStore | None,
    first: dt.date,
    last: dt.date,
    threshold: float,
) -> Report:
    if last < first:
        raise StaffError("--sampai sebelum --dari.", 2)
    if (last - first).days >= MAX_DAYS:
        raise StaffError(f"Rentang laporan paling lama {MAX_DAYS} hari.", 2)
    with service.store.transaction() as tx:
        days = tx.staff.day_counts(first, last)
    messages, problem = None, None
    if tracker is not None:
        start = dt.datetime.combine(first, dt.time(), tzinfo=service.tz)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=service.tz)
        try:
            messages = tracker.message_stats(start, end, service.tz, threshold)
        except StaffError as exc:
            problem = exc.message
        except StoreError as exc:
            problem = f"tracker store tidak dapat dibaca ({exc.__class__.__name__})"
    return Report(first, last, days, messages, problem, threshold)


def _line(label: str, value: str) -> str:
    return f"{label:<26}: {value}"


def print_report(report: Report, service: BookingService) -> None:
    print(f"Laporan {long_day_label(report.first)} s.d. {long_day_label(report.last)}\n")
    headers = ["Tanggal", "Booking", "Orang", "Batal", "Hadir", "Tdk hadir", "Belum",
               "Pesan", "Fallback"]
    rows = [[day_label(dt.date.fromisoformat(r.date)), *r[1:8],
             percent(r.fallback_messages, r.messages)]
            for r in report.rows(service)]
    total = report.total()
    messages = report.messages
    rows.append(["jumlah", total.bookings, total.people, total.cancelled, total.arrived,
                 total.no_show, total.unmarked, messages.total if messages else "-",
                 report.fallback_rate()])
    print(render_table(headers, rows, right=range(1, 9)))
    print()
    print(_line("Booking (tidak batal)", f"{total.bookings} ({total.people} orang)"))
    print(_line("Pembatalan", f"{total.cancelled} dari {total.bookings + total.cancelled} "
                f"booking ({report.cancellation_rate()})"))
    print(_line("Tidak hadir", f"{total.no_show} dari {total.arrived + total.no_show} yang "
                f"ditandai ({report.no_show_rate()}); {total.unmarked} belum ditandai"))
    if messages is None:
        problem = f" — {report.tracker_problem}" if report.tracker_problem else ""
        print(_line("Percakapan", f"tidak dibaca{problem}"))
        return
    print(_line("Pesan pemohon", str(messages.total)))
    threshold = f"{report.threshold:g}".replace(".", ",")
    print(_line("Tidak dipahami (fallback)", f"{messages.fallback} ({report.fallback_rate()}; "
                f"intent nlu_fallback atau keyakinan < {threshold})"))
    if messages.per_intent:
        print("\nPesan per intent:")
        intent_rows = [[name, count, percent(count, messages.total)]
                       for name, count in sorted(messages.per_intent.items(),
                                                 key=lambda item: (-item[1], item[0]))]
        print(render_table(["Intent", "Pesan", "Bagian"], intent_rows, right=(1, 2)))


@with_context
def run_report(ctx: StaffContext, args: argparse.Namespace) -> int:
    today = ctx.today()
    last = parse_date(args.sampai, today) if args.sampai else today
    first = parse_date(args.dari, today) if args.dari else last - dt.timedelta(days=6)
    tracker = None
    if not args.tanpa_percakapan:
        tracker = TrackerStore(ctx.tracker_url or tracker_url_from_env())
    threshold = args.ambang if args.ambang is not None else fallback_threshold()
    try:
        report = build_report(ctx.service, tracker, first, last, threshold)
    finally:
        if tracker is not None:
            tracker.dispose()
    if args.csv:
        write_csv(args.csv, CSV_HEADERS, report.rows(ctx.service))
        if args.csv != "-":
            print(f"Laporan per hari ditulis ke {args.csv}.")
        return 0
    print_report(report, ctx.service)
    if ctx.config.notices is not None:
        print_reminder_figures(ctx.service, first, last)
    return 0


def reminder_figures(service: BookingService, first: dt.date, last: dt.date) -> dict[str, int]:
    """Reminders over the dates: sent, read, "Saya datang", and no-shows reminded or not."""
    notices = NoticeOutbox(service).notices_between(first, last)
    reminded = {n.booking_id for n in notices
                if n.kind is NoticeKind.REMINDER and n.state is NoticeState.SENT}
    with service.store.transaction() as tx:
        booked = [b for day in dt_range(first, last) for b in tx.staff.bookings_on(day)
                  if not b.is_cancelled]
    no_show = [b for b in booked if b.attendance is Attendance.NO_SHOW]
    return {
        "sent": len(reminded),
        "read": sum(n.delivery == "read" for n in notices
                    if n.kind is NoticeKind.REMINDER and n.state is NoticeState.SENT),
        "failed": sum(n.kind is NoticeKind.REMINDER and n.state is NoticeState.FAILED
                      for n in notices),
        "attend": sum(b.attendance_confirmed_at is not None for b in booked),
        "reminded": sum(b.id in reminded for b in booked),
        "not_reminded": sum(b.id not in reminded for b in booked),
        "no_show_reminded": sum(b.id in reminded for b in no_show),
        "no_show_not_reminded": sum(b.id not in reminded for b in no_show),
    }


def print_reminder_figures(service: BookingService, first: dt.date, last: dt.date) -> None:
    f = reminder_figures(service, first, last)
    print("\nPengingat WhatsApp:")
    print(_line("Terkirim", f"{f['sent']} (dibaca {f['read']}, gagal {f['failed']})"))
    print(_line("\"Saya datang\"", str(f["attend"])))
    print(_line("Tidak hadir, diingatkan", f"{f['no_show_reminded']} dari {f['reminded']} "
                f"({percent(f['no_show_reminded'], f['reminded'])})"))
    print(_line("Tidak hadir, tanpa pengingat", f"{f['no_show_not_reminded']} dari "
                f"{f['not_reminded']} ({percent(f['no_show_not_reminded'], f['not_reminded'])})"))


def dt_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "laporan", help="laporan booking, ketidakhadiran, pembatalan dan pesan tak dipahami",
        description="Laporan per hari untuk satu rentang tanggal: booking, orang, batal, "
        "hadir, tidak hadir, belum ditandai, pesan pemohon dan bagian pesan yang tidak "
        "dipahami asisten (fallback), serta jumlah pesan per intent.")
    p.add_argument("--dari", metavar="TANGGAL",
                   help="tanggal awal (default 6 hari sebelum --sampai)")
    p.add_argument("--sampai", metavar="TANGGAL", help="tanggal akhir (default hari ini)")
    p.add_argument("--csv", metavar="FILE", help="tulis angka per hari ke file CSV (- = layar)")
    p.add_argument("--tracker", metavar="URL",
                   help="basis data percakapan Rasa (default LAW_TRACKER_URL atau var/tracker.db)")
    p.add_argument("--ambang", type=float,
                   help="ambang keyakinan fallback (default: FallbackClassifier di config.yml)")
    p.add_argument("--tanpa-percakapan", action="store_true",
                   help="jangan baca tracker store (hanya angka booking)")
    p.set_defaults(handler=run_report)
