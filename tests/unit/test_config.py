"""The office configuration is validated on load and errors name the bad key."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from antrean.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))


def test_shipped_configuration_holds_the_spec_defaults():
    config = load_config()
    assert config.schedule.slot_capacity == 25
    assert config.schedule.first_slot == dt.time(8, 0)
    assert config.schedule.last_slot == dt.time(14, 30)
    assert config.booking.max_days_ahead == 30 and config.booking.min_days_ahead == 1
    assert config.booking.max_applicants == 5
    assert config.booking.reschedule_limit == 1
    assert config.booking.arrive_early_minutes == 30
    assert config.fees.passport["elektronik"][10] == 950_000
    assert config.fees.replacement_surcharge == {"hilang": 1_000_000, "rusak": 500_000}
    assert "Paspor lama" in config.documents.for_service("penggantian")


@pytest.mark.parametrize(
    "path, value, key",
    [
        (("schedule", "slot_capacity"), "banyak", "schedule.slot_capacity"),
        (("schedule", "slot_capacity"), -1, "schedule.slot_capacity"),
        (("schedule", "first_slot"), "8 pagi", "schedule.first_slot"),
        (("schedule", "service_weekdays"), [0, 8], "schedule.service_weekdays"),
        (("booking", "max_applicants"), 0, "booking.max_applicants"),
        (("booking", "max_days_ahead"), True, "booking.max_days_ahead"),
        (("office", "address"), "", "office.address"),
        (("office", "timezone"), "Mars/Olympus", "office.timezone"),
        (("fees", "passport", "biasa", 5), 350.5, "fees.passport.biasa.5"),
        (("services", "visa"), "Visa", "services.visa"),
    ],
)
def test_bad_value_is_named(raw, path, value, key):
    data = copy.deepcopy(raw)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(data)


@pytest.mark.parametrize("section, key", [("booking", "retention_days"), ("office", "name")])
def test_missing_key_is_named(raw, section, key):
    data = copy.deepcopy(raw)
    del data[section][key]
    with pytest.raises(ConfigError, match=f"{section}.{key} is missing"):
        parse_config(data)


def test_unreadable_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot read office configuration"):
        load_config(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("office: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_environment_selects_the_file(tmp_path, monkeypatch, raw):
    data = copy.deepcopy(raw)
    data["schedule"]["slot_capacity"] = 7
    path = tmp_path / "office.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("LAW_OFFICE_CONFIG", str(path))
    assert load_config().schedule.slot_capacity == 7
