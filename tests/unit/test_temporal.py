"""The Indonesian temporal extractor, table-driven.

Today is Tuesday 1 December 2026 unless a case says otherwise. Each expression of the main
table is checked alone, inside a sentence, and inside a noisy message (emoji, shouting,
NIK-like digits, phone numbers, "2 orang"), always with its exact span.
"""
from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest

from antrean.nlu.temporal import TemporalMatch, extract_temporal

TODAY = dt.date(2026, 12, 1)  # a Tuesday

# (expression, entity, value) read against TODAY.
EXPRESSIONS: list[tuple[str, str, str]] = [
    # Relative days.
    ("hari ini", "date", "2026-12-01"),
    ("hr ini", "date", "2026-12-01"),
    ("hari ni", "date", "2026-12-01"),
    ("besok", "date", "2026-12-02"),
    ("bsk", "date", "2026-12-02"),
    ("besuk", "date", "2026-12-02"),
    ("besokk", "date", "2026-12-02"),
    ("esok", "date", "2026-12-02"),
    ("lusa", "date", "2026-12-03"),
    ("lusaa", "date", "2026-12-03"),
    ("besok lusa", "date", "2026-12-03"),
    ("bsk lusa", "date", "2026-12-03"),
    ("3 hari lagi", "date", "2026-12-04"),
    ("tiga hari lagi", "date", "2026-12-04"),
    ("5 hr lg", "date", "2026-12-06"),
    ("sepuluh hari lagi", "date", "2026-12-11"),
    ("sehari lagi", "date", "2026-12-02"),
    ("dua puluh hari lagi", "date", "2026-12-21"),
    ("seminggu lagi", "date", "2026-12-08"),
    ("sepekan lagi", "date", "2026-12-08"),
    ("2 minggu lagi", "date", "2026-12-15"),
    ("dua minggu lagi", "date", "2026-12-15"),
    # "minggu depan" alone: Monday of the next calendar week.
    ("minggu depan", "date", "2026-12-07"),
    ("pekan depan", "date", "2026-12-07"),
    ("mgg dpn", "date", "2026-12-07"),
    # A weekday alone: the next one strictly after today.
    ("senin", "date", "2026-12-07"),
    ("snin", "date", "2026-12-07"),
    # Regional and English spellings (SPEC: "senen", "rebo", "kemis", "saptu" …)
    ("senen", "date", "2026-12-07"),
    ("hari senen", "date", "2026-12-07"),
    ("kemis", "date", "2026-12-03"),
    ("friday", "date", "2026-12-04"),
    ("tomorrow", "date", "2026-12-02"),
    ("sesuk", "date", "2026-12-02"),
    ("senin ngajeng", "date", "2026-12-07"),
    ("selasa", "date", "2026-12-08"),
    ("rabu", "date", "2026-12-02"),
    ("rebo", "date", "2026-12-02"),
    ("kamis", "date", "2026-12-03"),
    ("jumat", "date", "2026-12-04"),
    ("jum'at", "date", "2026-12-04"),
    ("jum’at", "date", "2026-12-04"),
    ("jumaat", "date", "2026-12-04"),
    ("sabtu", "date", "2026-12-05"),
    ("minggu", "date", "2026-12-06"),
    ("hari minggu", "date", "2026-12-06"),
    ("ahad", "date", "2026-12-06"),
    ("besok rabu", "date", "2026-12-02"),
    ("senin besok", "date", "2026-12-07"),
    # "depan" / "minggu depan" / "pekan depan": that day of the next calendar week.
    ("senin depan", "date", "2026-12-07"),
    ("selasa depan", "date", "2026-12-08"),
    ("rabu depan", "date", "2026-12-09"),
    ("rabu dpn", "date", "2026-12-09"),
    ("kamis depan", "date", "2026-12-10"),
    ("kamis minggu depan", "date", "2026-12-10"),
    ("jumat depan", "date", "2026-12-11"),
    ("jumat pekan depan", "date", "2026-12-11"),
    ("selasa minggu dpn", "date", "2026-12-08"),
    ("sabtu depan", "date", "2026-12-12"),
    ("hari minggu depan", "date", "2026-12-13"),
    # "ini": this calendar week, or the coming one once it has passed.
    ("selasa ini", "date", "2026-12-01"),
    ("rabu minggu ini", "date", "2026-12-02"),
    ("kamis ini", "date", "2026-12-03"),
    ("jum'at ini", "date", "2026-12-04"),
    ("senin ini", "date", "2026-12-07"),
    # Day and month: the next such date not in the past.
    ("14 desember", "date", "2026-12-14"),
    ("14 des", "date", "2026-12-14"),
    ("tgl 14 des", "date", "2026-12-14"),
    ("tgl14 des", "date", "2026-12-14"),
    ("tanggal 14 desember", "date", "2026-12-14"),
    ("14 des 2026", "date", "2026-12-14"),
    ("14 desember 2026", "date", "2026-12-14"),
    ("14-des-26", "date", "2026-12-14"),
    ("14 des '26", "date", "2026-12-14"),
    ("1 des", "date", "2026-12-01"),
    ("25 dec", "date", "2026-12-25"),
    ("30 nov", "date", "2027-11-30"),
    ("3 jan", "date", "2027-01-03"),
    ("3 januari 2027", "date", "2027-01-03"),
    ("5 feb", "date", "2027-02-05"),
    ("3 pebruari 2027", "date", "2027-02-03"),
    ("10 peb", "date", "2027-02-10"),
    ("17 maret", "date", "2027-03-17"),
    ("2 mrt", "date", "2027-03-02"),
    ("21 april", "date", "2027-04-21"),
    ("1 mei", "date", "2027-05-01"),
    ("1 juni", "date", "2027-06-01"),
    ("17 agustus", "date", "2027-08-17"),
    ("5 agt", "date", "2027-08-05"),
    ("9 sept", "date", "2027-09-09"),
    ("28 okt", "date", "2027-10-28"),
    ("10 nopember", "date", "2027-11-10"),
    ("dua puluh lima desember", "date", "2026-12-25"),
    ("tiga januari", "date", "2027-01-03"),
    ("29 feb", "date", "2028-02-29"),
    ("Senin, 7 Desember 2026", "date", "2026-12-07"),
    ("rabu tgl 9", "date", "2026-12-09"),
    # Numeric dates.
    ("7/12", "date", "2026-12-07"),
    ("07/12/2026", "date", "2026-12-07"),
    ("7/12/26", "date", "2026-12-07"),
    ("07-12-2026", "date", "2026-12-07"),
    ("07.12.2026", "date", "2026-12-07"),
    ("2026-12-07", "date", "2026-12-07"),
    ("tgl 7-12", "date", "2026-12-07"),
    ("tgl 7.12", "date", "2026-12-07"),
    ("senin, 14/12", "date", "2026-12-14"),
    ("3/1", "date", "2027-01-03"),
    ("12/03/90", "date", "1990-03-12"),
    # "tgl N": the next day N from tomorrow on.
    ("tgl 14", "date", "2026-12-14"),
    ("tgl. 14", "date", "2026-12-14"),
    ("tgl14", "date", "2026-12-14"),
    ("tanggal 31", "date", "2026-12-31"),
    ("tgl 1", "date", "2027-01-01"),
    ("tgl 2", "date", "2026-12-02"),
    ("tanggal dua puluh lima", "date", "2026-12-25"),
    ("tanggal tujuh belas", "date", "2026-12-17"),
    ("tgl 7 bulan depan", "date", "2027-01-07"),
    ("tgl 20 bulan ini", "date", "2026-12-20"),
    # Clock times; hours without a day part read inside office hours.
    ("jam 9", "time", "09:00"),
    ("jm 9", "time", "09:00"),
    ("jam9", "time", "09:00"),
    ("jam 09.00", "time", "09:00"),
    ("jam 8", "time", "08:00"),
    ("jam 12", "time", "12:00"),
    ("jam 1", "time", "13:00"),
    ("jam 2", "time", "14:00"),
    ("jam 3", "time", "15:00"),
    ("jam 4", "time", "16:00"),
    ("jam 7", "time", "07:00"),
    ("jam 13", "time", "13:00"),
    ("jam 1 siang", "time", "13:00"),
    ("jam 3 sore", "time", "15:00"),
    ("jam 7 malam", "time", "19:00"),
    ("jam 9 pagi", "time", "09:00"),
    ("jam 12 siang", "time", "12:00"),
    ("jam 12 malam", "time", "00:00"),
    ("jam 5 pagi", "time", "05:00"),
    ("jam 10 malam", "time", "22:00"),
    ("jam 11 siang", "time", "11:00"),
    ("pukul 10.30", "time", "10:30"),
    ("pkl 10:30", "time", "10:30"),
    ("pk 08.00", "time", "08:00"),
    ("pukul 14.00 WIB", "time", "14:00"),
    ("09:15", "time", "09:15"),
    ("14.30", "time", "14:30"),
    ("10.00 wib", "time", "10:00"),
    ("jam 2.30", "time", "14:30"),
    ("9 pagi", "time", "09:00"),
    ("2 siang", "time", "14:00"),
    ("10 WIB", "time", "10:00"),
    ("setengah 10", "time", "09:30"),
    ("stengah 9", "time", "08:30"),
    ("setengah sebelas", "time", "10:30"),
    ("setengah 2", "time", "13:30"),
    ("setengah 1", "time", "12:30"),
    ("jam setengah 2 siang", "time", "13:30"),
    ("jam setengah sepuluh", "time", "09:30"),
    ("jam 8 lewat 15", "time", "08:15"),
    ("jam 8 lwt 15", "time", "08:15"),
    ("jam 8 lebih 15 menit", "time", "08:15"),
    ("jam 10 lewat seperempat", "time", "10:15"),
    ("jam 11 kurang seperempat", "time", "10:45"),
    ("jam 9 kurang 10", "time", "08:50"),
    ("jam 9 krg 5 menit", "time", "08:55"),
    ("jam 1 kurang seperempat", "time", "12:45"),
    ("jam delapan lewat lima belas", "time", "08:15"),
    ("jam sembilan", "time", "09:00"),
    ("jam dua siang", "time", "14:00"),
    ("jam tiga sore", "time", "15:00"),
    ("jam sepuluh", "time", "10:00"),
    ("jam 9an", "time", "09:00"),
    ("jam 10-an", "time", "10:00"),
    ("jam 9 teng", "time", "09:00"),
]

