"""Review files of the retraining loop.

They export what the assistant did not understand and import what staff labelled.

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
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from antrean.masking import mask_name, mask_numbers_in_text
from antrean.staff.common import StaffError
from antrean.staff.tracker import FALLBACK_INTENT, TrackerStore

if TYPE_CHECKING:
    from tqdm import tqdm

# Columns of the review file. Staff fill ``intent_benar`` and may correct ``teks``.
COL_TEXT = "teks"
COL_PREDICTED = "intent_tebakan"
COL_CONFIDENCE = "keyakinan"
COL_COUNT = "jumlah"
COL_LABEL = "intent_benar"
REVIEW_COLUMNS = (COL_TEXT, COL_PREDICTED, COL_CONFIDENCE, COL_COUNT, COL_LABEL)

DEFAULT_CONFIDENCE_THRESHOLD = 0.7
# Entities whose text is personal data; masked in exported messages like NIKs and numbers.
PERSONAL_ENTITIES = ("person_name",)
MASK_RUN = re.compile(r"\*{3,}")


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


def normalise(text: str) -> str:
    """The form two messages are compared in: case, punctuation and spacing do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w*#]+", " ", folded).split())


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


def mask_personal_data(text: str, entities: Iterable[dict[str, Any]] = ()) -> str:
    """Mask names the NLU recognised, then every NIK-like or phone-like digit run."""
    spans = sorted(
        (e for e in entities
         if e.get("entity") in PERSONAL_ENTITIES
         and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: e["start"], reverse=True,
    )
    for entity in spans:
        start, end = entity["start"], entity["end"]
        if 0 <= start < end <= len(text):
            text = text[:start] + mask_name(text[start:end]) + text[end:]
    return mask_numbers_in_text(text)


def _prediction(parse_data: dict[str, Any], intent_name: str | None) -> tuple[str, float] | None:
    """(intent, confidence) of a stored parse; a fallback shows the intent it displaced."""
    intent = parse_data.get("intent") or {}
    name = intent.get("name") or intent_name
    confidence = intent.get("confidence")
    if not name or not isinstance(confidence, (int, float)):
        return None
    if name == FALLBACK_INTENT:
        for ranked in parse_data.get("intent_ranking") or []:
            if ranked.get("name") not in (None, FALLBACK_INTENT):
                return ranked["name"], float(ranked.get("confidence") or 0.0)
    return name, float(confidence)


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
    if not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return None
    fell_back = (parse_data.get("intent") or {}).get("name", intent_name) == FALLBACK_INTENT
    prediction = _prediction(parse_data, intent_name)
    if prediction is None:
        return None
    intent, confidence = prediction
    if not fell_back and confidence >= threshold:
        return None
    # Entity offsets refer to the text as typed: mask first, tidy the spacing after.
    masked = mask_personal_data(text, parse_data.get("entities") or [])
    return ReviewItem(" ".join(masked.split()), intent, round(confidence, 3))


# A cell starting with one of these is a formula to a spreadsheet; an applicant could type one.
FORMULA_START = ("=", "+", "-", "@")


def review_rows(items: Iterable[ReviewItem]) -> Iterable[list[object]]:
    for item in items:
        text = "'" + item.text if item.text.startswith(FORMULA_START) else item.text
        yield [text, item.predicted_intent, f"{item.confidence:.2f}", item.count, ""]


# --- training data -----------------------------------------------------------------------
def training_examples(nlu_dir: Path) -> dict[str, str]:
    """Normalised text → intent of every intent example in the NLU files under ``nlu_dir``."""
    from rasa.shared.nlu.training_data.loading import load_data  # seconds to import

    data = load_data(str(nlu_dir))
    return {normalise(m.get("text") or ""): m.get("intent") for m in data.intent_examples}


def domain_intents(domain: Path) -> list[str]:
    """Intent names declared in the domain (a file or a directory of files)."""
    files = sorted(domain.rglob("*.yml")) + sorted(domain.rglob("*.yaml")) if domain.is_dir() \
        else [domain]
    names: list[str] = []
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise StaffError(f"Domain tidak dapat dibaca: {path}: {exc}", 3) from exc
        for entry in content.get("intents") or []:
            name = next(iter(entry)) if isinstance(entry, dict) else entry
            if isinstance(name, str) and name not in names:
                names.append(name)
    if not names:
        raise StaffError(f"Domain {domain} tidak berisi daftar intent.", 3)
    return names


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
    from rasa.shared.nlu.training_data.entities_parser import replace_entities

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
        key = normalise(replace_entities(row.text))
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


NEW_FILE_HEADER = """\
version: "3.1"

# Messages from real conversations, labelled by staff in a review file and added by
# `antrean impor-ulasan` (docs/panduan-petugas.md, "Melatih ulang model"). Each import
# appends a block per intent; edit or delete examples here like in any other NLU file.

nlu:
"""


def render_blocks(added: dict[str, list[str]], source: str, today: dt.date) -> str:
    lines = []
    for intent in sorted(added):
        lines += [f"  # {today.isoformat()}: {source}", f"  - intent: {intent}",
                  "    examples: |"]
        lines += [f"      - {text}" for text in added[intent]]
    return "\n".join(lines) + "\n"


def append_examples(target: Path, added: dict[str, list[str]], source: str,
                    today: dt.date) -> bytes | None:
    """Append the examples to ``target``; returns its previous content (None: it was new)."""
    previous = target.read_bytes() if target.exists() else None
    head = NEW_FILE_HEADER if previous is None else previous.decode("utf-8")
    if head and not head.endswith("\n"):
        head += "\n"
    content = head + render_blocks(added, source, today)
    _check_appended(target, content, added)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return previous


def _check_appended(target: Path, content: str, added: dict[str, list[str]]) -> None:
    """The appended blocks must land in the file's ``nlu`` list, whatever was there before."""
    try:
        parsed = yaml.safe_load(content) or {}
        blocks = parsed.get("nlu") or []
        found = [b.get("intent") for b in blocks[-len(added):] if isinstance(b, dict)]
    except (yaml.YAMLError, AttributeError, TypeError):
        found = []
    if found != sorted(added):
        raise StaffError(
            f"{target} tidak dapat ditambah: bagian 'nlu:' harus menjadi bagian terakhir file. "
            "Perbaiki file itu lalu ulangi impor.", 3)


def restore(target: Path, previous: bytes | None) -> None:
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(previous)
