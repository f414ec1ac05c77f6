"""``antrean lepas-nik``, ``pemberitahuan`` and ``diberitahu`` (issue 14, point 9 and the owner
notices of point 1), on SQLite and PostgreSQL."""
from __future__ import annotations

from antrean.access import CANCELLED, BookingAccess
from antrean.codes import display_code
from tests.conftest import person
from tests.staff.conftest import book

SQUATTER, OWNER = "6281299990001", "6281200000001"
NIK = "3171011203900001"  # person(serial=1)'s


def test_lepas_nik_cancels_the_booking_holding_the_nik_and_records_why(run, service):
    squatted = book(service, SQUATTER, people=[person("Orang Lain", serial=1)])
    result = run("lepas-nik", "3171 0112 0390 0001", "--alasan", "pemilik datang, e-KTP cocok",
                 "--petugas", "rina")
    assert result.code == 0, result.err
    assert display_code(squatted.code) in result.out and "************0001" in result.out
    assert NIK not in result.out and SQUATTER not in result.out
    assert service.active_booking(SQUATTER) is None
    [release] = BookingAccess(service).nik_releases()
    assert (release.reason, release.released_by) == ("pemilik datang, e-KTP cocok", "rina")
    # the owner of the NIK books it now, and the squatter's number is owed a notice
    assert book(service, OWNER, people=[person("Budi Santoso", serial=1)]).applicants[0].nik == NIK
    listed = run("pemberitahuan")
    assert listed.code == 0 and SQUATTER in listed.out and "lepas NIK" in listed.out


def test_lepas_nik_without_a_booking_or_with_a_bad_nik_changes_nothing(run, service):
    booking = book(service, SQUATTER)
    result = run("lepas-nik", "3171011203900002", "--alasan", "x")
    assert result.code == 1 and "************0002" in result.out
    assert run("lepas-nik", "12345", "--alasan", "x").code == 2
    assert run("lepas-nik", NIK).code == 2  # the reason is required
    assert service.active_booking(SQUATTER) == booking
    assert BookingAccess(service).nik_releases() == []


def test_notices_are_listed_until_staff_mark_them_told(run, service):
    booking = book(service, OWNER)
    notice = BookingAccess(service).notify_owner(booking, CANCELLED, SQUATTER)
    listed = run("pemberitahuan")
    assert listed.code == 0 and display_code(booking.code) in listed.out
    assert OWNER in listed.out and SQUATTER not in listed.out  # the other number masked
    assert run("diberitahu", str(notice.id), "--petugas", "rina").code == 0
    assert "Tidak ada pemberitahuan" in run("pemberitahuan").out
    assert "rina" in run("pemberitahuan", "--semua").out
    assert run("diberitahu", str(notice.id)).code == 1
