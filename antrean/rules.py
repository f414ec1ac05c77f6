"""Checks of a booking request that need no stored data (plain Python)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from antrean.config import PASSPORT_TYPES, SERVICE_TYPES, OfficeConfig
from antrean.model import Applicant
from antrean.nik import NikCheck, check_nik, normalise_nik
from antrean.outcomes import (
    DuplicateNik,
    InvalidApplicant,
    InvalidNik,
    NikBirthDateMismatch,
    NoApplicants,
    Refusal,
    TooManyApplicants,
    UnknownService,
)


def check_service(service_type: str, passport_type: str) -> Refusal | None:
    if service_type not in SERVICE_TYPES:
        return UnknownService("service_type", service_type)
    if passport_type not in PASSPORT_TYPES:
        return UnknownService("passport_type", passport_type)
    return None


def check_applicant_count(config: OfficeConfig, count: int) -> Refusal | None:
    if count < 1:
        return NoApplicants()
    if count > config.booking.max_applicants:
        return TooManyApplicants(count=count, maximum=config.booking.max_applicants)
    return None


def check_applicant(index: int, applicant: Applicant, today: dt.date) -> Refusal | None:
    """Name present, birth date not in the future, NIK valid and agreeing with it."""
    if not applicant.name.strip():
        return InvalidApplicant(index, "name")
    if applicant.birth_date > today:
        return InvalidApplicant(index, "birth_date")
    return nik_refusal(applicant.nik, applicant.birth_date, index)


def nik_refusal(nik: str, born: dt.date | None, index: int) -> Refusal | None:
    """Why the ``index``-th person's NIK is refused; None when it is valid.

    Its form, its embedded date of birth, or its disagreement with ``born``.
    """
    result = check_nik(normalise_nik(nik), born)
    if result is NikCheck.FORMAT:
        return InvalidNik(index, "format")
    if result is NikCheck.BIRTH_DATE:
        return InvalidNik(index, "birth_date")
    if result is NikCheck.MISMATCH:
        return NikBirthDateMismatch(index)
    return None


def check_applicants(
    config: OfficeConfig, people: Sequence[Applicant], today: dt.date
) -> Refusal | None:
    """The first problem with the group of applicants, or None."""
    problem = check_applicant_count(config, len(people))
    if problem:
        return problem
    seen: set[str] = set()
    for index, person in enumerate(people):
        problem = check_applicant(index, person, today)
        if problem:
            return problem
        nik = normalise_nik(person.nik)
        if nik in seen:
            return DuplicateNik(index)
        seen.add(nik)
    return None


def clean_applicants(people: Sequence[Applicant]) -> tuple[Applicant, ...]:
    """Trimmed names and NIKs without separators, as stored."""
    return tuple(
        Applicant(" ".join(p.name.split()), p.birth_date, normalise_nik(p.nik)) for p in people
    )


# The oldest date of birth taken as real: nobody applies for a passport past this age.
MAX_AGE_YEARS = 120
# Below this age a person has no e-KTP: the children's documents apply.
ADULT_AGE = 17


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years of age on ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_birth_date(born: dt.date, today: dt.date) -> Refusal | None:
    """A date of birth in the future, or more than 120 years ago, is a typing slip."""
    if born > today or age_on(born, today) > MAX_AGE_YEARS:
        return InvalidApplicant(0, "birth_date")
    return None


def check_nik_for_form(nik: str, born: dt.date | None, niks_so_far: Sequence[str],
                       index: int) -> Refusal | None:
    """Check the NIK of the ``index``-th person of a group as it is typed.

    It must be valid, agree with the date of birth, and not be already given for someone else
    of the group.
    """
    refusal = nik_refusal(nik, born, index)
    if refusal is None and normalise_nik(nik) in niks_so_far:
        return DuplicateNik(index)
    return refusal


def in_priority_group(config: OfficeConfig, born: dt.date, day: dt.date) -> bool:
    """Elderly (60+) and small children (under 5) may use the walk-in priority counter."""
    age = age_on(born, day)
    return age >= config.elderly_min_age or age < config.child_max_age


def is_minor(born: dt.date, day: dt.date) -> bool:
    """Too young for an e-KTP on the day of the visit: the children's documents apply."""
    return age_on(born, day) < ADULT_AGE
