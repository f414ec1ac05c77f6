"""The hand-off inbox's masking of personal data, and its lines of a conversation.

What law_console/conversation.py masks before a staff member reveals it, and how Rasa's
events become the lines of the page.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from antrean.clock import OFFICE_TZ
from antrean.store.tracker_queries import ConversationEvent
from law_console.conversation import Masker, lines

OFFICE_PHONE = "0812-9900-4406"
KNOWN = {"Budi Santoso", "3171011203900001", "1990-03-12", "KM7Q2PXA", "Siti Aminah"}


@pytest.fixture
def masker() -> Masker:
    return Masker(KNOWN, 2026, public=[OFFICE_PHONE])


@pytest.mark.parametrize(("typed", "shown"), [
    ("nik saya 3171011203900001", "nik saya ************0001"),
    ("nama saya Rina Wati, mau bikin paspor", "nama saya R*** W***, mau bikin paspor"),
    ("atas nama: joko", "atas nama: j***"),
    ("budi santoso mau ganti jadwal", "B*** S****** mau ganti jadwal"),  # a slot's value
    ("lahir 12-03-1990", "lahir **-**-****"),
    ("tgl lahir 12 maret 1990 ya", "tgl lahir **-**-**** ya"),
    ("#Joko Susilo#12031990#07122026", "#J*** S*****#****1990#****2026"),
    ("cek KM7Q-2PXA dong", "cek ******XA dong"),
    ("hp sy 081311112222", "hp sy ********2222"),
])
def test_personal_data_is_masked(masker: Masker, typed: str, shown: str) -> None:
    assert masker(typed) == shown


@pytest.mark.parametrize("text", [
    "mau ngomong sama orang aja, jangan robot",
    "Senin, 7 Desember 2026 pukul 09.00, paspor BARU elektronik",  # a booking date: this year
    f"hubungi kantor di {OFFICE_PHONE} pada jam layanan",  # the office's number is public
    "PASPOR ELEKTRONIK",
])
def test_what_identifies_nobody_is_left_as_typed(masker: Masker, text: str) -> None:
    assert masker(text) == text


def test_a_revealed_conversation_is_shown_as_typed() -> None:
    assert Masker.none()("nik saya 3171011203900001") == "nik saya 3171011203900001"


def event(event_id: int, kind: str, moment: dt.datetime, **data: object) -> ConversationEvent:
    return ConversationEvent(event_id, moment.timestamp(), kind,
                             json.dumps({"event": kind, **data}))


def test_rasa_events_become_lines_of_who_said_what(masker: Masker) -> None:
    today = dt.date(2026, 12, 1)
    at = dt.datetime(2026, 12, 1, 9, 5, tzinfo=OFFICE_TZ)
    found = [
        event(1, "user", at - dt.timedelta(days=1), text="halo, saya Budi Santoso"),
        event(2, "bot", at, text="Halo! Ada yang bisa dibantu?"),
        event(3, "bot", at, text=None, data={"buttons": [{"title": "Ya"}]}),  # shows nothing
        event(4, "pause", at),
        event(5, "bot", at, text="Saya Sari dari kantor",
              metadata={"law_console": {"staff": "Sari Loket", "wamid": "wamid.1"}}),
        event(6, "user", at, text="nik 3171011203900001"),
        event(7, "resume", at),
        ConversationEvent(8, at.timestamp(), "user", "not json"),
    ]
    shown = [(line.id, line.who, line.label, line.text, line.at)
             for line in lines(found, masker, OFFICE_TZ, today)]
    assert shown == [
        (1, "pemohon", "Pemohon", "halo, saya B*** S******", "30-11 09.05"),
        (2, "asisten", "Asisten", "Halo! Ada yang bisa dibantu?", "09.05"),
        (4, "sistem", "", "Petugas mengambil alih; asisten diam.", "09.05"),
        (5, "petugas", "Petugas Sari Loket", "Saya Sari dari kantor", "09.05"),
        (6, "pemohon", "Pemohon", "nik ************0001", "09.05"),
        (7, "sistem", "", "Asisten kembali melayani.", "09.05"),
    ]
