"""actions.reading and actions.reading_replies: what a message says for a booking, by the
question asked (pure functions; the words are everyday Jakarta chat)."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean.codes import new_code

from actions.reading import (
    Message,
    applicant_count,
    birth_date,
    booking_code,
    names_a_week_only,
    person_blocks,
    booking_dates,
    booking_times,
    indifferent,
    nik,
    passport_type,
    service_type,
)
from actions.reading_replies import (
    HAS_DIGITS,
    HAS_EMOJI,
    tidy_name,
    NOT_A_NAME,
    answered_name,
    day_part,
    introduced_name,
    says_no,
    says_yes,
)

TODAY = dt.date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize("text, asked, expected", [
    ("sy aja", True, 1), ("sndiri", True, 1), ("gw doang", True, 1), ("just me", True, 1),
    ("berdua sama istri", True, 2), ("saya sama suami dan 2 anak", True, 4), ("3", True, 3),
    ("tiga aja", True, 3), ("bwt sndiri", False, 1), ("aku sama anakku", False, 2),
    ("untuk saya dan suami", False, 2), ("2 orang", False, 2),
    # outside the count question a bare number is no count ("jam 9", "tgl 3")
    ("3", False, None), ("mau daftar", False, None),
])
def test_how_many_people(text, asked, expected):
    assert applicant_count(Message(text), asked) == expected


@pytest.mark.parametrize("text, expected", [
    ("senen", "2026-12-07"), ("hari senen", "2026-12-07"), ("tomorrow", "2026-12-01"),
    ("jumat", "2026-12-04"), ("eh bukan kamis, jumat", "2026-12-04"), ("sesuk", "2026-12-01"),
    ("senin ngajeng", "2026-12-07"),
    ("next monday", "2026-12-07"), ("kamis 17 aja deh", "2026-12-17"),
    ("ke senin 14, jam 9 bisa?", "2026-12-14"),
    # "27 november" on 30 November has just passed: this year's, to be told so
    ("tgl 27 november", "2026-11-27"), ("daftar antrian tgl 27-11-2026", "2026-11-27"),
    ("5 januari", "2027-01-05"),
])
def test_booking_dates(text, expected):
    assert booking_dates(Message(text), TODAY)[-1].isoformat() == expected


def test_a_date_of_birth_is_never_a_booking_date():
    text = ("daftar paspor baru biasa tgl 3 desember jam 10 nama Siti Aminah lahir "
            "14 Februari 1982 NIK 3171015402820001")
    message = Message(text)
    assert [d.isoformat() for d in booking_dates(message, TODAY)] == ["2026-12-03"]
    assert birth_date(message, TODAY, asked=False) == dt.date(1982, 2, 14)
    assert nik(message) == "3171015402820001"
    assert introduced_name(message) == "Siti Aminah"


@pytest.mark.parametrize("text, expected", [
    ("12-03-1990", dt.date(1990, 3, 12)), ("12031990", dt.date(1990, 3, 12)),
    ("12/3/90", dt.date(1990, 3, 12)), ("12 Mar 1990", dt.date(1990, 3, 12)),
    ("2 January 1991", dt.date(1991, 1, 2)), ("lahir 7 agustus 1988", dt.date(1988, 8, 7)),
])
def test_dates_of_birth(text, expected):
    assert birth_date(Message(text), TODAY, asked=True) == expected


@pytest.mark.parametrize("text, expected", [
    ("jam 9", "09:00"), ("9 am", "09:00"), ("2pm", "14:00"), ("jamnya 10 aja", "10:00"),
    ("setengah 11", "10:30"), ("jam 2 siang", "14:00"), ("can I come tomorrow at 10?", "10:00"),
    ("tabuh 9", "09:00"),
])
def test_clock_times(text, expected):
    assert booking_times(Message(text), TODAY)[-1].strftime("%H:%M") == expected


@pytest.mark.parametrize("text, part", [
    ("pagi", "pagi"), ("siang aja", "siang"), ("abis dzuhur", "setelah zuhur"),
    ("ba'da zuhur", "setelah zuhur"), ("sorean", "sore"), ("jam 9", None),
])
def test_parts_of_the_day(text, part):
    found = day_part(Message(text))
    assert (found[0] if found else None) == part


@pytest.mark.parametrize("text, asked, expected", [
    ("Paspor Baru", True, "baru"), ("perpanjangan", True, "penggantian"),
    ("paspor ilang kak", True, "hilang"), ("bru", True, "baru"), ("rusk", True, "rusak"),
    # a weak word is a service only when the message is about the passport
    ("abis dzuhur", False, None), ("saya baru tahu", False, None),
    ("paspor sy halamannya penuh", False, "penggantian"), ("visa", True, None),
])
def test_services(text, asked, expected):
    assert service_type(Message(text), asked) == expected


@pytest.mark.parametrize("text, expected", [
    ("non elektronik", "biasa"), ("e-paspor", "elektronik"), ("biasaa", "biasa"),
    ("yg biasa aja", "biasa"), ("elektonik", "elektronik"),
])
def test_passport_types(text, expected):
    assert passport_type(Message(text), asked=True) == expected


def test_terserah_leaves_the_choice_to_the_office():
    assert indifferent(Message("terserah")) and indifferent(Message("bebas aja"))
    assert not indifferent(Message("biasa"))


@pytest.mark.parametrize("text, expected", [
    ("Budi Santoso", "Budi Santoso"), ("nama saya José Ramos", "José Ramos"),
    ("Budi Santoso, 12-03-1990", "Budi Santoso"), ("Siti Nur'aini", "Siti Nur'aini"),
    ("SITI AMINAH", "SITI AMINAH"), ("saya Andi kak", "Andi"), ("I Wayan Sudarta", "I Wayan Sudarta"),
    ("Budi 😀 Santoso", HAS_EMOJI), ("3171011203900003", NOT_A_NAME), ("ya", NOT_A_NAME),
    ("Paspor Baru", NOT_A_NAME), ("eh salah, tanggalnya jumat aja", NOT_A_NAME),
])
def test_answers_to_the_name_question(text, expected):
    assert answered_name(Message(text)) == expected


def test_a_name_is_kept_as_typed_or_refused_with_a_reason():
    assert tidy_name("  Ni  Luh Putu   Ayu ") == "Ni Luh Putu Ayu"
    assert tidy_name("Bud1 Santoso") == HAS_DIGITS


def test_a_name_outside_the_name_question_only_when_introduced():
    assert introduced_name(Message("mo antri bsk jm 10")) is None
    assert introduced_name(Message("saya Andi kak")) is None
    assert introduced_name(Message("daftar atas nama Rina Wati ya")) == "Rina Wati"
    assert introduced_name(Message("Can I book a passport appointment?")) is None


@pytest.mark.parametrize("text, yes, no", [
    ("ya benar", True, False), ("ya, benar", True, False), ("iya pindahin", True, False),
    ("ok lanjut", True, False), ("yaudah", True, False), ("sudah benar kak", True, False),
    ("ya tapi jamnya 10", False, False), ("tidak", False, True), ("ada yang salah", False, True),
])
def test_yes_and_no_at_the_summary(text, yes, no):
    assert (says_yes(Message(text)), says_no(Message(text))) == (yes, no)


def test_a_nik_typed_in_groups():
    assert nik(Message("NIK saya 3171 0145 0595 0007")) == "3171014505950007"
    assert nik(Message("0812-9900-4406")) is None


@pytest.mark.parametrize("text, expected", [
    ("eh tanggalnya jumat aja, kamis ada rapat", "2026-12-04"),
    ("kamis gak bisa, jumat aja", "2026-12-04"), ("jumt dpn", "2026-12-11"),
    ("kmis", "2026-12-03"),
])
def test_the_day_meant_among_several_or_with_a_slip(text, expected):
    assert [d.isoformat() for d in booking_dates(Message(text), TODAY)] == [expected]


def test_a_week_alone_is_no_date():
    assert names_a_week_only(Message("minggu depan aja"))
    assert not names_a_week_only(Message("senin minggu depan"))


def test_no_date_of_birth_without_its_year():
    assert birth_date(Message("jumat"), TODAY, asked=True) is None


def test_a_booking_code_typed_with_a_space_or_in_lower_case():
    code = new_code()
    assert booking_code(Message(f"kodenya {code[:4].lower()} {code[4:].lower()}")) == code
    assert booking_code(Message("ambilkan antrian buat saya")) is None


def test_several_people_in_one_message_are_cut_after_each_nik():
    text = ("1. Nama: Yuni Astuti\nTgl lahir: 03-04-1993\nNIK: 3171024304930714\n"
            "2. Nama: Bagas Prakoso\nTgl lahir: 11-12-1991\nNIK: 3171021112910715")
    blocks = person_blocks(text)
    assert [introduced_name(Message(b)) for b in blocks] == ["Yuni Astuti", "Bagas Prakoso"]
    assert [birth_date(Message(b), TODAY, asked=False) for b in blocks] == [
        dt.date(1993, 4, 3), dt.date(1991, 12, 11)]
