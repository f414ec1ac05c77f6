"""Every word the actions put on a button or inside a sentence, in one place.

Whole messages live in the domain's responses; what is here are the short labels the
actions compose at run time (button titles, list lines, names of the parts of a booking).
Applicant-facing, so Indonesian.
"""
from __future__ import annotations

SERVICE_BUTTONS = {"baru": "Paspor baru", "penggantian": "Perpanjang/ganti",
                   "hilang": "Paspor hilang", "rusak": "Paspor rusak"}
PASSPORT_BUTTONS = {"elektronik": "Paspor elektronik", "biasa": "Paspor biasa"}
ALONE_BUTTON = "Saya sendiri (1)"
PEOPLE_BUTTON = "{n} orang"

YES_BOOK = "Ya, benar"
SOMETHING_WRONG = "Ada yang salah"
YES_CANCEL = "Ya, batalkan"
NO_KEEP = "Tidak"
YES_MOVE = "Ya, pindahkan"
STOP_BOOKING = "Tidak jadi daftar"
TALK_TO_STAFF = "Bicara dengan petugas"

# The parts of a booking the applicant can choose to change at the summary.
CHANGE_BUTTONS = {"booking_date": "Tanggal & jam", "booking_time": "Jam saja",
                  "applicant_count": "Jumlah orang", "service_type": "Jenis layanan",
                  "passport_type": "Jenis paspor", "applicants": "Nama/NIK/tgl lahir"}

# "orang pertama", "orang kedua" … for the people of a group (plainer than "pemohon ke-1").
ORDINALS = ("pertama", "kedua", "ketiga", "keempat", "kelima", "keenam", "ketujuh")
THE_APPLICANT = "pemohon"

CHILD_DOCUMENTS = "Untuk anak ({names}), bawa juga:"

FREE_PLACES = "{time} ({free} sisa)"
# Lines of the fee list, the availability list, the summary and the ordinal of a person.
FEE_LINE = "{passport} {years} tahun: {amount}"
EXPRESS_FEE_LINE = "Layanan percepatan (selesai hari yang sama): +{amount}"
REPLACEMENT_FEE_LINE = "Penggantian karena {cause}: +{amount}"
DAY_PLACES_LINE = "{date}: {free} tempat, mulai {time}"
SUMMARY_PERSON_LINE = "{prefix}{name}, lahir {born}, NIK {nik}"
NTH_PERSON = "orang {ordinal}"

# What the assistant can do, offered when it did not understand (and after a stray choice).
MENU = (
    ("Daftar antrean", "/book_queue"),
    ("Cek antrean saya", "/check_booking"),
    ("Ubah jadwal", "/reschedule_booking"),
    ("Batalkan antrean", "/cancel_booking"),
    ("Syarat dokumen", "/ask_requirements"),
    ("Biaya paspor", "/ask_fee"),
    ("Jam & lokasi kantor", "/ask_location"),
    ("Bicara dengan petugas", "/request_human"),
)
