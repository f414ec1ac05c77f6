"""Schedule: close and reopen dates, set capacity, and see free places in a calendar.

Commands: ``tutup``, ``buka``, ``kapasitas``, ``kalender``. A staff closure's reason is what
the assistant tells applicants who ask for that date, so it is written for them.
"""
from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass

from antrean import calendar
from antrean.calendar import Closure
from antrean.indonesian import DAY_NAMES
from antrean.notices import NoticeOutbox
from antrean.outcomes import ClosureReason
from antrean.service import BookingService
from antrean.staff.common import (
    StaffContext,
    StaffError,
    day_label,
    long_day_label,
    parse_date,
    parse_time,
    render_table,
    with_context,
)

MAX_REASON_CHARS = 200  # the reason goes into a WhatsApp reply
DEFAULT_WEEKS = 5  # the booking window is 30 days


@dataclass(frozen=True)
class DayView:
    """One date of the calendar: why it is closed, or its places."""

    date: dt.date
    closure: Closure | None
    capacity: int
    taken: int
    bookable: bool  # inside the booking window seen from today

    @property
    def free(self) -> int:
        return 0 if self.closure else max(self.capacity - self.taken, 0)


@dataclass(frozen=True)
class SlotView:
    time: dt.time
    capacity: int
    taken: int
    override: str  # "" (default), "tanggal" (date-wide) or "slot"

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(frozen=True)
class DateChange:
    """What a closure or capacity change meets on that date."""

    date: dt.date
    previous_reason: str | None  # staff closure reason replaced, if any
    bookings: int  # bookings not cancelled on that date (they stay)
    people: int
    overfull: tuple[SlotView, ...] = ()  # slots now holding more than their capacity


def closure_text(closure: Closure) -> str:
    if closure.reason is ClosureReason.WEEKEND:
        return "bukan hari layanan"
    if closure.reason is ClosureReason.HOLIDAY:
        return f"libur nasional: {closure.detail}"
    return f"ditutup petugas: {closure.detail}"


# --- logic -----------------------------------------------------------------------------
def day_views(service: BookingService, first: dt.date, last: dt.date) -> list[DayView]:
    """Every date from ``first`` to ``last`` with its closure or its places."""
    with service.store.transaction() as tx:
        staff = tx.staff_closures(first, last)
        overrides = tx.capacity_overrides(first, last)
        usage = tx.usage(first, last)
    earliest, latest = service.window()
    views = []
    for day in calendar.dates_between(first, last):
        capacity = sum(calendar.capacity_of(service.config, day, t, overrides)
                       for t in service.slot_times)
        taken = sum(usage.get((day, t), 0) for t in service.slot_times)
        views.append(DayView(day, calendar.closure_of(service.config, day, staff), capacity,
                             taken, earliest <= day <= latest))
    return views


def slot_views(service: BookingService, day: dt.date) -> tuple[Closure | None, list[SlotView]]:
    """The date's closure (if any) and every slot with its capacity and places taken."""
    with service.store.transaction() as tx:
        staff = tx.staff_closures(day, day)
        overrides = tx.capacity_overrides(day, day)
        usage = tx.usage(day, day)
    slots = []
    for time in service.slot_times:
        override = ("slot" if (day, time) in overrides
                    else "tanggal" if (day, None) in overrides else "")
        slots.append(SlotView(time, calendar.capacity_of(service.config, day, time, overrides),
                              usage.get((day, time), 0), override))
    return calendar.closure_of(service.config, day, staff), slots


def _bookings_on(service: BookingService, day: dt.date) -> tuple[int, int]:
    with service.store.transaction() as tx:
        counts = tx.staff.day_counts(day, day).get(day)
    return (counts.bookings, counts.people) if counts else (0, 0)


def _not_past(service: BookingService, day: dt.date) -> None:
    if day < service.today():
        raise StaffError(f"{long_day_label(day)} sudah lewat.")


def close_date(service: BookingService, day: dt.date, reason: str) -> DateChange:
    """Close ``day`` for new bookings; the bookings already made stay."""
    reason = " ".join(reason.split())
    if not reason:
        raise StaffError("Alasan penutupan wajib diisi; asisten menyampaikannya ke pemohon.", 2)
    if len(reason) > MAX_REASON_CHARS:
        raise StaffError(f"Alasan terlalu panjang (maks. {MAX_REASON_CHARS} karakter).", 2)
    _not_past(service, day)
    with service.store.transaction() as tx:
        previous = tx.staff_closures(day, day).get(day)
    closure = calendar.closure_of(service.config, day, {})
    if closure is not None:
        raise StaffError(f"{long_day_label(day)} sudah tutup ({closure_text(closure)}).")
    service.close_date(day, reason)
    return DateChange(day, previous, *_bookings_on(service, day))


