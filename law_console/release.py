""""Lepas NIK" (supervisor and up): free a NIK someone else booked, after checking identity.

The console's ``antrean lepas-nik`` (``antrean.access.BookingAccess.release_nik``): a person
at the counter whose NIK is held by another booking (NIK squatting) shows their e-KTP; the
supervisor types the NIK, sees which booking holds it, confirms that the e-KTP was checked,
and gives the reason. The booking is cancelled (every person of it), the release recorded
with its reason, the booking's own WhatsApp number owed a notice, and the change audited.
NIKs appear masked everywhere but in the form being filled.
"""
from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from antrean import codes
from antrean.access import BookingAccess
from antrean.masking import mask_phone
from antrean.nik import mask_nik, normalise_nik
from antrean.staff.common import StaffError, long_day_label
from antrean.staff.users import Role
from law_console.auth import Page, page
from law_console.state import NavItem

MAX_REASON_CHARS = 200
RECENT = 20


def _nik(p: Page) -> str:
    nik = normalise_nik(p.field("nik"))
    if len(nik) != 16 or not nik.isdigit():
        raise StaffError("NIK harus 16 angka (spasi dan titik boleh).", 2)
    return nik


def _reason(p: Page) -> str:
    reason = " ".join(p.field("alasan").split())
    if not reason:
        raise StaffError("Tulis alasannya, mis. \u201cpemilik NIK datang dengan e-KTP\u201d.", 2)
    if len(reason) > MAX_REASON_CHARS:
        raise StaffError(f"Alasan terlalu panjang (maks. {MAX_REASON_CHARS} karakter).", 2)
    return reason


def _form(p: Page, status_code: int = 200, **context: object) -> Response:
    releases = BookingAccess(p.service).nik_releases()
    recent = sorted(releases, key=lambda r: r.released_at, reverse=True)[:RECENT]
    tz = p.service.tz
    rows = [(f"{r.released_at.astimezone(tz):%d-%m-%Y %H:%M}", codes.display_code(r.booking_code),
             r.nik_masked, r.reason, r.released_by) for r in recent]
    return p.render("release.html", status_code=status_code, title="Lepas NIK",
                    releases=rows, **context)


@page(Role.SUPERVISOR)
def release_page(p: Page) -> Response:
    return _form(p)


@page(Role.SUPERVISOR)
def check(p: Page) -> Response:
    nik = _nik(p)
    reason = " ".join(p.field("alasan").split())[:MAX_REASON_CHARS]
    with p.service.store.transaction() as tx:
        holder = tx.active_by_nik(nik)
    if holder is None:
        return _form(p, nik=nik, reason=reason,
                     none_found=f"Tidak ada booking aktif yang memegang NIK {mask_nik(nik)}.")
    position = next(i for i, a in enumerate(holder.applicants, start=1) if a.nik == nik)
    return _form(p, nik=nik, reason=reason, holder={
        "code": codes.display_code(holder.code),
        "when": f"{long_day_label(holder.slot.date)}, pukul {holder.slot.time:%H.%M}",
        "size": holder.size,
        "position": position,
        "name": holder.applicants[position - 1].name,
        "phone": mask_phone(holder.phone),
        "nik_masked": mask_nik(nik),
    })


@page(Role.SUPERVISOR)
def release(p: Page) -> Response:
    nik = _nik(p)
    reason = _reason(p)
    if p.field("diperiksa") != "ya":
        raise StaffError("Centang dulu bahwa e-KTP asli pemohon sudah diperiksa.", 2)
    released = BookingAccess(p.service).release_nik(nik, reason, p.user.username)
    if released is None:
        return p.redirect("/lepas-nik", f"Tidak ada booking aktif yang memegang NIK "
                                        f"{mask_nik(nik)} (mungkin sudah dibatalkan).", error=True)
    booking, record = released
    code = codes.display_code(booking.code)
    p.audit("nik.lepas", record.nik_masked,
            f"booking {code} aktif ({booking.slot.date.isoformat()} "
            f"{booking.slot.time:%H:%M}, {booking.size} orang)",
            f"booking {code} dibatalkan; alasan: {record.reason}")
    message = (f"Booking {code} ({long_day_label(booking.slot.date)}, pukul "
               f"{booking.slot.time:%H.%M}, {booking.size} orang) yang memegang NIK "
               f"{record.nik_masked} dibatalkan. NIK itu kini bisa dipakai mendaftar lagi; "
               f"nomor WhatsApp booking itu ({mask_phone(booking.phone)}) dicatat untuk diberi "
               "tahu.")
    return p.redirect("/lepas-nik", message)


nav = [NavItem("Lepas NIK", "/lepas-nik", Role.SUPERVISOR, order=50)]
routes = [
    Route("/lepas-nik", release_page, methods=["GET"]),
    Route("/lepas-nik/periksa", check, methods=["POST"]),
    Route("/lepas-nik", release, methods=["POST"]),
]
