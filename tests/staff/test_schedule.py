"""``tutup``, ``buka``, ``kapasitas``, ``kalender`` on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean.outcomes import ClosureReason, DayClosed
from antrean.staff.common import StaffError, parse_date, parse_time
from tests.conftest import person
from tests.staff.conftest import MONDAY, book

D, T = dt.date, dt.time
TODAY = D(2026, 12, 1)


def row(output: str, first_cell: str) -> list[str]:
    """The cells of the table line starting with ``first_cell``."""
    return next(line.split() for line in output.splitlines() if line.startswith(first_cell))


def capacities(service, day=MONDAY):
    return {s.slot.time: s.capacity for s in service.availability(day, day)}


def test_close_tells_applicants_the_reason_and_reopen_undoes_it(run, service):
    result = run("tutup", "2026-12-24", "--alasan", "  Cuti bersama   Natal ")
    assert result.code == 0, result.err
    assert "Kamis, 24 Desember 2026 ditutup" in result.out
    refusal = service.check_slot(D(2026, 12, 24), T(9))
    assert isinstance(refusal, DayClosed)
    assert refusal.reason is ClosureReason.STAFF_CLOSURE and refusal.detail == "Cuti bersama Natal"
    assert refusal.alternatives  # the bot offers other days

    calendar = run("kalender")
    assert "24  TUTUP" in calendar.out and "ditutup petugas: Cuti bersama Natal" in calendar.out

    assert run("buka", "24-12-2026").code == 0
    assert service.check_slot(D(2026, 12, 24), T(9)) is None
    again = run("buka", "24-12-2026")
    assert again.code == 1 and "tidak ditutup petugas" in again.err


def test_close_a_date_with_bookings_keeps_them_and_says_how_many(run, service):
    book(service, "6281200000001", people=[person(), person("Ani", D(1992, 5, 4), True, 2)])
    result = run("tutup", "senin depan", "--alasan", "Rapat kerja")
    assert result.code == 0
    assert "Sudah ada 1 booking (2 orang)" in result.out
    assert "antrean daftar 2026-12-07 --telepon" in result.out
    assert run("daftar", "2026-12-07").out.count("Ani") == 1  # the booking stays


def test_close_again_replaces_the_reason(run, service):
    run("tutup", "2026-12-24", "--alasan", "Acara kantor")
    result = run("tutup", "2026-12-24", "--alasan", "Cuti bersama")
    assert "alasan lama: Acara kantor" in result.out
    assert service.check_slot(D(2026, 12, 24)).detail == "Cuti bersama"


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["tutup", "2026-11-30", "--alasan", "x"], 1, "sudah lewat"),
        (["tutup", "2026-12-25", "--alasan", "x"], 1, "libur nasional: Hari Raya Natal"),
        (["tutup", "2026-12-06", "--alasan", "x"], 1, "bukan hari layanan"),
        (["tutup", "2026-12-24", "--alasan", "   "], 2, "wajib diisi"),
        (["tutup", "2026-12-24", "--alasan", "x" * 201], 2, "terlalu panjang"),
        (["tutup", "31-02-2026", "--alasan", "x"], 2, "tidak ada di kalender"),
        (["tutup", "kapan-kapan", "--alasan", "x"], 2, "Tanggal tidak dikenali"),
        (["buka", "2026-12-25"], 1, "tidak dapat dibuka"),
        (["kapasitas", "2026-12-07", "5", "--jam", "09:15"], 2, "bukan awal slot"),
        (["kapasitas", "2026-12-07", "-1"], 2, "tidak boleh negatif"),
        (["kapasitas", "2026-12-06", "5"], 1, "bukan hari layanan"),
        (["kapasitas", "2026-12-07", "5", "--sampai", "2026-12-04"], 2, "sebelum"),
    ],
)
def test_refusals_say_why_and_change_nothing(run, service, argv, code, message):
    result = run(*argv)
    assert result.code == code and message in result.err
    assert service.check_slot(D(2026, 12, 24)) is None
    assert set(capacities(service).values()) == {25}


def test_close_without_reason_is_a_usage_error(run):
    result = run("tutup", "2026-12-24")
    assert result.code == 2 and "argumen wajib belum diisi: --alasan" in result.err


def test_capacity_per_date_then_per_slot(run, service):
    assert run("kapasitas", "2026-12-07", "10").code == 0
    assert run("kapasitas", "2026-12-07", "2", "--jam", "9.00").code == 0
    by_time = capacities(service)
    assert by_time[T(9)] == 2 and by_time[T(10)] == 10

    slots = run("kalender", "2026-12-07").out
    assert row(slots, "09:00") == ["09:00", "2", "0", "2", "slot"]
    assert row(slots, "10:00") == ["10:00", "10", "0", "10", "tanggal"]
    assert row(slots, "jumlah") == ["jumlah", "132", "0", "132"]  # 13 × 10 + 2


def test_capacity_over_a_range_skips_weekends_and_holidays(run, service):
    result = run("kapasitas", "2026-12-24", "7", "--sampai", "2026-12-28")
    assert result.code == 0
    assert [line[:14] for line in result.out.splitlines()] == ["Kam 24-12-2026", "Sen 28-12-2026"]
    assert set(capacities(service, D(2026, 12, 28)).values()) == {7}
    assert set(capacities(service, D(2026, 12, 23)).values()) == {25}


def test_capacity_below_the_places_taken_warns(run, service):
    book(service, "6281200000001", people=[person(), person("Ani", D(1992, 5, 4), True, 2)])
    result = run("kapasitas", "2026-12-07", "1", "--jam", "09:00")
    assert result.code == 0
    assert "slot 09:00 sudah terisi 2, melebihi kapasitas baru 1" in result.out
    assert service.bookable_slots()  # nothing else broke


def test_calendar_shows_free_places_per_day(run, service):
    book(service, "6281200000001", day=D(2026, 12, 2),
         people=[person(), person("Ani", D(1992, 5, 4), True, 2)])
    result = run("kalender", "--minggu", "2")
    assert result.code == 0
    lines = result.out.splitlines()
    assert "Dapat dipesan pemohon: Rab 02-12-2026 s.d. Kam 31-12-2026" in result.out
    week = next(line for line in lines if line.startswith("30-11-2026"))
    assert "30  -" in week  # past
    assert "2  348/350" in week and "3  350/350" in week
    assert len([line for line in lines if line[:2].isdigit()]) == 2
    assert run("kalender", "--minggu", "0").code == 2


def test_calendar_of_one_date_shows_every_slot(run, service):
    book(service, "6281200000001", time=T(8, 30))
    result = run("kalender", "2026-12-07")
    assert result.out.startswith("Senin, 7 Desember 2026\n")
    assert row(result.out, "08:30") == ["08:30", "25", "1", "24"]
    closed = run("kalender", "2026-12-25")
    assert "TUTUP (libur nasional: Hari Raya Natal)" in closed.out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hari-ini", TODAY),
        ("Hari Ini", TODAY),
        ("besok", D(2026, 12, 2)),
        ("lusa", D(2026, 12, 3)),
        ("kemarin", D(2026, 11, 30)),
        ("2026-12-07", MONDAY),
        ("7-12-2026", MONDAY),
        ("07/12/2026", MONDAY),
        ("senin depan", MONDAY),
        ("24 des", D(2026, 12, 24)),
    ],
)
def test_dates_staff_type(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["", "2026-13-01", "entah", "besok atau lusa"])
def test_dates_not_understood(text):
    with pytest.raises(StaffError):
        parse_date(text, TODAY)


def test_times_staff_type():
    assert parse_time("9.30") == T(9, 30) and parse_time("14:00") == T(14)
    with pytest.raises(StaffError):
        parse_time("25:00")