SENTENCES = [
    "halo kak, sy mau antri {} ya",
    "Permisi min!! bisa booking {}?? utk 2 orang",
    "mau daftar paspor baru {}, makasih",
    "kalau {} masih ada kuota gak?",
    "oke kak saya pilih {} aja",
]

NOISY = [
    "{} 🙏🙏",
    "min,,, {}!!! 2 org ya",
    "NIK:3171011203900001 / {} / hp 0812-9900-4406",
    "BISA {} GAK KAK",  # shouted: the expression is upper-cased too
    "sy mw dftr {} gmn caranya😅 kode AB12CD34",
]


def found(text: str, today: dt.date = TODAY) -> list[tuple[str, str, str]]:
    return [(m.entity, m.text, m.value) for m in extract_temporal(text, today)]


def _ids(rows: list[tuple[str, str, str]]) -> list[str]:
    return [row[0] for row in rows]


@pytest.mark.parametrize("expression, entity, value", EXPRESSIONS, ids=_ids(EXPRESSIONS))
def test_expression_alone(expression: str, entity: str, value: str) -> None:
    assert found(expression) == [(entity, expression, value)]


@pytest.mark.parametrize(
    "template, expression, entity, value",
    [(SENTENCES[i % len(SENTENCES)], *row) for i, row in enumerate(EXPRESSIONS)],
    ids=_ids(EXPRESSIONS),
)
def test_expression_in_sentence(template: str, expression: str, entity: str, value: str) -> None:
    assert found(template.format(expression)) == [(entity, expression, value)]


