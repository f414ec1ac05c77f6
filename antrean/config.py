"""Office configuration: one YAML file holding every number and fact the rules use.

The file is validated on load; a problem raises ``ConfigError`` naming the bad key
(``schedule.slot_capacity must be a positive integer, got 'x'``). Callers pass the path the
settings name (``antrean.settings``: ``LAW_OFFICE_CONFIG``, else ``office.yml`` at the project
root).
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from antrean.notice_config import NoticeConfig, NoticeConfigError, parse_notices

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "office.yml"

SERVICE_TYPES = ("baru", "penggantian", "hilang", "rusak")
PASSPORT_TYPES = ("biasa", "elektronik")


class ConfigError(ValueError):
    """The office configuration is missing a key or holds a bad value."""


@dataclass(frozen=True)
class OfficeInfo:
    name: str
    address: str
    map_url: str
    contact_phone: str
    hours_text: str
    timezone: str


@dataclass(frozen=True)
class ScheduleRules:
    service_weekdays: frozenset[int]
    opening_time: dt.time
    closing_time: dt.time
    first_slot: dt.time
    last_slot: dt.time
    slot_minutes: int
    slot_capacity: int
    holiday_country: str


@dataclass(frozen=True)
class BookingRules:
    min_days_ahead: int
    max_days_ahead: int
    max_applicants: int
    reschedule_limit: int
    reschedule_deadline_days: int
    arrive_early_minutes: int
    retention_days: int
    code_length: int


@dataclass(frozen=True)
class Fees:
    passport: Mapping[str, Mapping[int, int]]
    express_surcharge: int
    replacement_surcharge: Mapping[str, int]


@dataclass(frozen=True)
class Documents:
    common: tuple[str, ...]
    per_service: Mapping[str, tuple[str, ...]]
    children: tuple[str, ...]
    note: str

    def for_service(self, service_type: str) -> tuple[str, ...]:
        """Everything an adult applicant of this service brings."""
        return self.common + self.per_service.get(service_type, ())


@dataclass(frozen=True)
class OfficeConfig:
    office: OfficeInfo
    schedule: ScheduleRules
    booking: BookingRules
    services: Mapping[str, str]
    passport_types: Mapping[str, str]
    fees: Fees
    documents: Documents
    pickup_working_days: int
    pickup_note: str
    priority_note: str
    elderly_min_age: int
    child_max_age: int
    # Short answers to the questions people ask besides booking ("bisa diwakilkan?",
    # "naik busway turun mana?"), by topic; staff keep them current (office.yml "facts").
    facts: Mapping[str, str] = field(default_factory=dict)
    # Messages the office sends first (office.yml "notices"); None: none are sent.
    notices: NoticeConfig | None = None
    source: str = field(default="<dict>", compare=False)


class _Reader:
    """Typed access to a nested mapping that names the full key on error."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            where = prefix.rstrip(".") or "the file"
            raise ConfigError(f"{where} must be a mapping of keys to values")
        self.data = data
        self.prefix = prefix

    # Keys are text, except where YAML reads a number: the fees per passport validity (years).
    def _key(self, key: str | int) -> str:
        return f"{self.prefix}{key}"

    def raw(self, key: str | int) -> Any:
        if key not in self.data:
            raise ConfigError(f"{self._key(key)} is missing")
        return self.data[key]

    def section(self, key: str) -> _Reader:
        return _Reader(self.raw(key), f"{self._key(key)}.")

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{self._key(key)} must be a non-empty text, got {value!r}")
        return value.strip()

    def integer(self, key: str | int, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{self._key(key)} must be an integer ≥ {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self._key(key)} must be at most {maximum}, got {value!r}")
        return value

    def clock(self, key: str) -> dt.time:
        value = self.raw(key)
        try:
            return dt.time.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{self._key(key)} must be a time as HH:MM, got {value!r}") from None

    def text_list(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._key(key)} must be a list of texts, got {value!r}")
        return tuple(v.strip() for v in value)

    def names(self, key: str, required: tuple[str, ...]) -> dict[str, str]:
        section = self.section(key)
        for name in required:
            section.text(name)
        unknown = sorted(set(section.data) - set(required))
        if unknown:
            raise ConfigError(f"{self._key(key)}.{unknown[0]} is not a known value {required}")
        return {name: section.text(name) for name in required}


def parse_config(data: Any, source: str = "<dict>") -> OfficeConfig:
    """Validate a parsed YAML document and build the configuration."""
    root = _Reader(data)
    office = root.section("office")
    schedule = root.section("schedule")
    booking = root.section("booking")

    tz = office.text("timezone")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - any lookup failure means an unknown zone
        raise ConfigError(f"office.timezone is not a known time zone, got {tz!r}") from None

    weekdays = schedule.raw("service_weekdays")
    if not isinstance(weekdays, list) or not weekdays or not all(
        isinstance(d, int) and 1 <= d <= 7 for d in weekdays
    ):
        raise ConfigError(
            f"schedule.service_weekdays must list ISO weekdays 1–7, got {weekdays!r}"
        )
    rules = ScheduleRules(
        service_weekdays=frozenset(weekdays),
        opening_time=schedule.clock("opening_time"),
        closing_time=schedule.clock("closing_time"),
        first_slot=schedule.clock("first_slot"),
        last_slot=schedule.clock("last_slot"),
        slot_minutes=schedule.integer("slot_minutes", 5, 240),
        slot_capacity=schedule.integer("slot_capacity", 0),
        holiday_country=schedule.text("holiday_country"),
    )
    if rules.last_slot < rules.first_slot:
        raise ConfigError("schedule.last_slot must not be before schedule.first_slot")
    if not rules.opening_time <= rules.first_slot or rules.last_slot >= rules.closing_time:
        raise ConfigError("schedule.first_slot/last_slot must lie inside opening and closing time")

    booking_rules = BookingRules(
        min_days_ahead=booking.integer("min_days_ahead", 0),
        max_days_ahead=booking.integer("max_days_ahead", 1, 366),
        max_applicants=booking.integer("max_applicants", 1, 20),
        reschedule_limit=booking.integer("reschedule_limit", 0),
        reschedule_deadline_days=booking.integer("reschedule_deadline_days", 0),
        arrive_early_minutes=booking.integer("arrive_early_minutes", 0),
        retention_days=booking.integer("retention_days", 1),
        code_length=booking.integer("code_length", 6, 16),
    )
    if booking_rules.max_days_ahead < booking_rules.min_days_ahead:
        raise ConfigError("booking.max_days_ahead must not be below booking.min_days_ahead")

    fees = root.section("fees")
    passport_fees: dict[str, dict[int, int]] = {}
    passport_section = fees.section("passport")
    for ptype in PASSPORT_TYPES:
        per_years = passport_section.section(ptype)
        passport_fees[ptype] = {
            int(years): per_years.integer(years) for years in per_years.data
        }
    surcharge = fees.section("replacement_surcharge")
    documents = root.section("documents")
    per_service = documents.section("per_service")
    pickup = root.section("pickup")
    priority = root.section("priority")

    return OfficeConfig(
        office=OfficeInfo(
            name=office.text("name"),
            address=office.text("address"),
            map_url=office.text("map_url"),
            contact_phone=office.text("contact_phone"),
            hours_text=office.text("hours_text"),
            timezone=tz,
        ),
        schedule=rules,
        booking=booking_rules,
        services=root.names("services", SERVICE_TYPES),
        passport_types=root.names("passport_types", PASSPORT_TYPES),
        fees=Fees(
            passport=passport_fees,
            express_surcharge=fees.integer("express_surcharge"),
            replacement_surcharge={k: surcharge.integer(k) for k in ("hilang", "rusak")},
        ),
        documents=Documents(
            common=documents.text_list("common"),
            per_service={s: per_service.text_list(s) for s in SERVICE_TYPES},
            children=documents.text_list("children"),
            note=documents.text("note"),
        ),
        pickup_working_days=pickup.integer("working_days_after_payment", 0),
        pickup_note=pickup.text("note"),
        priority_note=priority.text("note"),
        elderly_min_age=priority.integer("elderly_min_age", 1),
        child_max_age=priority.integer("child_max_age", 0),
        facts=_facts(root),
        notices=_notices(root),
        source=source,
    )


def _facts(root: _Reader) -> dict[str, str]:
    """The optional ``facts`` section: topic -> answer text."""
    if "facts" not in root.data:
        return {}
    facts = root.section("facts")
    return {str(topic): facts.text(str(topic)) for topic in facts.data}


def _notices(root: _Reader) -> NoticeConfig | None:
    if "notices" not in root.data:
        return None
    try:
        return parse_notices(root.data["notices"])
    except NoticeConfigError as exc:
        raise ConfigError(str(exc)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> OfficeConfig:
    """Read and validate the office configuration file (``path``, else the settings' one)."""
    if path is None:
        from antrean.settings import Settings

        path = Settings.from_env().office_config
    chosen = Path(path)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read office configuration {chosen}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{chosen} is not valid YAML: {exc}") from exc
    try:
        return parse_config(data, source=str(chosen))
    except ConfigError as exc:
        raise ConfigError(f"{chosen}: {exc}") from None
