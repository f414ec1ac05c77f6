"""The 2017 hash format is recognised by rules."""
from __future__ import annotations

import datetime as dt

import pytest

from antrean.legacy_format import is_legacy_cancel, parse_legacy_booking


@pytest.mark.parametrize(
    "text, name, born, arrival",
    [
        ("#Budi Santoso#12031990#07122026", "Budi Santoso", dt.date(1990, 3, 12), dt.date(2026, 12, 7)),
        ("#Siti Aminah#01-02-1985#08-12-2026", "Siti Aminah", dt.date(1985, 2, 1), dt.date(2026, 12, 8)),
        (" # Ani  Lestari # 4/5/1992 # 9/12/2026 #", "Ani Lestari", dt.date(1992, 5, 4), dt.date(2026, 12, 9)),
        ("#Muh. Yusuf#31121970#14122026", "Muh. Yusuf", dt.date(1970, 12, 31), dt.date(2026, 12, 14)),
        ("#Budi#31021990#07122026", "Budi", None, dt.date(2026, 12, 7)),  # no 31 February
    ],
)
def test_booking_format(text, name, born, arrival):
    parsed = parse_legacy_booking(text)
    assert parsed and (parsed.name, parsed.birth_date, parsed.arrival_date) == (name, born, arrival)
    assert text[slice(*parsed.name_span)].split() == name.split()


@pytest.mark.parametrize(
    "text",
    ["Budi#12031990#07122026", "#Budi#12031990", "#12031990#07122026#x", "halo #Budi#1#2",
     "#Budi Santoso#tgl 12 maret#07122026", ""],
)
def test_not_the_booking_format(text):
    assert parse_legacy_booking(text) is None


@pytest.mark.parametrize("text, expected", [("#batal", True), ("#BATAL", True), (" # batal #", True),
                                            ("batal", False), ("#batal dong", False)])
def test_cancel_format(text, expected):
    assert is_legacy_cancel(text) is expected