def reopen_date(service: BookingService, day: dt.date) -> None:
    _not_past(service, day)
    if not service.reopen_date(day):
        closure = calendar.closure_of(service.config, day, {})
        why = f" ({closure_text(closure)}); itu tidak dapat dibuka" if closure else ""
        raise StaffError(f"{long_day_label(day)} tidak ditutup petugas{why}.")


def set_capacity(
    service: BookingService, first: dt.date, last: dt.date, time: dt.time | None, capacity: int
) -> list[DateChange]:
    """Places per slot on each service day from ``first`` to ``last`` (one slot if ``time``)."""
    if capacity < 0:
        raise StaffError("Kapasitas tidak boleh negatif.", 2)
    if time is not None and time not in service.slot_times:
        starts = ", ".join(f"{t:%H:%M}" for t in service.slot_times)
        raise StaffError(f"{time:%H:%M} bukan awal slot. Slot: {starts}.", 2)
    if last < first:
        raise StaffError("Tanggal akhir sebelum tanggal awal.", 2)
    _not_past(service, first)
    closure = calendar.closure_of(service.config, first, {})
    if first == last and closure is not None:
        raise StaffError(f"{long_day_label(first)} tutup ({closure_text(closure)}).")
    changes = []
    for day in calendar.dates_between(first, last):
        if calendar.closure_of(service.config, day, {}) is not None:
            continue  # weekends and holidays inside a range; staff closures may reopen
        service.set_capacity(day, time, capacity)
        _closure, slots = slot_views(service, day)
        overfull = tuple(s for s in slots if s.taken > s.capacity)
        changes.append(DateChange(day, None, *_bookings_on(service, day), overfull=overfull))
    return changes


# --- printing --------------------------------------------------------------------------
def _cell(view: DayView, today: dt.date) -> str:
    if view.date < today:
        return f"{view.date.day:2d}  -"
    if view.closure is not None:
        holiday = view.closure.reason is ClosureReason.HOLIDAY
        return f"{view.date.day:2d}  {'LIBUR' if holiday else 'TUTUP'}"
    mark = "" if view.bookable else "*"
    return f"{view.date.day:2d}  {view.free}/{view.capacity}{mark}"


def print_calendar(service: BookingService, first: dt.date, weeks: int) -> None:
    start = first - dt.timedelta(days=first.weekday())
    last = start + dt.timedelta(days=7 * weeks - 1)
    views = {v.date: v for v in day_views(service, start, last)}
    weekdays = sorted(service.config.schedule.service_weekdays)
    today = service.today()
    earliest, latest = service.window()
    print(f"Sisa tempat per hari (sisa/kapasitas), {day_label(start)} s.d. {day_label(last)}")
    print(f"Dapat dipesan pemohon: {day_label(earliest)} s.d. {day_label(latest)}; "
          "* = di luar jangka pemesanan.")
    rows = []
    for week in range(weeks):
        monday = start + dt.timedelta(days=7 * week)
        cells = [_cell(views[monday + dt.timedelta(days=d - 1)], today) for d in weekdays]
        rows.append([f"{monday:%d-%m-%Y}"] + cells)
    headers = ["Minggu mulai"] + [DAY_NAMES[d - 1] for d in weekdays]
    print(render_table(headers, rows))
    notes = [(v.date, v.closure) for v in views.values()
             if v.closure and v.closure.reason is not ClosureReason.WEEKEND]
    if notes:
        print("\nTanggal tutup:")
        for day, closure in notes:
            print(f"  {day_label(day)}  {closure_text(closure)}")


def print_slots(service: BookingService, day: dt.date) -> None:
    closure, slots = slot_views(service, day)
    print(f"{long_day_label(day)}" + (f" — TUTUP ({closure_text(closure)})" if closure else ""))
    rows = [[f"{s.time:%H:%M}", s.capacity, s.taken, s.free, s.override] for s in slots]
    rows.append(["jumlah", sum(s.capacity for s in slots), sum(s.taken for s in slots),
                 sum(s.free for s in slots), ""])
    print(render_table(["Jam", "Kapasitas", "Terisi", "Sisa", "Diatur per"], rows, right=(1, 2, 3)))


def _print_change(change: DateChange, closing: bool = False) -> None:
    if change.bookings and closing:
        print(f"  Sudah ada {change.bookings} booking ({change.people} orang) pada "
              f"{day_label(change.date)}; booking itu tetap berlaku. Daftar dan nomor untuk "
              f"dihubungi: antrean daftar {change.date.isoformat()} --telepon")
    for slot in change.overfull:
        print(f"  Perhatian: slot {slot.time:%H:%M} sudah terisi {slot.taken}, "
              f"melebihi kapasitas baru {slot.capacity}.")


