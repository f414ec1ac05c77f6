"""Labels given in the console's review: checked at once, written to the training data in a batch.

A supervisor labels a message with an intent of the catalogue (and, optionally, entities
marked on its words) or discards it as noise. A label is checked as it is given, as ``antrean
impor-ulasan`` checks a review file: an intent the domain does not declare is refused, an
entity that is not one a supervisor may mark (or a span that is not whole words) is refused,
and a text already in the training data or already labelled is skipped with the reason. Labels
wait in ``models/latih-ulang/label-ulasan.json`` until a candidate is trained: then they are
appended to ``data/nlu/reviewed.yml`` (one block per intent and labeller, the comment naming
who and when) and ``rasa data validate`` checks the whole data; when it fails the file is
restored and the labels keep waiting. Every change holds a file lock, as several console
processes may label at once.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from antrean.staff.common import StaffError
from law_retrain.messages import MASK_RUN, normalise
from law_retrain.models import ProjectPaths
from law_retrain.training_data import (
    annotate,
    append_examples,
    domain_entities,
    domain_intents,
    plain_text,
    restore,
    training_examples,
)

LABELS_FILE = "label-ulasan.json"
WAITING, WRITTEN = "menunggu", "ditulis"

# The entities a supervisor marks (SPEC "Entities"); dates, times, NIKs and codes are found
# by rules and never annotated by hand. Values: the normalised value the NLU must give.
MARKABLE_ENTITIES: dict[str, tuple[str, ...] | None] = {
    "service_type": ("baru", "penggantian", "hilang", "rusak"),
    "passport_type": ("biasa", "elektronik"),
    "applicant_count": ("1", "2", "3", "4", "5"),
    "person_name": None,  # the name as typed
}


@dataclass
class Span:
    start: int
    end: int
    entity: str
    value: str | None = None  # None: the words themselves


@dataclass
class Label:
    text: str  # as labelled (masked parts possibly replaced by the supervisor)
    intent: str
    by: str
    at: str  # ISO
    entities: list[Span] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # other wordings of the group
    state: str = WAITING
    written_at: str | None = None

    @property
    def examples(self) -> list[str]:
        """What goes into the training data.

        The annotated text, and without entities the group's other wordings too (annotating
        those is not asked of the supervisor).
        """
        main = annotate(self.text, [(s.start, s.end, s.entity, s.value) for s in self.entities])
        return [main] if self.entities else [main, *self.variants]


@dataclass
class Discarded:
    text: str
    by: str
    at: str


@dataclass
class LabelBook:
    """The labels and discards of the review, kept beside the models."""

    labels: list[Label] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)

    def hidden(self) -> set[str]:
        """Normalised texts the inbox no longer shows."""
        keys = {normalise(d.text) for d in self.discarded}
        for label in self.labels:
            keys.add(normalise(label.text))
            keys.update(normalise(v) for v in label.variants)
        return keys

    @property
    def waiting(self) -> list[Label]:
        return [label for label in self.labels if label.state == WAITING]


def _path(paths: ProjectPaths) -> Path:
    return paths.retrain / LABELS_FILE


def load_book(paths: ProjectPaths) -> LabelBook:
    path = _path(paths)
    if not path.exists():
        return LabelBook()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = [Label(**{**item, "entities": [Span(**s) for s in item.get("entities", [])]})
                  for item in data.get("labels", [])]
        return LabelBook(labels, [Discarded(**d) for d in data.get("discarded", [])])
    except (ValueError, TypeError) as exc:
        raise StaffError(f"Daftar label rusak: {path}: {exc}", 3) from exc


@contextlib.contextmanager
def editing(paths: ProjectPaths) -> Iterator[LabelBook]:
    """The book under an exclusive lock; saved when the block ends without an error."""
    paths.retrain.mkdir(parents=True, exist_ok=True)
    with (paths.retrain / f".{LABELS_FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        book = load_book(paths)
        yield book
        temporary = _path(paths).with_suffix(".tmp")
        temporary.write_text(json.dumps(
            {"labels": [asdict(label) for label in book.labels],
             "discarded": [asdict(d) for d in book.discarded]}, indent=1, ensure_ascii=False),
            encoding="utf-8")
        temporary.replace(_path(paths))


# --- checking one label ------------------------------------------------------------------
@dataclass
class Checked:
    """The outcome of a label: saved or skipped, with what staff should know."""

    saved: bool
    message: str  # Indonesian
    warnings: list[str] = field(default_factory=list)


WORD = re.compile(r"\w")


def check_spans(text: str, spans: list[Span], allowed: list[str]) -> list[str]:
    """Problems with the marked entities (Indonesian), empty when they are fine."""
    problems = []
    taken: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if span.entity not in MARKABLE_ENTITIES or span.entity not in allowed:
            problems.append(f"entitas '{span.entity}' tidak dapat ditandai; pilih salah satu: "
                            + ", ".join(e for e in MARKABLE_ENTITIES if e in allowed))
            continue
        if not 0 <= span.start < span.end <= len(text) or not text[span.start:span.end].strip():
            problems.append(f"tanda {span.entity} berada di luar teks")
            continue
        inside_word = (span.start > 0 and WORD.match(text[span.start - 1])
                       and WORD.match(text[span.start])) or (
            span.end < len(text) and WORD.match(text[span.end]) and WORD.match(text[span.end - 1]))
        if inside_word:
            problems.append(f"tanda {span.entity} harus mencakup kata utuh: "
                            f"'{text[span.start:span.end]}'")
        if any(span.start < end and start < span.end for start, end in taken):
            problems.append(f"tanda {span.entity} bertumpuk dengan tanda lain")
        taken.append((span.start, span.end))
        values = MARKABLE_ENTITIES[span.entity]
        if values is not None and (span.value or "") not in values:
            problems.append(f"nilai {span.entity} harus salah satu dari: {', '.join(values)}")
    return problems


def add_label(paths: ProjectPaths, text: str, intent: str, by: str, now: dt.datetime,
              entities: list[Span] | None = None, variants: list[str] | None = None
              ) -> Checked:
    """Check a label and keep it for the next training.

    Raises:
        StaffError: The intent or an entity is not one of the catalogue (nothing kept).
    """
    text = " ".join(text.split())
    spans = entities or []
    intents = domain_intents(paths.domain)
    if intent not in intents:
        raise StaffError(f"Intent '{intent}' tidak dikenal; pilih dari daftar.", 1)
    if not text:
        raise StaffError("Teks kosong; tidak ada yang disimpan.", 1)
    problems = check_spans(text, spans, domain_entities(paths.domain))
    if problems:
        raise StaffError("Label tidak disimpan: " + "; ".join(problems) + ".", 1)
    key = normalise(plain_text(text))
    existing = training_examples(paths.nlu) if paths.nlu.exists() else {}
    if key in existing:
        same = existing[key] == intent
        return Checked(False, "Sudah ada di data latih" + (
            "" if same else f" sebagai intent '{existing[key]}'") + "; dilewati.")
    warnings = []
    if MASK_RUN.search(text):
        warnings.append("Teks masih berisi bagian yang disamarkan (***); sebaiknya ganti "
                        "dengan contoh karangan (nama atau nomor fiktif).")
    with editing(paths) as book:
        for label in book.labels:
            if normalise(plain_text(label.text)) == key:
                return Checked(False, f"Sudah diberi label '{label.intent}' oleh {label.by}; "
                               "dilewati.")
        others = [v for v in dict.fromkeys(variants or [])
                  if normalise(v) != key and normalise(v) not in existing]
        book.labels.append(Label(text, intent, by, now.isoformat(timespec="seconds"), spans,
                                 others))
    return Checked(True, f"Disimpan sebagai {intent}; ditulis ke data latih saat model "
                   "kandidat dilatih.", warnings)


def discard(paths: ProjectPaths, texts: list[str], by: str, now: dt.datetime) -> None:
    """Mark texts as noise: the inbox no longer shows them; nothing is learnt from them."""
    with editing(paths) as book:
        for text in texts:
            book.discarded.append(Discarded(text, by, now.isoformat(timespec="seconds")))


# --- writing the batch -------------------------------------------------------------------
@dataclass
class Written:
    count: int  # examples written
    labels: list[Label]


def write_waiting(paths: ProjectPaths, now: dt.datetime, validate: bool = True) -> Written:
    """Append the waiting labels to ``data/nlu/reviewed.yml``; ``rasa data validate`` after.

    Raises:
        StaffError: The data does not validate; the file is as before, the labels still wait.
    """
    from law_retrain.training import validate_project, validation_errors

    with editing(paths) as book:
        waiting = book.waiting
        if not waiting:
            return Written(0, [])
        previous = paths.reviewed.read_bytes() if paths.reviewed.exists() else None
        count = 0
        for by in dict.fromkeys(label.by for label in waiting):
            added: dict[str, list[str]] = {}
            for label in waiting:
                if label.by == by:
                    added.setdefault(label.intent, []).extend(label.examples)
                    count += len(label.examples)
            append_examples(paths.reviewed, added, f"konsol, label oleh {by}", now)
        if validate:
            check = validate_project(paths, ticker=False)
            if check.returncode != 0:
                restore(paths.reviewed, previous)
                raise StaffError(
                    "rasa data validate menemukan masalah; label belum ditulis ke data latih "
                    "dan tetap menunggu:\n" + "\n".join(validation_errors(check)), 1)
        stamp = now.isoformat(timespec="seconds")
        for label in waiting:
            label.state, label.written_at = WRITTEN, stamp
    return Written(count, waiting)
