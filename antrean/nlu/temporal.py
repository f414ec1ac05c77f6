"""Rule-based extraction of dates and clock times from informal Indonesian chat messages.

Duckling has no Indonesian time dimension and ``dateparser`` misses most colloquial forms
("bsk", "jumat depan", "setengah 10", "jam 3" meaning 15:00), so LAW reads them with rules:
``temporal_dates`` resolves calendar dates against today, ``temporal_clock`` reads clock
times the way a clerk would inside office hours; both modules document their readings.

Every rule is a regex over the message with each whitespace run squeezed to one space;
spans are mapped back, so they are exact character offsets into the original text that Rasa
can use as entity ``start``/``end``. When matches overlap, the longest wins ("besok
lusa" over "besok", "senin minggu depan" over "minggu depan"); for equal spans the rule
listed first wins. Some rules only block their span ("senin lalu", "senin-jumat") so no
shorter rule reads a date into it.

Example:
    >>> [(m.entity, m.text, m.value) for m in extract_temporal(
    ...     "senin depan jam setengah 10 ya", dt.date(2026, 12, 1))]
    [('date', 'senin depan', '2026-12-07'), ('time', 'jam setengah 10', '09:30')]
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from antrean.nlu.temporal_clock import CLOCK_RULES
from antrean.nlu.temporal_dates import DATE_RULES
from antrean.nlu.temporal_words import Rule

DATE = "date"
TIME = "time"
RULES: tuple[Rule, ...] = DATE_RULES + CLOCK_RULES


@dataclass(frozen=True)
class TemporalMatch:
    """One date or time found in a message.

    Attributes:
        entity: ``"date"`` or ``"time"``.
        start: offset of the first character in the original text.
        end: offset just after the last character.
        text: ``text[start:end]`` as typed.
        value: ``YYYY-MM-DD`` for a date, ``HH:MM`` (24 h) for a time.
    """

    entity: str
    start: int
    end: int
    text: str
    value: str


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    order: int
    entity: str
    value: str


_WHITESPACE_RUN = re.compile(r"\s+")


def _squeeze(text: str) -> tuple[str, list[int]]:
    """``text`` with each whitespace run made one space, and where each character came from.

    The rules allow optional whitespace in many places; on a run of thousands of spaces that
    backtracking would take seconds, so the rules only ever see single spaces.
    """
    parts: list[str] = []
    origin: list[int] = []
    position = 0
    for run in _WHITESPACE_RUN.finditer(text):
        parts += [text[position:run.start()], " "]
        origin += [*range(position, run.start()), run.start()]
        position = run.end()
    parts.append(text[position:])
    origin += range(position, len(text))
    return "".join(parts), origin


def _candidates(text: str, today: dt.date) -> list[_Candidate]:
    found = []
    for order, rule in enumerate(RULES):
        for match in rule.pattern.finditer(text):
            value = rule.resolve(match, today)
            if value is not None and match.end() > match.start():
                found.append(_Candidate(match.start(), match.end(), order, rule.entity, value))
    return found


def extract_temporal(text: str, today: dt.date) -> list[TemporalMatch]:
    """Find every date and clock time in ``text``.

    Args:
        text: the message as the applicant typed it.
        today: the office's current date (Asia/Jakarta), the anchor of relative dates.

    Returns:
        Non-overlapping matches sorted by ``start``, with offsets into ``text``.
    """
    if not text:
        return []
    squeezed, origin = _squeeze(text)
    chosen: list[_Candidate] = []
    ranked = sorted(
        _candidates(squeezed, today), key=lambda c: (c.start - c.end, c.order, c.start)
    )
    for candidate in ranked:
        if all(candidate.end <= kept.start or kept.end <= candidate.start for kept in chosen):
            chosen.append(candidate)
    matches = []
    for c in sorted(chosen, key=lambda c: c.start):
        if not c.entity:  # blockers consume their span and say nothing
            continue
        start, end = origin[c.start], origin[c.end - 1] + 1
        matches.append(TemporalMatch(c.entity, start, end, text[start:end], c.value))
    return matches
