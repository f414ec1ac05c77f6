"""The ``antrean`` command: staff tools of LAW (help texts in Indonesian).

Each module of ``antrean.staff`` adds its subcommands through ``register(subparsers)`` and
sets a ``handler(args) -> int | None`` on each (see ``antrean.staff``). ``main`` parses the
arguments, runs the handler and turns the problems staff can fix (a wrong date, an invalid
office file, an unreachable database) into a message and an exit code instead of a
traceback: 0 done, 1 refused or not found, 2 wrong usage, 3 configuration or database.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from antrean.config import ConfigError
from antrean.masking import mask_numbers_in_text
from antrean.staff.common import StaffError
from antrean.store.errors import StoreError

STAFF_MODULES = ("schedule", "daily", "access", "reports", "privacy", "users")
# The retraining commands (law_retrain/, shared with the staff console); absent in older checkouts.
OPTIONAL_MODULES = ("law_retrain.cli",)

DESCRIPTION = """\
Alat petugas LAW (Layanan Antrean via WhatsApp): jadwal dan kapasitas, daftar booking
harian, kehadiran, permintaan petugas, pelepasan NIK, laporan, penghapusan data
pribadi, dan akun konsol petugas (web).
Panduan lengkap: docs/panduan-petugas.md.
"""

EPILOG = """\
Pengaturan (variabel lingkungan):
  LAW_DATABASE_URL   basis data booking (default sqlite:///var/law.db)
  LAW_TRACKER_URL    basis data percakapan Rasa (default sqlite:///var/tracker.db)
  LAW_OFFICE_CONFIG  file konfigurasi kantor (default office.yml)

Contoh:
  antrean kalender
  antrean tutup 2026-12-24 --alasan "Cuti bersama Natal"
  antrean daftar besok --csv besok.csv
  antrean hadir KM7Q-2PXA
  antrean lepas-nik 3171011203900003 --alasan "pemilik NIK datang dengan e-KTP"
  antrean laporan --dari 2026-12-01 --sampai 2026-12-31
  antrean hapus-data --dry-run
  antrean pengguna tambah admin --peran admin
"""


# argparse's own messages, in Indonesian (argparse has no translation of its own).
_ERRORS = (
    (re.compile(r"the following arguments are required: (.*)"), r"argumen wajib belum diisi: \1"),
    (re.compile(r"unrecognized arguments: (.*)"), r"argumen tidak dikenal: \1"),
    (re.compile(r"argument (.*?): invalid choice: (.*) \(choose from (.*)\)"),
     r"argumen \1: pilihan tidak dikenal \2 (pilihan: \3)"),
    (re.compile(r"argument (.*?): invalid (\w+) value: (.*)"),
     r"argumen \1: nilai tidak sah (\2): \3"),
    (re.compile(r"argument (.*?): expected one argument"), r"argumen \1: perlu satu nilai"),
    (re.compile(r"argument (.*?): expected at least one argument"),
     r"argumen \1: perlu sedikitnya satu nilai"),
)


class IndonesianArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are Indonesian; subcommands inherit it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumen"
        self._optionals.title = "opsi"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "tampilkan bantuan ini lalu keluar"

    def format_usage(self) -> str:
        return _usage_in_indonesian(super().format_usage())

    def format_help(self) -> str:
        return _usage_in_indonesian(super().format_help())

    def error(self, message: str) -> NoReturn:
        for pattern, replacement in _ERRORS:
            if pattern.fullmatch(message):
                message = pattern.sub(replacement, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: kesalahan: {message}\n")


def _usage_in_indonesian(text: str) -> str:
    return "pemakaian:" + text[len("usage:"):] if text.startswith("usage:") else text


def build_parser() -> argparse.ArgumentParser:
    parser = IndonesianArgumentParser(
        prog="antrean",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser._positionals.title = "perintah"
    parser.add_argument("--db", metavar="URL",
                        help="basis data booking (default: LAW_DATABASE_URL)")
    parser.add_argument("--config", metavar="FILE",
                        help="file konfigurasi kantor (default: LAW_OFFICE_CONFIG atau office.yml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="tampilkan log rinci")
    subparsers = parser.add_subparsers(dest="command", metavar="PERINTAH")
    for name in STAFF_MODULES:
        importlib.import_module(f"antrean.staff.{name}").register(subparsers)
    for name in OPTIONAL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if exc.name != name:
                # Present but broken: the other commands must keep working.
                print(f"Peringatan: perintah dari {name} tidak tersedia "
                      f"({exc.__class__.__name__}: {exc})", file=sys.stderr)
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one staff command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse already printed
        return int(exit_.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except StaffError as problem:
        print(problem.message, file=sys.stderr)
        return problem.exit_code
    except ConfigError as problem:
        print(f"Konfigurasi kantor tidak valid: {problem}", file=sys.stderr)
        return 3
    except StoreError as problem:
        # The message names the database and the failing statement, never row values.
        first_line = mask_numbers_in_text(
            str(getattr(problem, "orig", None) or problem).splitlines()[0]
        )
        print(f"Basis data tidak dapat dipakai: {problem.__class__.__name__}: {first_line}",
              file=sys.stderr)
        return 3
    except OSError as problem:  # e.g. the SQLite folder cannot be created
        print(f"Berkas tidak dapat dipakai: {problem}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
