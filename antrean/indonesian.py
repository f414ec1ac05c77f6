"""Indonesian renderings of dates, times, money and lists for applicant-facing text."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)


def format_date(day: dt.date) -> str:
    """``Senin, 7 Desember 2026``."""
    return f"{DAY_NAMES[day.weekday()]}, {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def format_date_short(day: dt.date) -> str:
    """``Sen 7 Des`` — fits a WhatsApp button title."""
    return f"{DAY_NAMES[day.weekday()][:3]} {day.day} {MONTH_NAMES[day.month - 1][:3]}"


def format_time(time: dt.time) -> str:
    """``09.30 WIB`` (Indonesian writes clock times with a dot)."""
    return f"{time:%H.%M} WIB"


def format_rupiah(amount: int) -> str:
    """``Rp650.000``."""
    return "Rp" + f"{amount:,}".replace(",", ".")


def join_names(names: Iterable[str]) -> str:
    """``Budi``, ``Budi dan Ani``, ``Budi, Ani dan Citra``."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " dan " + items[-1]


def bullet_list(items: Iterable[str]) -> str:
    return "\n".join(f"• {item}" for item in items)
