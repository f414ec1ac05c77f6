"""Review files (CSV) of the retraining loop: ``antrean ekspor-ulasan`` and ``impor-ulasan``.

They export what the assistant did not understand and import what staff labelled in a
spreadsheet; the console's review inbox (``law_retrain.inbox``) does the same on a web page.

Export reads the user messages of Rasa's tracker store (table ``events``) that fell back
(intent ``nlu_fallback``) or whose intent confidence was under a threshold, masks personal data
in them, groups them by normalised text and writes a CSV file with an empty ``intent_benar``
column for staff. Import reads that file back and appends the labelled rows to one NLU file
(``data/nlu/reviewed.yml``), refusing unknown intents and skipping rows already present in the
training data.
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from antrean.staff.common import StaffError
from antrean.staff.tracker import TrackerStore
from law_retrain.messages import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    MASK_RUN,
    fell_back,
    masked_text,
    normalise,
    prediction,
    reviewable_text,
)
from law_retrain.training_data import plain_text

if TYPE_CHECKING:
    from tqdm import tqdm

# Columns of the review file. Staff fill ``intent_benar`` and may correct ``teks``.
COL_TEXT = "teks"
COL_PREDICTED = "intent_tebakan"
COL_CONFIDENCE = "keyakinan"
COL_COUNT = "jumlah"
COL_LABEL = "intent_benar"
REVIEW_COLUMNS = (COL_TEXT, COL_PREDICTED, COL_CONFIDENCE, COL_COUNT, COL_LABEL)



class Progress(Protocol):
    """Shows how far a long step is (a progress bar on the terminal)."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class BarProgress:
    """A tqdm progress bar on the terminal (nothing when the output is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: tqdm | None = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=self.label, unit=" pesan", file=sys.stderr,
                        mininterval=0.5, disable=None)

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- export ----------------------------------------------------------------------------
@dataclass
class ReviewItem:
    """One distinct (normalised) message to review."""

    text: str  # as last typed, personal data masked
    predicted_intent: str  # best real intent, also when the message fell back
    confidence: float
    count: int = 1


@dataclass
class ExportResult:
    items: list[ReviewItem]
    scanned: int = 0  # user messages read
    matched: int = 0  # of which fell back or were under the threshold
    already_known: int = 0  # distinct texts left out because they are training examples


def collect_for_review(
    store: TrackerStore,
    threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
    since: dt.datetime | None = None,
    known: Iterable[str] = (),
    progress: Progress | None = None,
) -> ExportResult:
    """Messages that fell back or scored under ``threshold``, grouped by normalised text.

    ``known`` holds normalised training examples: those texts are left out.
    """
    result = ExportResult(items=[])
    if not store.has_events():
        return result
    known_set = set(known)
    groups: dict[str, ReviewItem] = {}
    skipped_known: set[str] = set()
    if progress:
        progress.start(store.count_user_messages(since))
    for message in store.user_messages(since):
        result.scanned += 1
        if progress:
            progress.advance()
        item = _review_item(message.intent_name, message.data, threshold)
        if item is None:
            continue
        result.matched += 1
        key = normalise(item.text)
        if key in known_set:
            skipped_known.add(key)
            continue
        if key in groups:
            item.count += groups[key].count  # the latest wording and prediction win
        groups[key] = item
    if progress:
        progress.finish()
    result.already_known = len(skipped_known)
    result.items = sorted(groups.values(), key=lambda i: (-i.count, i.confidence, i.text))
    return result


def _review_item(intent_name: str | None, data: str | None, threshold: float) -> ReviewItem | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    text = event.get("text")
    parse_data = event.get("parse_data") or {}
    # Button payloads ("/affirm") are not language the model has to learn.
    if not reviewable_text(text):
        return None
    guess = prediction(parse_data, intent_name)
    if guess is None:
        return None
    intent, confidence = guess
    if not fell_back(parse_data, intent_name) and confidence >= threshold:
        return None
    return ReviewItem(masked_text(text, parse_data), intent, round(confidence, 3))


# A cell starting with one of these is a formula to a spreadsheet; an applicant could type one.
FORMULA_START = ("=", "+", "-", "@")


def review_rows(items: Iterable[ReviewItem]) -> Iterable[list[object]]:
    for item in items:
        text = "'" + item.text if item.text.startswith(FORMULA_START) else item.text
        yield [text, item.predicted_intent, f"{item.confidence:.2f}", item.count, ""]


# --- import ------------------------------------------------------------------------------
@dataclass
class ReviewedRow:
    line: int  # line of the file the row ends on (the header is line 1)
    text: str
    intent: str


@dataclass
class ImportResult:
    target: Path
    added: dict[str, list[str]] = field(default_factory=dict)  # intent → new examples
    blank: int = 0  # rows without intent_benar
    duplicates: list[str] = field(default_factory=list)  # one Indonesian note per skipped row
    warnings: list[str] = field(default_factory=list)

    @property
    def added_count(self) -> int:
        return sum(len(texts) for texts in self.added.values())


def _decode(raw: bytes) -> str:
    # Spreadsheet programs on Windows save "CSV" in the ANSI code page unless told otherwise.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_review_file(path: Path) -> list[ReviewedRow]:
    """Rows of a review CSV (comma, semicolon or tab separated, as spreadsheets save it)."""
    try:
        content = _decode(path.read_bytes())
    except OSError as exc:
        raise StaffError(f"File ulasan tidak dapat dibaca: {path}: {exc.strerror}", 2) from exc
    header_line = content.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in (COL_TEXT, COL_LABEL) if c not in header]
    if missing:
        raise StaffError(
            f"File ulasan {path} tidak punya kolom {', '.join(missing)}. Kolom yang diharapkan: "
            f"{', '.join(REVIEW_COLUMNS)} (baris pertama).", 2)
    text_at, label_at = header.index(COL_TEXT), header.index(COL_LABEL)
    rows = []
    for cells in reader:
        if any(c.strip() for c in cells):
            text = " ".join(_cell(cells, text_at).split())
            if text.startswith("'") and text[1:].startswith(FORMULA_START):
                text = text[1:]  # the quote export put before a formula-like text
            rows.append(ReviewedRow(reader.line_num, text, _cell(cells, label_at)))
    return rows


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def plan_import(
    rows: list[ReviewedRow], intents: list[str], existing: dict[str, str], target: Path
) -> ImportResult:
    """Decide what to add; raises ``StaffError`` naming every row with an unknown intent."""
    result = ImportResult(target=target)
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        if not row.intent:
            result.blank += 1
            continue
        if row.intent not in intents:
            close = difflib.get_close_matches(row.intent, intents, n=1)
            hint = f" Maksud Anda '{close[0]}'?" if close else ""
            errors.append(f"Baris {row.line}: intent '{row.intent}' tidak dikenal.{hint}")
            continue
        if not row.text:
            errors.append(f"Baris {row.line}: kolom {COL_TEXT} kosong.")
            continue
        key = normalise(plain_text(row.text))
        if key in existing:
            same = existing[key] == row.intent
            result.duplicates.append(
                f"Baris {row.line}: sudah ada di data latih"
                + ("" if same else f" sebagai intent '{existing[key]}'") + "; dilewati.")
            continue
        if key in seen:
            result.duplicates.append(
                f"Baris {row.line}: sama dengan baris {seen[key]}; dilewati.")
            continue
        seen[key] = row.line
        if MASK_RUN.search(row.text):
            result.warnings.append(
                f"Baris {row.line}: teks masih berisi bagian yang disamarkan (***); sebaiknya "
                "ganti dengan contoh karangan (nama atau nomor fiktif).")
        result.added.setdefault(row.intent, []).append(row.text)
    if errors:
        raise StaffError(
            "Impor dibatalkan, tidak ada yang ditulis. Perbaiki kolom intent_benar lalu ulangi:\n"
            + "\n".join(f"  {e}" for e in errors)
            + f"\nIntent yang dikenal: {', '.join(sorted(intents))}.", 1)
    return result
