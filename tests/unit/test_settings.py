"""One settings object read from the environment, one composition root built from it."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from antrean.bootstrap import build_clock, build_service, office_clock
from antrean.clock import FixedClock, SystemClock
from antrean.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, load_config
from antrean.settings import Settings, SettingsError


def test_defaults_are_the_embedded_stores_of_make_run():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'law.db'}"
    assert settings.tracker_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
    assert settings.office_config == DEFAULT_CONFIG_PATH
    assert settings.fixed_now is None and settings.auto_migrate is True
    assert settings.rasa_token is None
    assert settings.rasa_urls == (settings.rasa_url,) and settings.console_session_minutes == 480


def test_every_variable_is_read():
    settings = Settings.from_env({
        "LAW_DATABASE_URL": "postgresql+psycopg2://law@db/law",
        "LAW_OFFICE_CONFIG": "/etc/law/office.yml",
        "LAW_FIXED_NOW": "2026-12-01T09:00:00+07:00",
        "LAW_AUTO_MIGRATE": "0",
        "LAW_TRACKER_URL": "postgresql+psycopg2://law@db/tracker",
        "LAW_RASA_URL": "http://rasa:5005/",
        "LAW_RASA_TOKEN": "rahasia",
        "LAW_RASA_URLS": "http://10.0.0.1:5005/, http://10.0.0.2:5005",
        "LAW_CONSOLE_SESSION_MINUTES": "30",
    })
    assert settings == Settings(
        database_url="postgresql+psycopg2://law@db/law",
        office_config=Path("/etc/law/office.yml"),
        fixed_now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        auto_migrate=False,
        tracker_url="postgresql+psycopg2://law@db/tracker",
        rasa_url="http://rasa:5005",
        rasa_token="rahasia",
        rasa_urls=("http://10.0.0.1:5005", "http://10.0.0.2:5005"),
        console_session_minutes=30,
    )


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", True),
                                             ("true", True), ("no", False)])
def test_auto_migrate_reads_a_flag(value, expected):
    assert Settings.from_env({"LAW_AUTO_MIGRATE": value}).auto_migrate is expected


@pytest.mark.parametrize("name, value, message", [
    ("LAW_FIXED_NOW", "besok pagi", "LAW_FIXED_NOW must be an ISO-8601 datetime"),
    ("LAW_AUTO_MIGRATE", "kadang", "LAW_AUTO_MIGRATE must be 1 or 0, got 'kadang'"),
])
def test_a_bad_value_names_the_variable(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_the_clock_takes_the_time_zone_of_the_office_configuration(tmp_path):
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["office"]["timezone"] = "Asia/Makassar"
    path = tmp_path / "office.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    settings = Settings.from_env({"LAW_OFFICE_CONFIG": str(path)})
    clock = office_clock(settings)
    assert isinstance(clock, SystemClock) and clock.tz == ZoneInfo("Asia/Makassar")
    # A naive fixed moment is office time.
    fixed = build_clock(Settings.from_env({"LAW_FIXED_NOW": "2026-12-01T23:30:00"}),
                        load_config(path))
    assert isinstance(fixed, FixedClock)
    assert fixed.now() == dt.datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Asia/Makassar"))


def test_a_fixed_moment_is_told_in_office_time():
    settings = Settings.from_env({"LAW_FIXED_NOW": "2026-12-01T23:30:00+00:00"})
    now = office_clock(settings).now()
    assert (now.date(), now.hour, str(now.tzinfo)) == (dt.date(2026, 12, 2), 6, "Asia/Jakarta")


def test_build_service_migrates_and_opens_the_named_store(tmp_path):
    settings = Settings.from_env({"LAW_DATABASE_URL": f"sqlite:///{tmp_path / 'law.db'}",
                                  "LAW_FIXED_NOW": "2026-12-01T09:00:00+07:00"})
    service = build_service(settings)
    try:
        assert service.today() == dt.date(2026, 12, 1)
        assert service.config.office.timezone == "Asia/Jakarta"
        assert (tmp_path / "law.db").exists()
    finally:
        service.store.dispose()


def test_without_auto_migrate_the_schema_is_left_alone(tmp_path):
    settings = Settings.from_env({"LAW_DATABASE_URL": f"sqlite:///{tmp_path / 'law.db'}",
                                  "LAW_AUTO_MIGRATE": "0"})
    service = build_service(settings)
    try:
        assert not (tmp_path / "law.db").exists() or (tmp_path / "law.db").stat().st_size == 0
    finally:
        service.store.dispose()


APPLICATION = ("antrean", "actions", "addons")
# Modules still reading LAW_* themselves until they take the settings object (see clock.py).
NOT_YET: set[str] = set()


def test_only_the_settings_module_reads_law_variables():
    """No other module of the application looks a ``LAW_*`` variable up in the environment."""
    offenders = []
    for package in APPLICATION:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(PROJECT_ROOT))
            if relative == "antrean/settings.py" or relative in NOT_YET or "migrations" in relative:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and node.value.startswith("LAW_") and _read_from_environ(path, node):
                    offenders.append(f"{relative}: {node.value}")
    assert offenders == []


def _read_from_environ(path: Path, constant: ast.Constant) -> bool:
    line = path.read_text(encoding="utf-8").splitlines()[constant.lineno - 1]
    return "environ" in line or "getenv" in line or "_ENV =" in line
