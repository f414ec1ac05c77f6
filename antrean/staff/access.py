"""Bookings touched from elsewhere: releasing a NIK, and the notices owed to booking numbers.

Commands: ``lepas-nik`` cancels the active booking holding a NIK, for an applicant whose NIK
someone else booked (NIK squatting), after staff checked the applicant's e-KTP; the reason
is recorded and the NIK shown masked. ``pemberitahuan`` lists what was done to bookings from
another WhatsApp number (with the code and the first applicant's date of birth) or by staff,
which the booking's own number is to be told; ``diberitahu`` marks a notice done once staff
told the number. See ``antrean.access``.
"""
from __future__ import annotations

import argparse

from antrean import codes
from antrean.access import CANCELLED, RELEASED, RESCHEDULED, BookingAccess
from antrean.masking import mask_phone
from antrean.model import OwnerNotice
from antrean.nik import mask_nik, normalise_nik
from antrean.staff.common import (
    StaffContext,
    StaffError,
    long_day_label,
    render_table,
    staff_name,
    with_context,
)

EVENT_LABELS = {CANCELLED: "dibatalkan dari nomor lain", RESCHEDULED: "dipindah dari nomor lain",
                RELEASED: "dibatalkan petugas (lepas NIK)"}


@with_context
def run_release(ctx: StaffContext, args: argparse.Namespace) -> int:
    nik = normalise_nik(args.nik)
    if len(nik) != 16 or not nik.isdigit():
        raise StaffError("NIK harus 16 angka (spasi dan titik boleh).", 2)
    reason = " ".join(args.alasan.split())
    if not reason:
        raise StaffError("Tulis alasannya dengan --alasan.", 2)
    released = BookingAccess(ctx.service).release_nik(nik, reason, staff_name(args))
    if released is None:
        print(f"Tidak ada booking aktif yang memegang NIK {mask_nik(nik)}.")
        return 1
    booking, release = released
    print(f"Booking {codes.display_code(booking.code)} ({long_day_label(booking.slot.date)}, "
          f"pukul {booking.slot.time:%H.%M}, {booking.size} orang) yang memegang NIK "
          f"{release.nik_masked} dibatalkan oleh {release.released_by}.")
    print(f"Alasan    : {release.reason}")
    if booking.size > 1:
        print(f"Perhatian : booking ini untuk {booking.size} orang; semuanya ikut batal.")
    print(f"Nomor WhatsApp booking itu ({mask_phone(booking.phone)}) dicatat untuk diberi tahu: "
          "antrean pemberitahuan.")
    print("NIK itu kini bisa dipakai mendaftar lagi.")
    return 0


def _notice_row(notice: OwnerNotice, ctx: StaffContext) -> list[object]:
    created = notice.created_at.astimezone(ctx.service.tz)
    state = "belum" if notice.sent_at is None else f"sudah ({notice.sent_by or '-'})"
    return [notice.id, f"{created:%d-%m %H:%M}", codes.display_code(notice.booking_code),
            notice.phone, EVENT_LABELS.get(notice.event, notice.event),
            f"{long_day_label(notice.slot.date)} {notice.slot.time:%H.%M}",
            mask_phone(notice.by_phone) if notice.by_phone else "petugas", state]


@with_context
def run_notices(ctx: StaffContext, args: argparse.Namespace) -> int:
    notices = BookingAccess(ctx.service).owner_notices(include_sent=args.semua)
    if not notices:
        print("Tidak ada pemberitahuan yang menunggu.")
        return 0
    print(render_table(["ID", "Waktu", "Kode", "Nomor WhatsApp", "Kejadian", "Jadwal",
                        "Oleh", "Diberi tahu"],
                       [_notice_row(n, ctx) for n in notices], right=(0,)))
    print("\nSetelah nomor itu diberi tahu: antrean diberitahu ID")
    return 0


@with_context
def run_told(ctx: StaffContext, args: argparse.Namespace) -> int:
    access = BookingAccess(ctx.service)
    staff = staff_name(args)
    failures = 0
    for notice_id in args.id:
        if access.mark_notice_sent(notice_id, staff):
            print(f"Pemberitahuan {notice_id} ditandai sudah disampaikan oleh {staff}.")
        else:
            print(f"Pemberitahuan {notice_id} tidak ada atau sudah disampaikan.")
            failures += 1
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lepas-nik", help="batalkan booking yang memegang sebuah NIK (setelah cek e-KTP)",
        description="Membatalkan booking aktif yang memegang NIK ini, untuk pemohon yang "
        "NIK-nya sudah dipakai orang lain. Lakukan hanya setelah memeriksa e-KTP asli "
        "pemohon. Alasan dicatat; nomor WhatsApp booking itu dicatat untuk diberi tahu.")
    p.add_argument("nik", help="NIK 16 angka (spasi dan titik boleh)")
    p.add_argument("--alasan", required=True,
                   help="alasan, mis. \"pemilik NIK datang dengan e-KTP\" (wajib)")
    p.add_argument("--petugas", help="nama petugas (default: nama pengguna sistem)")
    p.set_defaults(handler=run_release)

    p = subparsers.add_parser(
        "pemberitahuan", help="booking yang diubah dari nomor lain atau oleh petugas",
        description="Booking yang dibatalkan atau dipindah dari nomor WhatsApp lain (dengan "
        "kode dan tanggal lahir pemohon pertama) atau dibatalkan petugas: nomor WhatsApp "
        "pemilik booking perlu diberi tahu.")
    p.add_argument("--semua", action="store_true", help="sertakan yang sudah disampaikan")
    p.set_defaults(handler=run_notices)

    p = subparsers.add_parser(
        "diberitahu", help="tandai pemberitahuan sudah disampaikan",
        description="Menandai pemberitahuan (lihat ID pada `antrean pemberitahuan`) sudah "
        "disampaikan kepada nomor WhatsApp pemilik booking.")
    p.add_argument("id", type=int, nargs="+", help="ID pemberitahuan")
    p.add_argument("--petugas", help="nama petugas (default: nama pengguna sistem)")
    p.set_defaults(handler=run_told)