@pytest.mark.parametrize(
    "template, expression, entity, value",
    [(NOISY[i % len(NOISY)], *row) for i, row in enumerate(EXPRESSIONS)],
    ids=_ids(EXPRESSIONS),
)
def test_expression_with_noise(template: str, expression: str, entity: str, value: str) -> None:
    if template.isupper():
        expression = expression.upper()
    assert found(template.format(expression)) == [(entity, expression, value)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("senin depan jam setengah 10",
         [("date", "senin depan", "2026-12-07"), ("time", "jam setengah 10", "09:30")]),
        ("besok pagi", [("date", "besok", "2026-12-02")]),
        ("besok pagi jam 9",
         [("date", "besok", "2026-12-02"), ("time", "pagi jam 9", "09:00")]),
        ("Bsk pgi jam 8.30", [("date", "Bsk", "2026-12-02"), ("time", "pgi jam 8.30", "08:30")]),
        ("bsk jm 2 bisa?", [("date", "bsk", "2026-12-02"), ("time", "jm 2", "14:00")]),
        ("besok 9 pagi", [("date", "besok", "2026-12-02"), ("time", "9 pagi", "09:00")]),
        ("mau daftar paspor baru utk 2 orang tgl 14 des jm 9",
         [("date", "tgl 14 des", "2026-12-14"), ("time", "jm 9", "09:00")]),
        ("Senin, 7 Desember 2026 jam 08.30",
         [("date", "Senin, 7 Desember 2026", "2026-12-07"), ("time", "jam 08.30", "08:30")]),
        ("tgl 7 jam 9", [("date", "tgl 7", "2026-12-07"), ("time", "jam 9", "09:00")]),
        ("tgl 9 pagi", [("date", "tgl 9", "2026-12-09")]),
        ("NIK 3171011203900001, bisa kamis depan jam 1 siang?",
         [("date", "kamis depan", "2026-12-10"), ("time", "jam 1 siang", "13:00")]),
        ("hari ini bisa ga? jam 2an",
         [("date", "hari ini", "2026-12-01"), ("time", "jam 2an", "14:00")]),
        ("eh bukan kamis, jumat",
         [("date", "kamis", "2026-12-03"), ("date", "jumat", "2026-12-04")]),
        ("senin atau selasa", [("date", "senin", "2026-12-07"), ("date", "selasa", "2026-12-08")]),
        ("jam 9 atau jam 10", [("time", "jam 9", "09:00"), ("time", "jam 10", "10:00")]),
        ("lusa setengah 11 siang",
         [("date", "lusa", "2026-12-03"), ("time", "setengah 11 siang", "10:30")]),
        ("14/12 pkl 10.30 WIB",
         [("date", "14/12", "2026-12-14"), ("time", "pkl 10.30 WIB", "10:30")]),
        ("kode AB12CD34 tgl 5 jam 10",
         [("date", "tgl 5", "2026-12-05"), ("time", "jam 10", "10:00")]),
        ("buka senin sampai jum'at jam 8?", [("time", "jam 8", "08:00")]),
        ("sabtu minggu depan", [("date", "sabtu minggu depan", "2026-12-12")]),
        # Spans keep the whitespace as typed, however long.
        ("tgl   14\n\njam  9" + " " * 500,
         [("date", "tgl   14", "2026-12-14"), ("time", "jam  9", "09:00")]),
    ],
)
def test_several_expressions_in_one_message(text: str, expected: list) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2 orang", "mau daftar untuk 2 orang", "NIK 3171011203900001", "nik saya 3171014512900002",
        "kode booking AB12CD34", "hp 0812-9900-4406", "biaya Rp350.000", "Rp 1.500.000",
        "32/13", "31/02/2027", "31 feb", "30 februari", "jam 25", "jam 24", "pukul 10.75",
        "tgl 32", "tgl 0", "jam berapa buka?", "nunggu 2 jam 15 menit", "1 jam lagi",
        "15 menit lagi", "setengah jam lagi", "1/2 jam", "buka 24/7?", "senin lalu",
        "minggu lalu", "minggu kemarin", "buka senin-jumat?", "senin s/d jumat",
        "sabtu minggu tutup?", "minggu ini", "bulan depan", "paspor 10 tahun", "umur 60 tahun",
        "48 halaman", "07122026", "antrian no 15", "berat 1.25 kg", "versi 2.10.1", "pagi",
        "sore kak", "desember", "tanggal berapa?", "kemarin", "antri 2 minggu", "",
    ],
)
def test_no_date_or_time(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "today, text, value",
    [
        # Thursday 31 December 2026: across the year end.
        (dt.date(2026, 12, 31), "besok", "2027-01-01"),
        (dt.date(2026, 12, 31), "lusa", "2027-01-02"),
        (dt.date(2026, 12, 31), "3 hari lagi", "2027-01-03"),
        (dt.date(2026, 12, 31), "senin", "2027-01-04"),
        (dt.date(2026, 12, 31), "senin depan", "2027-01-04"),
        (dt.date(2026, 12, 31), "jumat", "2027-01-01"),
        (dt.date(2026, 12, 31), "jumat depan", "2027-01-08"),
        (dt.date(2026, 12, 31), "minggu depan", "2027-01-04"),
        (dt.date(2026, 12, 31), "tgl 1", "2027-01-01"),
        (dt.date(2026, 12, 31), "tgl 31", "2027-01-31"),
        (dt.date(2026, 12, 31), "5 jan", "2027-01-05"),
        (dt.date(2026, 12, 31), "31 des", "2026-12-31"),
        (dt.date(2026, 12, 31), "30 des", "2027-12-30"),
        (dt.date(2026, 12, 31), "tgl 5 bulan depan", "2027-01-05"),
        # Sunday 31 January 2027: short February.
        (dt.date(2027, 1, 31), "tgl 28", "2027-02-28"),
        (dt.date(2027, 1, 31), "tgl 29", "2027-03-29"),
        (dt.date(2027, 1, 31), "tgl 30", "2027-03-30"),
        (dt.date(2027, 1, 31), "besok", "2027-02-01"),
        (dt.date(2027, 1, 31), "senin depan", "2027-02-01"),
        (dt.date(2027, 1, 31), "minggu", "2027-02-07"),
        (dt.date(2027, 1, 31), "hari minggu ini", "2027-01-31"),
        # Monday 28 February 2028: a leap year.
        (dt.date(2028, 2, 28), "besok", "2028-02-29"),
        (dt.date(2028, 2, 28), "29 feb", "2028-02-29"),
        (dt.date(2028, 2, 28), "tgl 29", "2028-02-29"),
        (dt.date(2028, 2, 28), "lusa", "2028-03-01"),
        # Monday 30 November 2026: a month end.
        (dt.date(2026, 11, 30), "tgl 31", "2026-12-31"),
        (dt.date(2026, 11, 30), "senin ini", "2026-11-30"),
        (dt.date(2026, 11, 30), "senin", "2026-12-07"),
        (dt.date(2026, 11, 30), "1 des", "2026-12-01"),
    ],
)
def test_dates_around_month_and_year_ends(today: dt.date, text: str, value: str) -> None:
    assert found(text, today) == [("date", text, value)]


def test_month_without_the_day_is_no_date() -> None:
    assert found("tgl 30 bulan depan", dt.date(2027, 1, 31)) == []  # no 30 February


def test_matches_are_sorted_non_overlapping_spans_of_the_original_text() -> None:
    messages = [template.format(row[0]) for template in SENTENCES + NOISY for row in EXPRESSIONS]
    messages.append("besok jam 9, lusa jam 10, tgl 14 des setengah 2 siang, senin depan 14.30")
    for text in messages:
        matches = extract_temporal(text, TODAY)
        assert all(isinstance(m, TemporalMatch) for m in matches)
        assert all(m.text == text[m.start:m.end] == m.text.strip() for m in matches), text
        assert all(a.end <= b.start for a, b in pairwise(matches)), text