@with_context
def run_close(ctx: StaffContext, args: argparse.Namespace) -> int:
    day = parse_date(args.tanggal, ctx.today())
    change = close_date(ctx.service, day, args.alasan)
    replaced = f" (alasan lama: {change.previous_reason})" if change.previous_reason else ""
    print(f"{long_day_label(day)} ditutup untuk pemesanan baru{replaced}.")
    print(f"Alasan yang disampaikan asisten: {' '.join(args.alasan.split())}")
    _print_change(change, closing=True)
    if change.bookings and ctx.config.notices is not None:
        queued = NoticeOutbox(ctx.service).queue_closure(day, " ".join(args.alasan.split()))
        print(f"  {queued} pemberitahuan penutupan diantrekan ke WhatsApp pemohon (dengan 3 "
              "tanggal pengganti terdekat); status: antrean daftar "
              f"{day.isoformat()}. Dibuka lagi sebelum terkirim = dibatalkan.")
    return 0


@with_context
def run_reopen(ctx: StaffContext, args: argparse.Namespace) -> int:
    day = parse_date(args.tanggal, ctx.today())
    reopen_date(ctx.service, day)
    print(f"{long_day_label(day)} dibuka kembali untuk pemesanan.")
    if ctx.config.notices is not None:
        cancelled = NoticeOutbox(ctx.service).cancel_closure(day)
        if cancelled:
            print(f"  {cancelled} pemberitahuan penutupan yang belum terkirim dibatalkan.")
    return 0


@with_context
def run_capacity(ctx: StaffContext, args: argparse.Namespace) -> int:
    first = parse_date(args.tanggal, ctx.today())
    last = parse_date(args.sampai, ctx.today()) if args.sampai else first
    time = parse_time(args.jam) if args.jam else None
    changes = set_capacity(ctx.service, first, last, time, args.jumlah)
    where = f"slot {time:%H:%M}" if time else "setiap slot"
    for change in changes:
        print(f"{day_label(change.date)}: kapasitas {where} = {args.jumlah} orang.")
        _print_change(change)
    if not changes:
        print("Tidak ada hari layanan pada rentang itu; tidak ada yang diubah.")
    return 0


@with_context
def run_calendar(ctx: StaffContext, args: argparse.Namespace) -> int:
    if args.tanggal:
        print_slots(ctx.service, parse_date(args.tanggal, ctx.today()))
    else:
        if not 1 <= args.minggu <= 26:
            raise StaffError("--minggu harus antara 1 dan 26.", 2)
        print_calendar(ctx.service, ctx.today(), args.minggu)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    date_help = "tanggal: 2026-12-24, 24-12-2026, besok, \"senin depan\", …"
    p = subparsers.add_parser(
        "tutup", help="tutup satu tanggal untuk pemesanan baru (cuti bersama, acara)",
        description="Menutup satu tanggal untuk pemesanan baru. Pemohon yang sudah punya "
        "booking pada tanggal itu diberi tahu lewat WhatsApp (alasannya dan tiga tanggal "
        "terdekat yang masih ada tempat; pindah ke sana tidak memakai jatah ubah jadwal). "
        "Alasan juga disampaikan asisten kepada pemohon yang meminta tanggal itu.")
    p.add_argument("tanggal", help=date_help)
    p.add_argument("--alasan", required=True,
                   help="alasan untuk pemohon, mis. \"cuti bersama Natal\" (wajib)")
    p.set_defaults(handler=run_close)

    p = subparsers.add_parser("buka", help="buka kembali tanggal yang ditutup petugas",
                              description="Membuka kembali tanggal yang ditutup dengan "
                              "`antrean tutup`. Akhir pekan dan libur nasional tidak dapat dibuka.")
    p.add_argument("tanggal", help=date_help)
    p.set_defaults(handler=run_reopen)

    p = subparsers.add_parser(
        "kapasitas", help="atur jumlah tempat per slot untuk satu tanggal atau satu slot",
        description="Mengatur jumlah tempat per slot. Tanpa --jam berlaku untuk setiap slot "
        "tanggal itu; dengan --jam hanya untuk slot itu (dan mengalahkan aturan per tanggal). "
        "Booking yang sudah ada tidak berubah.")
    p.add_argument("tanggal", help=date_help)
    p.add_argument("jumlah", type=int, help="tempat per slot (0 = slot tidak menerima booking)")
    p.add_argument("--jam", help="awal slot, mis. 09:30 (default: semua slot)")
    p.add_argument("--sampai", help="tanggal akhir rentang; hari libur di dalamnya dilewati")
    p.set_defaults(handler=run_capacity)

    p = subparsers.add_parser(
        "kalender", help="sisa tempat per hari untuk minggu-minggu ke depan, atau per slot",
        description="Tanpa tanggal: kalender sisa tempat per hari mulai minggu ini. "
        "Dengan tanggal: kapasitas, terisi dan sisa tiap slot pada tanggal itu.")
    p.add_argument("tanggal", nargs="?", help="tampilkan per slot untuk tanggal ini")
    p.add_argument("--minggu", type=int, default=DEFAULT_WEEKS,
                   help=f"jumlah minggu yang ditampilkan (default {DEFAULT_WEEKS})")
    p.set_defaults(handler=run_calendar)
