"""Daily work at the counter: the day's list, a code's booking, arrivals, hand-off requests.

Commands: ``daftar``, ``cari``, ``hadir``, ``tidak-hadir``, ``permintaan``, ``selesai``.
NIKs are shown masked (last four digits): the counter checks them against the e-KTP.
Phone numbers are masked too, unless staff ask for them to call applicants
(``daftar --telepon``) or answer a hand-off request (``permintaan``).
"""
from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass

from antrean import codes
from antrean.masking import mask_phone
from antrean.model import Attendance, HandoffRequest, NoticeKind, StaffBooking
from antrean.nik import mask_nik
from antrean.notices import NoticeOutbox, notice_label
from antrean.service import BookingService
from antrean.staff.common import (
    StaffContext,
    StaffError,
    day_label,
    long_day_label,
    parse_date,
    render_table,
    staff_name,
    with_context,
    write_csv,
)

ATTENDANCE_LABELS = {Attendance.ARRIVED: "hadir", Attendance.NO_SHOW: "tidak hadir"}
CSV_HEADERS = ("tanggal", "jam", "kode", "urutan", "nama", "nik", "layanan", "jenis_paspor",
               "status", "telepon")


@dataclass(frozen=True)
class Marked:
    booking: StaffBooking
    previous: Attendance | None


def status_label(booking: StaffBooking, today: dt.date) -> str:
    if booking.is_cancelled:
        return "batal"
    if booking.attendance is not None:
        return ATTENDANCE_LABELS[booking.attendance]
    if booking.anonymised_at is not None or booking.slot.date < today:
        return "tidak ditandai"
    return "terjadwal"


# --- logic -----------------------------------------------------------------------------
def bookings_on(service: BookingService, day: dt.date, with_cancelled: bool) -> list[StaffBooking]:
    with service.store.transaction() as tx:
        found = tx.staff.bookings_on(day)
    return [b for b in found if with_cancelled or not b.is_cancelled]


def find(service: BookingService, raw_code: str) -> StaffBooking:
    code = codes.normalise_code(raw_code)
    if not codes.is_valid_code(code, service.config.booking.code_length):
        raise StaffError(f"{raw_code!r} bukan kode booking yang sah (periksa salah ketik).")
    with service.store.transaction() as tx:
        booking = tx.staff.by_code(code)
    if booking is None:
        raise StaffError(f"Kode {codes.display_code(code)} tidak ditemukan.")
    return booking


def mark_attendance(service: BookingService, raw_code: str, value: Attendance) -> Marked:
    """Mark a booking arrived or no-show; a mark can be corrected later."""
    booking = find(service, raw_code)
    label = codes.display_code(booking.code)
    if booking.is_cancelled:
        raise StaffError(f"Booking {label} sudah dibatalkan.")
    if booking.anonymised_at is not None:
        raise StaffError(f"Data booking {label} sudah dihapus (masa simpan habis).")
    now = service.now()
    if booking.slot.date > now.date():
        raise StaffError(f"Booking {label} untuk {long_day_label(booking.slot.date)}, belum "
                         "hari ini.")
    if value is Attendance.NO_SHOW and now < booking.slot.starts_at(service.tz):
        raise StaffError(f"Slot {booking.slot.time:%H:%M} booking {label} belum dimulai.")
    with service.store.transaction() as tx:
        if not tx.staff.set_attendance(booking.id, value, now):
            raise StaffError(f"Booking {label} berubah sementara itu; coba lagi.")
    return Marked(find(service, booking.code), booking.attendance)


def mark_rest_no_show(service: BookingService, day: dt.date) -> int:
    """After the day's service, every booking not marked becomes a no-show."""
    now = service.now()
    closing = dt.datetime.combine(day, service.config.schedule.closing_time, tzinfo=service.tz)
    if now < closing:
        raise StaffError(f"Layanan {long_day_label(day)} belum selesai "
                         f"(tutup pukul {service.config.schedule.closing_time:%H.%M}).")
    with service.store.transaction() as tx:
        return tx.staff.mark_unmarked_no_show(day, now)


