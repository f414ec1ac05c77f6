"""The intents and entities a supervisor labels with, described in Indonesian.

From the SPEC ("Intent catalogue", "Entities"); the staff guide's table in
docs/panduan-petugas.md says the same. The order is the SPEC's and stays fixed: the console
numbers the intents in it, and staff learn the numbers.
"""
from __future__ import annotations

INTENTS: dict[str, str] = {
    "greet": "menyapa (\u201chalo\u201d, \u201cP\u201d, \u201cassalamualaikum\u201d)",
    "goodbye": "mengakhiri percakapan",
    "thank": "berterima kasih",
    "affirm": "menjawab ya / setuju",
    "deny": "menjawab tidak / menolak usulan asisten",
    "book_queue": "mengambil antrean (layanan apa pun, dengan atau tanpa tanggal)",
    "check_booking": "melihat booking-nya (tanggal, jam, kode)",
    "cancel_booking": "membatalkan booking",
    "reschedule_booking": "memindahkan booking ke tanggal/jam lain",
    "ask_availability": "tahu tanggal/jam yang masih ada kuota",
    "ask_requirements": "tahu dokumen yang harus dibawa",
    "ask_fee": "tahu biaya (PNBP)",
    "ask_office_hours": "tahu jam pelayanan",
    "ask_location": "tahu alamat kantor / cara ke sana",
    "ask_passport_status": "tahu kapan paspor jadi / cara mengambil",
    "request_human": "bicara dengan petugas",
    "bot_challenge": "bertanya apakah ini robot",
    "inform": "menjawab pertanyaan asisten (nama, tanggal, layanan, NIK, jumlah orang)",
    "out_of_scope": "hal yang tidak dilayani di sini (visa negara lain, SIM, KTP, cuaca\u2026)",
}

ENTITIES: dict[str, str] = {
    "service_type": "jenis layanan",
    "passport_type": "jenis paspor",
    "applicant_count": "jumlah orang",
    "person_name": "nama orang",
}

VALUE_LABELS: dict[str, str] = {
    "baru": "baru", "penggantian": "penggantian (habis/penuh)", "hilang": "hilang",
    "rusak": "rusak", "biasa": "biasa", "elektronik": "elektronik",
}


def intents_of(declared: list[str]) -> list[tuple[str, str]]:
    """(intent, description) of the declared intents, the catalogue's first in SPEC order.

    Any other declared intent follows, described by its name.
    """
    shown = [(name, INTENTS[name]) for name in INTENTS if name in declared]
    shown += [(name, name) for name in declared if name not in INTENTS]
    return shown
