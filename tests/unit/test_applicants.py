"""NIK and date of birth, applicant count, booking codes — table-driven."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean import codes, rules
from antrean.model import Applicant
from antrean.nik import NikCheck, check_nik, mask_nik, normalise_nik
from antrean.outcomes import (
    DuplicateNik,
    InvalidApplicant,
    InvalidNik,
    NikBirthDateMismatch,
    NoApplicants,
    TooManyApplicants,
)
from tests.conftest import person

D = dt.date
TODAY = D(2026, 12, 1)


@pytest.mark.parametrize(
    "nik, born, expected",
    [
        ("3171011203900003", D(1990, 3, 12), NikCheck.OK),  # man, 12-03-90
        ("3171015203900003", D(1990, 3, 12), NikCheck.OK),  # woman: day + 40
        ("3171014103850001", D(1985, 3, 1), NikCheck.OK),  # woman born on the 1st
        ("3171017112990002", D(1999, 12, 31), NikCheck.OK),  # woman born on the 31st
        ("3171010101050004", D(2005, 1, 1), NikCheck.OK),  # born in the 2000s
        ("3171012902000001", D(2000, 2, 29), NikCheck.OK),  # leap day
        ("3171012902010001", None, NikCheck.BIRTH_DATE),  # 29-02-01: no such date
        ("3171013202900001", None, NikCheck.BIRTH_DATE),  # day 32 (and not 40+)
        ("3171017202900001", None, NikCheck.BIRTH_DATE),  # woman, day 72 → 32
        ("3171011513900001", None, NikCheck.BIRTH_DATE),  # month 13
        ("3171010000900001", None, NikCheck.BIRTH_DATE),  # day 0
        ("3171011203900003", D(1990, 3, 13), NikCheck.MISMATCH),
        ("3171011203900003", D(1991, 3, 12), NikCheck.MISMATCH),
        ("3171015203900003", D(1990, 3, 13), NikCheck.MISMATCH),
        ("317101120390000", None, NikCheck.FORMAT),  # 15 digits
        ("31710112039000031", None, NikCheck.FORMAT),  # 17 digits
        ("3171O11203900003", None, NikCheck.FORMAT),  # letter O
        ("", None, NikCheck.FORMAT),
    ],
)
def test_check_nik(nik, born, expected):
    assert check_nik(nik, born) is expected


def test_normalise_and_mask_nik():
    assert normalise_nik("3171 0112-0390.0003") == "3171011203900003"
    assert mask_nik("3171011203900003") == "************0003"


@pytest.mark.parametrize(
    "people, refusal",
    [
        ([], NoApplicants),
        ([person(serial=i) for i in range(1, 6)], None),  # five: the maximum
        ([person(serial=i) for i in range(1, 7)], TooManyApplicants),
        ([person(), person()], DuplicateNik),
        ([Applicant("Budi", D(1990, 3, 12), "3171011203900003")], None),
        ([Applicant("Budi", D(1990, 3, 13), "3171011203900003")], NikBirthDateMismatch),
        ([Applicant("Budi", D(1990, 3, 12), "123")], InvalidNik),
        ([Applicant("  ", D(1990, 3, 12), "3171011203900003")], InvalidApplicant),
        ([Applicant("Bayi", D(2027, 1, 1), "3171010101270001")], InvalidApplicant),
        ([person(), Applicant("Ani", D(1992, 5, 4), "3171010505920001")], NikBirthDateMismatch),
        ([person(), person("Ani", D(1992, 5, 4), female=True, serial=2)], None),
    ],
)
def test_check_applicants(office_config, people, refusal):
    result = rules.check_applicants(office_config, people, TODAY)
    if refusal is None:
        assert result is None
    else:
        assert isinstance(result, refusal)


def test_refusal_names_the_applicant(office_config):
    people = [person(), Applicant("Ani", D(1992, 5, 4), "3171010505920001")]
    result = rules.check_applicants(office_config, people, TODAY)
    assert isinstance(result, NikBirthDateMismatch) and result.applicant_index == 1


def test_too_many_reports_the_maximum(office_config):
    result = rules.check_applicants(office_config, [person(serial=i) for i in range(1, 8)], TODAY)
    assert result == TooManyApplicants(count=7, maximum=5)


def test_codes_avoid_ambiguous_characters_and_validate():
    generated = {codes.new_code(8) for _ in range(2000)}
    assert len(generated) == 2000  # no repeats in a sample this size
    for code in generated:
        assert len(code) == 8
        assert not set(code) & set("01OIL")
        assert codes.is_valid_code(code)


@pytest.mark.parametrize("transform", [str.lower, codes.display_code, lambda c: c[:4] + " " + c[4:]])
def test_codes_accept_what_people_type(transform):
    code = codes.new_code(8)
    assert codes.is_valid_code(transform(code))
    assert codes.normalise_code(transform(code)) == code


def test_codes_catch_typos():
    code = codes.new_code(8)
    replaced = code[:2] + ("A" if code[2] != "A" else "B") + code[3:]
    swapped = code[1] + code[0] + code[2:]
    assert not codes.is_valid_code(replaced)
    assert swapped == code or not codes.is_valid_code(swapped)
    assert not codes.is_valid_code(code[:-1])
    assert not codes.is_valid_code("ABCD-EFG0")


def test_display_code_groups_of_four():
    assert codes.display_code("km7q2pxa") == "KM7Q-2PXA"