# --- printing --------------------------------------------------------------------------
def _rows(bookings: list[StaffBooking], today: dt.date, phones: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    for booking in bookings:
        people = booking.applicants or ()
        phone = booking.phone if phones else mask_phone(booking.phone)
        status = status_label(booking, today)
        for position, person in enumerate(people, start=1):
            rows.append([booking.slot.date.isoformat(), f"{booking.slot.time:%H:%M}",
                         codes.display_code(booking.code), position, person.name,
                         mask_nik(person.nik), booking.service_type, booking.passport_type,
                         status, phone])
        if not people:  # personal data already removed by the retention
            rows.append([booking.slot.date.isoformat(), f"{booking.slot.time:%H:%M}",
                         codes.display_code(booking.code), "", f"({booking.size} orang, data "
                         "dihapus)", "", booking.service_type, booking.passport_type, status, ""])
    return rows


def _messages(ctx: StaffContext, found: list[StaffBooking]) -> dict[str, str]:
    """Per displayed code: the reminder's and closure notice's fate, and "Saya datang"."""
    by_booking = NoticeOutbox(ctx.service).notices_of([b.id for b in found]) \
        if ctx.config.notices is not None else {}
    labels = {}
    for booking in found:
        parts = [f"{'pengingat' if n.kind is NoticeKind.REMINDER else 'penutupan'}: "
                 f"{notice_label(n)}" for n in by_booking.get(booking.id, [])
                 if n.service_date == booking.slot.date or n.kind is NoticeKind.CLOSURE]
        if booking.attendance_confirmed_at is not None:
            parts.append("\"Saya datang\"")
        labels[codes.display_code(booking.code)] = "; ".join(parts)
    return labels


@with_context
def run_list(ctx: StaffContext, args: argparse.Namespace) -> int:
    today = ctx.today()
    day = parse_date(args.tanggal, today)
    found = bookings_on(ctx.service, day, args.semua)
    rows = _rows(found, today, args.telepon)
    if args.csv:
        write_csv(args.csv, CSV_HEADERS, rows)
        if args.csv != "-":
            print(f"{len(found)} booking ({len(rows)} baris) ditulis ke {args.csv}.")
        return 0
    print(f"Booking {long_day_label(day)}")
    if not found:
        print("Tidak ada booking.")
        return 0
    messages = _messages(ctx, found)
    screen = []
    previous = None
    for row in rows:
        same = row[2] == previous
        previous = row[2]
        screen.append(["" if same else row[1], "" if same else row[2], row[4], row[5],
                       "" if same else f"{row[6]}/{row[7]}", "" if same else row[8],
                       "" if same else messages.get(str(row[2]), "")]
                      + ([] if not args.telepon else ["" if same else row[9]]))
    headers = ["Jam", "Kode", "Nama", "NIK", "Layanan", "Status", "Pesan WhatsApp"]
    headers += ["Telepon"] if args.telepon else []
    print(render_table(headers, screen))
    active = [b for b in found if not b.is_cancelled]
    arrived = sum(b.attendance is Attendance.ARRIVED for b in active)
    no_show = sum(b.attendance is Attendance.NO_SHOW for b in active)
    print(f"\n{len(active)} booking, {sum(b.size for b in active)} orang: {arrived} hadir, "
          f"{no_show} tidak hadir, {len(active) - arrived - no_show} belum ditandai"
          + (f"; {len(found) - len(active)} batal" if args.semua else "") + ".")
    return 0


@with_context
def run_find(ctx: StaffContext, args: argparse.Namespace) -> int:
    booking = find(ctx.service, args.kode)
    print(f"Kode      : {codes.display_code(booking.code)}")
    print(f"Jadwal    : {long_day_label(booking.slot.date)}, pukul {booking.slot.time:%H.%M}")
    print(f"Layanan   : {ctx.config.services.get(booking.service_type, booking.service_type)}, "
          f"{ctx.config.passport_types.get(booking.passport_type, booking.passport_type)}")
    print(f"Status    : {status_label(booking, ctx.today())}"
          + (f" (diubah jadwal {booking.reschedule_count}x)" if booking.reschedule_count else ""))
    print(f"Telepon   : {mask_phone(booking.phone) or '-'}")
    if not booking.applicants:
        print(f"Pemohon   : {booking.size} orang (data pribadi sudah dihapus)")
    for position, person in enumerate(booking.applicants, start=1):
        print(f"Pemohon {position} : {person.name} — NIK {mask_nik(person.nik)}")
    return 0


def _mark(ctx: StaffContext, args: argparse.Namespace, value: Attendance) -> int:
    failures = 0
    for raw in args.kode:
        try:
            marked = mark_attendance(ctx.service, raw, value)
        except StaffError as problem:
            print(problem.message)
            failures += 1
            continue
        names = ", ".join(p.name for p in marked.booking.applicants)
        before = (f" (sebelumnya: {ATTENDANCE_LABELS[marked.previous]})"
                  if marked.previous and marked.previous is not value else "")
        print(f"{codes.display_code(marked.booking.code)} {marked.booking.slot.time:%H:%M} "
              f"{names}: {ATTENDANCE_LABELS[value]}{before}.")
    return 1 if failures else 0


@with_context
def run_arrived(ctx: StaffContext, args: argparse.Namespace) -> int:
    return _mark(ctx, args, Attendance.ARRIVED)


@with_context
def run_no_show(ctx: StaffContext, args: argparse.Namespace) -> int:
    if args.sisa:
        if args.kode:
            raise StaffError("Pakai kode ATAU --sisa, tidak keduanya.", 2)
        day = parse_date(args.sisa, ctx.today())
        count = mark_rest_no_show(ctx.service, day)
        print(f"{count} booking {day_label(day)} yang belum ditandai kini tercatat tidak hadir.")
        return 0
    if not args.kode:
        raise StaffError("Sebutkan kode booking, atau --sisa TANGGAL.", 2)
    return _mark(ctx, args, Attendance.NO_SHOW)


def _handoff_row(request: HandoffRequest, tz: dt.tzinfo) -> list[object]:
    created = request.created_at.astimezone(tz)
    state = "terbuka" if request.is_open else f"selesai ({request.resolved_by or '-'})"
    reason = {"request_human": "minta petugas", "fallback": "bot tidak paham"}.get(
        request.reason, request.reason)
    return [request.id, f"{created:%d-%m %H:%M}", request.phone, reason,
            (request.message or "")[:60], state]


@with_context
def run_handoffs(ctx: StaffContext, args: argparse.Namespace) -> int:
    requests = ctx.service.handoffs(include_resolved=args.semua)
    if not requests:
        print("Tidak ada percakapan yang menunggu petugas.")
        return 0
    rows = [_handoff_row(r, ctx.service.tz) for r in requests]
    print(render_table(["ID", "Waktu", "Nomor WhatsApp", "Sebab", "Pesan terakhir", "Status"],
                       rows, right=(0,)))
    print("\nSetelah pemohon dihubungi: antrean selesai ID")
    return 0


@with_context
def run_resolve(ctx: StaffContext, args: argparse.Namespace) -> int:
    staff = staff_name(args)
    failures = 0
    for handoff_id in args.id:
        if ctx.service.resolve_handoff(handoff_id, staff):
            print(f"Permintaan {handoff_id} ditandai selesai oleh {staff}.")
        else:
            print(f"Permintaan {handoff_id} tidak ada atau sudah selesai.")
            failures += 1
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "daftar", help="daftar booking satu tanggal (layar atau CSV)",
        description="Daftar booking satu tanggal: jam, kode, nama, NIK tersamar, layanan, "
        "status. Satu baris per pemohon.")
    p.add_argument("tanggal", nargs="?", default="hari-ini",
                   help="tanggal (default hari-ini), mis. besok, 2026-12-07")
    p.add_argument("--csv", metavar="FILE", help="tulis ke file CSV (- = layar)")
    p.add_argument("--semua", action="store_true", help="sertakan booking yang dibatalkan")
    p.add_argument("--telepon", action="store_true",
                   help="tampilkan nomor WhatsApp lengkap (untuk menghubungi pemohon)")
    p.set_defaults(handler=run_list)

    p = subparsers.add_parser("cari", help="cari booking dengan kodenya",
                              description="Menampilkan booking dari kodenya (huruf besar/kecil "
                              "dan tanda hubung boleh).")
    p.add_argument("kode", help="kode booking, mis. KM7Q-2PXA")
    p.set_defaults(handler=run_find)

    p = subparsers.add_parser("hadir", help="tandai pemohon sudah datang",
                              description="Menandai booking hadir. Tanda dapat dikoreksi "
                              "dengan `antrean tidak-hadir` dan sebaliknya.")
    p.add_argument("kode", nargs="+", help="satu kode booking atau lebih")
    p.set_defaults(handler=run_arrived)

    p = subparsers.add_parser(
        "tidak-hadir", help="tandai pemohon tidak datang",
        description="Menandai booking tidak hadir (setelah slotnya dimulai). Dengan --sisa: "
        "semua booking tanggal itu yang belum ditandai, setelah jam layanan selesai.")
    p.add_argument("kode", nargs="*", help="satu kode booking atau lebih")
    p.add_argument("--sisa", metavar="TANGGAL",
                   help="tandai semua yang belum ditandai pada tanggal ini")
    p.set_defaults(handler=run_no_show)

    p = subparsers.add_parser(
        "permintaan", help="percakapan yang minta dilayani petugas",
        description="Percakapan yang ditandai untuk petugas: pemohon minta bicara dengan "
        "petugas, atau asisten berulang kali tidak paham.")
    p.add_argument("--semua", action="store_true", help="sertakan yang sudah selesai")
    p.set_defaults(handler=run_handoffs)

    p = subparsers.add_parser("selesai", help="tandai permintaan petugas sudah ditangani",
                              description="Menutup permintaan (lihat ID pada `antrean "
                              "permintaan`) setelah pemohon dihubungi.")
    p.add_argument("id", type=int, nargs="+", help="ID permintaan")
    p.add_argument("--petugas", help="nama petugas (default: nama pengguna sistem)")
    p.set_defaults(handler=run_resolve)
