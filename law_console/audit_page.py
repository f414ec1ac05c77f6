""""Audit" (supervisor and up): every change made in the console, newest first.

Each entry says who, when (office time), what, on what, and the value before → after, as the
pages wrote them (``Page.audit``); accounts made with ``antrean pengguna tambah`` are there
too, as ``cli:<system user>``. Filter by action; 50 entries a page.
"""
from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from antrean.staff.users import Role
from law_console.auth import Page, page
from law_console.state import NavItem

PER_PAGE = 50

# How each action reads on the page.
ACTION_LABELS = {
    "kehadiran": "Kehadiran",
    "kehadiran.sisa": "Sisa hari: tidak hadir",
    "tanggal.tutup": "Tutup tanggal",
    "tanggal.buka": "Buka tanggal",
    "kapasitas.atur": "Atur kapasitas",
    "kapasitas.hapus": "Hapus aturan kapasitas",
    "nik.lepas": "Lepas NIK",
    "pengguna.tambah": "Tambah pengguna",
    "pengguna.peran": "Ubah peran",
    "pengguna.status": "Aktif / nonaktif",
    "pengguna.sandi": "Kata sandi",
}


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


@page(Role.SUPERVISOR)
def audit_page(p: Page) -> Response:
    number = _page_number(p.query("halaman"))
    action = p.query("aksi")[:64]
    with p.service.store.transaction() as tx:
        entries, total = tx.console.audit_entries(PER_PAGE, (number - 1) * PER_PAGE,
                                                  action or None)
        actions = tx.console.audit_actions()
    tz = p.service.tz
    rows = [{"at": f"{e.at.astimezone(tz):%d-%m-%Y %H:%M:%S}", "who": e.username,
             "action": ACTION_LABELS.get(e.action, e.action), "target": e.target,
             "before": e.before, "after": e.after} for e in entries]
    return p.render("audit.html", title="Audit", rows=rows, total=total, number=number,
                    pages=max(1, -(-total // PER_PAGE)), action=action,
                    actions=[(a, ACTION_LABELS.get(a, a)) for a in actions])


nav = [NavItem("Audit", "/audit", Role.SUPERVISOR, order=60)]
routes = [Route("/audit", audit_page, methods=["GET"])]
