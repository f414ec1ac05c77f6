"""``daftar``, ``cari``, ``hadir``, ``tidak-hadir``, ``permintaan``, ``selesai``, on both
backends."""
from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import select

from antrean.clock import OFFICE_TZ
from antrean.model import Attendance
from antrean.store.tables import bookings
from tests.conftest import person
from tests.staff.conftest import book

D, T = dt.date, dt.time
ON_MONDAY = dt.datetime(2026, 12, 7, 9, 40, tzinfo=OFFICE_TZ)
AFTER_CLOSING = dt.datetime(2026, 12, 7, 16, 5, tzinfo=OFFICE_TZ)
ANI = person("Ani Lestari", D(1992, 5, 4), True, 2)


@pytest.fixture
def monday(service):
    """Three bookings on Monday 7 December (one of two people, one cancelled)."""
    group = book(service, "6281200000001", time=T(9), people=[person("Budi Santoso"), ANI])
    single = book(service, "6281200000002", time=T(8),
                  people=[person("Citra Dewi", D(1985, 1, 2), True, 3)])
    late = book(service, "6281200000003", time=T(14, 30),
                people=[person("Dodi", D(1970, 7, 8), serial=4)])
    cancelled = book(service, "6281200000004", time=T(10),
                     people=[person("Eko", D(1999, 9, 9), serial=5)])
    service.cancel(cancelled.code)
    return group, single, late, cancelled


def attendance(service, code):
    with service.store.transaction() as tx:
        query = select(bookings.c.attendance).where(bookings.c.code == code)
        return tx.conn.execute(query).scalar()


def test_list_shows_names_masked_nik_code_time_status(run, monday):
    group, single, _late, cancelled = monday
    result = run("daftar", "senin depan")
    assert result.code == 0
    out = result.out
    assert out.startswith("Booking Senin, 7 Desember 2026\n")
    assert out.index("Citra Dewi") < out.index("Budi Santoso") < out.index("Ani Lestari")
    assert f"{group.code[:4]}-{group.code[4:]}" in out
    assert "************0002" in out  # Ani's NIK, masked
    for applicant in group.applicants + single.applicants:
        assert applicant.nik not in out
    assert "6281200000001" not in out and "Eko" not in out  # no numbers; cancelled hidden
    assert "3 booking, 4 orang: 0 hadir, 0 tidak hadir, 3 belum ditandai." in out
    everything = run("daftar", "2026-12-07", "--semua", "--telepon").out
    assert "Eko" in everything and "batal" in everything and "6281200000004" in everything
    assert "; 1 batal." in everything


def test_list_to_csv_one_row_per_applicant(run, monday, tmp_path):
    target = tmp_path / "senin.csv"
    result = run("daftar", "2026-12-07", "--csv", str(target))
    assert result.code == 0 and "3 booking (4 baris) ditulis" in result.out
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["nama"] for r in rows] == ["Citra Dewi", "Budi Santoso", "Ani Lestari", "Dodi"]
    assert rows[2]["urutan"] == "2" and rows[2]["kode"] == rows[1]["kode"]
    assert rows[1]["nik"].endswith("0001") and rows[1]["nik"].startswith("*" * 12)
    assert rows[1]["telepon"] == "*********0001" and rows[1]["jam"] == "09:00"
    assert {r["status"] for r in rows} == {"terjadwal"}


def test_list_of_an_empty_day(run):
    assert "Tidak ada booking." in run("daftar", "besok").out


def test_find_by_code_in_any_form(run, monday):
    group = monday[0]
    result = run("cari", f"{group.code[:4].lower()} {group.code[4:].lower()}")
    assert result.code == 0
    assert "Senin, 7 Desember 2026, pukul 09.00" in result.out
    assert "Pemohon 2 : Ani Lestari — NIK ************0002" in result.out
    assert "6281200000001" not in result.out and "*********0001" in result.out
    wrong_check = group.code[:-1] + ("2" if group.code[-1] != "2" else "3")
    assert run("cari", wrong_check).code == 1
    assert "bukan kode booking yang sah" in run("cari", wrong_check).err


def test_find_unknown_code(run):
    from antrean.codes import new_code

    result = run("cari", new_code())
    assert result.code == 1 and "tidak ditemukan" in result.err


def test_mark_arrived_and_no_show_then_correct(run, service, monday):
    group, single, late, cancelled = monday
    early = run("hadir", group.code)
    assert early.code == 1 and "belum hari ini" in early.out

    result = run("hadir", group.code, single.code, now=ON_MONDAY)
    assert result.code == 0
    assert "09:00 Budi Santoso, Ani Lestari: hadir." in result.out
    assert attendance(service, group.code) == Attendance.ARRIVED.value

    too_soon = run("tidak-hadir", late.code, now=ON_MONDAY)
    assert too_soon.code == 1 and "belum dimulai" in too_soon.out
    assert run("hadir", cancelled.code, now=ON_MONDAY).out.strip().endswith("sudah dibatalkan.")

    corrected = run("tidak-hadir", single.code, now=ON_MONDAY)
    assert "tidak hadir (sebelumnya: hadir)." in corrected.out
    assert attendance(service, single.code) == Attendance.NO_SHOW.value
    listing = run("daftar", "2026-12-07", now=ON_MONDAY).out
    assert "1 hadir, 1 tidak hadir, 1 belum ditandai" in listing


def test_the_rest_of_the_day_becomes_no_show_after_closing(run, service, monday):
    group, single, late, cancelled = monday
    run("hadir", group.code, now=ON_MONDAY)
    too_early = run("tidak-hadir", "--sisa", "2026-12-07", now=ON_MONDAY)
    assert too_early.code == 1 and "belum selesai" in too_early.err
    result = run("tidak-hadir", "--sisa", "hari-ini", now=AFTER_CLOSING)
    assert result.code == 0 and result.out.startswith("2 booking")
    assert attendance(service, group.code) == Attendance.ARRIVED.value
    assert attendance(service, late.code) == Attendance.NO_SHOW.value
    assert attendance(service, cancelled.code) is None
    assert run("tidak-hadir", now=AFTER_CLOSING).code == 2
    assert run("tidak-hadir", late.code, "--sisa", "hari-ini", now=AFTER_CLOSING).code == 2


def test_one_bad_code_among_several_still_marks_the_others(run, service, monday):
    group = monday[0]
    result = run("hadir", "XXXX-XXXX", group.code, now=ON_MONDAY)
    assert result.code == 1
    assert attendance(service, group.code) == Attendance.ARRIVED.value


def test_hand_off_requests_listed_and_resolved(run, service):
    first = service.flag_for_human("6281200000001", "request_human", "nik 3171011203900003 ditolak")
    service.flag_for_human("6281200000002", "fallback", "???")
    result = run("permintaan")
    assert result.code == 0
    assert "6281200000001" in result.out  # staff call this number back
    assert "minta petugas" in result.out and "bot tidak paham" in result.out
    assert "3171011203900003" not in result.out and "************0003" in result.out

    done = run("selesai", str(first.id), "--petugas", "rina")
    assert done.code == 0 and "ditandai selesai oleh rina" in done.out
    assert "6281200000001" not in run("permintaan").out
    assert "selesai (rina)" in run("permintaan", "--semua").out
    assert run("selesai", str(first.id)).code == 1
    assert run("selesai", "9999").code == 1


def test_no_hand_off_requests(run):
    assert "Tidak ada percakapan" in run("permintaan").out
