"""The ``antrean`` entry point: installed script, Indonesian help, optional modules, errors,
and the schema migration the staff tools add (0003)."""
from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import antrean.store.engine as store_engine
from antrean.cli import build_parser, main
from antrean.config import PROJECT_ROOT
from antrean.store.tables import metadata
from tests.conftest import NOW
from tests.integration.test_migrations import head as migrations_head
from tests.staff.conftest import book

SCRIPT = Path(sys.executable).parent / "antrean"


def subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_installed_script_shows_indonesian_help():
    assert SCRIPT.exists(), "the console script is missing: run `make setup`"
    done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pemakaian: antrean")
    for name in ("tutup", "buka", "kapasitas", "kalender", "daftar", "cari", "hadir",
                 "tidak-hadir", "permintaan", "selesai", "laporan", "hapus-data"):
        assert f"\n    {name} " in done.stdout
    assert "docs/panduan-petugas.md" in done.stdout


def test_installed_script_lists_tomorrow(service, database_url, tmp_path):
    booking = book(service, "6281200000001", day=NOW.date().replace(day=2))
    env = dict(os.environ, LAW_DATABASE_URL=database_url, LAW_FIXED_NOW=NOW.isoformat(),
               LAW_AUTO_MIGRATE="0", LAW_TRACKER_URL=f"sqlite:///{tmp_path / 't.db'}")
    done = subprocess.run([str(SCRIPT), "daftar", "besok", "--csv", "-"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert booking.applicants[0].name in done.stdout
    assert booking.applicants[0].nik not in done.stdout and booking.phone not in done.stdout


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_explains_itself_in_indonesian(name, capsys):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"pemakaian: antrean {name}")
    assert "tampilkan bantuan ini lalu keluar" in out
    assert "show this help" not in out and "usage:" not in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "perintah:" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["hapus-semua"]) == 2
    assert "pilihan tidak dikenal 'hapus-semua'" in capsys.readouterr().err


def test_retrain_commands_join_when_the_module_exists(monkeypatch, capsys):
    fake = types.ModuleType("law_retrain.cli")

    def register(subparsers):
        parser = subparsers.add_parser("latih-uji", help="uji")
        parser.set_defaults(handler=lambda args: print("dilatih") or 0)

    fake.register = register
    monkeypatch.setitem(sys.modules, "law_retrain.cli", fake)
    assert main(["latih-uji"]) == 0 and capsys.readouterr().out == "dilatih\n"


def test_cli_works_without_the_retrain_module(monkeypatch):
    real_import = __import__("importlib").import_module

    def import_module(name, *args):
        if name == "law_retrain.cli":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args)

    monkeypatch.setattr("antrean.cli.importlib.import_module", import_module)
    assert "tutup" in subcommands()


def test_a_broken_retrain_module_warns_and_the_rest_works(monkeypatch, capsys):
    real_import = __import__("importlib").import_module

    def import_module(name, *args):
        if name == "law_retrain.cli":
            raise ModuleNotFoundError("No module named 'somepackage'", name="somepackage")
        return real_import(name, *args)

    monkeypatch.setattr("antrean.cli.importlib.import_module", import_module)
    assert "tutup" in subcommands()
    assert "somepackage" in capsys.readouterr().err


def test_an_unmigrated_database_is_reported_not_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LAW_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("LAW_AUTO_MIGRATE", "0")
    assert main(["daftar", "besok"]) == 3
    assert "Basis data tidak dapat dipakai" in capsys.readouterr().err


def test_a_bad_office_file_is_reported(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "office.yml"
    bad.write_text("office: {}\n")
    monkeypatch.setenv("LAW_DATABASE_URL", f"sqlite:///{tmp_path / 'law.db'}")
    assert main(["--config", str(bad), "kalender"]) == 3
    assert "Konfigurasi kantor tidak valid" in capsys.readouterr().err


def test_a_fresh_database_is_migrated_on_first_use(monkeypatch, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh' / 'law.db'}"
    monkeypatch.setenv("LAW_DATABASE_URL", url)
    monkeypatch.delenv("LAW_AUTO_MIGRATE", raising=False)
    assert main(["kalender", "--minggu", "1"]) == 0
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations_head()
    engine.dispose()


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_engine.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_migration_0003_keeps_every_applicant_on_sqlite(tmp_path):
    # Recreating `bookings` in batch mode would cascade-delete the applicants.
    url = f"sqlite:///{tmp_path / 'law.db'}"
    command.upgrade(_alembic(url), "0002")
    engine = store_engine.create_store_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO bookings (id, code, phone, service_date, slot_time, service_type, "
            "passport_type, status, reschedule_count, created_at, updated_at) VALUES (1, 'C', "
            "'62', '2026-12-07', '09:00:00', 'baru', 'biasa', 'active', 0, '2026-12-01', "
            "'2026-12-01')"))
        conn.execute(text("INSERT INTO applicants (booking_id, position, name, birth_date, nik) "
                          "VALUES (1, 0, 'Budi', '1990-03-12', '3171011203900001')"))
    for target in ("head", "0002", "head"):
        (command.upgrade if target == "head" else command.downgrade)(_alembic(url), target)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM applicants")).scalar() == 1
    engine.dispose()


def test_tables_py_matches_the_migrated_schema(database_url):
    def ours(obj, name, type_, reflected, compare_to):  # not Rasa's or the channel's tables
        return not (type_ == "table" and reflected and compare_to is None)

    engine = create_engine(database_url, future=True)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_console_script_is_declared():
    assert 'antrean = "antrean.cli:main"' in (PROJECT_ROOT / "pyproject.toml").read_text()


def test_a_bad_fixed_clock_is_reported(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LAW_DATABASE_URL", f"sqlite:///{tmp_path / 'law.db'}")
    monkeypatch.setenv("LAW_FIXED_NOW", "besok pagi")
    assert main(["kalender"]) == 3
    assert "LAW_FIXED_NOW" in capsys.readouterr().err
