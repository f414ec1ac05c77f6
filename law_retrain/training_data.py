"""The project's training data as the review reads and extends it.

Reading the NLU files here is plain YAML (the format of Rasa 3 ``nlu:`` files), so the console
can check a label against the training data without importing Rasa; ``rasa data validate``
remains the final check before anything is trained. New examples are appended to one file,
``data/nlu/reviewed.yml``, one block per intent with a comment saying when, from where and
(from the console) by whom.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import yaml

from antrean.staff.common import StaffError
from law_retrain.messages import normalise

# ``[text](entity)``, ``[text](entity:value)`` or ``[text]{"entity": …, "value": …}``.
ANNOTATION = re.compile(r"\[(?P<text>[^\]\[]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


def plain_text(example: str) -> str:
    """An example without its entity annotations: ``[hilang](service_type)`` → ``hilang``."""
    return ANNOTATION.sub(lambda m: m.group("text"), example)


def _example_lines(block: dict) -> list[str]:
    examples = block.get("examples")
    if isinstance(examples, str):
        return [line.strip()[2:].strip() for line in examples.splitlines()
                if line.strip().startswith("- ")]
    if isinstance(examples, list):  # the long form: - text: "…" (metadata: …)
        return [str(e.get("text", "")) if isinstance(e, dict) else str(e) for e in examples]
    return []


def training_examples(nlu_dir: Path) -> dict[str, str]:
    """Normalised text → intent of every intent example in the NLU files under ``nlu_dir``."""
    files = [nlu_dir] if nlu_dir.is_file() else sorted(
        [*nlu_dir.rglob("*.yml"), *nlu_dir.rglob("*.yaml")])
    found: dict[str, str] = {}
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise StaffError(f"Data latih tidak dapat dibaca: {path}: {exc}", 3) from exc
        for block in content.get("nlu") or [] if isinstance(content, dict) else []:
            if isinstance(block, dict) and isinstance(block.get("intent"), str):
                for example in _example_lines(block):
                    found.setdefault(normalise(plain_text(example)), block["intent"])
    return found


def domain_intents(domain: Path) -> list[str]:
    """Intent names declared in the domain (a file or a directory of files)."""
    return _domain_names(domain, "intents", "intent")


def domain_entities(domain: Path) -> list[str]:
    """Entity names declared in the domain."""
    return _domain_names(domain, "entities", "entitas", required=False)


def _domain_names(domain: Path, key: str, what: str, required: bool = True) -> list[str]:
    files = sorted(domain.rglob("*.yml")) + sorted(domain.rglob("*.yaml")) if domain.is_dir() \
        else [domain]
    names: list[str] = []
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise StaffError(f"Domain tidak dapat dibaca: {path}: {exc}", 3) from exc
        for entry in content.get(key) or []:
            name = next(iter(entry)) if isinstance(entry, dict) else entry
            if isinstance(name, str) and name not in names:
                names.append(name)
    if required and not names:
        raise StaffError(f"Domain {domain} tidak berisi daftar {what}.", 3)
    return names


NEW_FILE_HEADER = """\
version: "3.1"

# Messages from real conversations, labelled by staff (the console's review, or a review
# file and `antrean impor-ulasan`; docs/panduan-petugas.md, "Melatih ulang model"). Each
# import appends a block per intent; edit or delete examples here like in any other NLU file.

nlu:
"""


def _example_line(text: str) -> str:
    # A block scalar keeps the text as typed; only a leading character YAML would read
    # differently inside "- …" needs care, and Rasa reads the example after "- " verbatim.
    return f"      - {text}"


def render_blocks(added: dict[str, list[str]], source: str, today: dt.date | dt.datetime
                  ) -> str:
    lines = []
    stamp = today.isoformat(timespec="minutes") if isinstance(today, dt.datetime) \
        else today.isoformat()
    for intent in sorted(added):
        lines += [f"  # {stamp}: {source}", f"  - intent: {intent}", "    examples: |"]
        lines += [_example_line(text) for text in added[intent]]
    return "\n".join(lines) + "\n"


def append_examples(target: Path, added: dict[str, list[str]], source: str,
                    today: dt.date | dt.datetime) -> bytes | None:
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


def annotate(text: str, spans: list[tuple[int, int, str, str | None]]) -> str:
    """``text`` with entity annotations for ``(start, end, entity, value)`` spans."""
    out, last = [], 0
    for start, end, entity, value in sorted(spans):
        out.append(text[last:start])
        word = text[start:end]
        if value and value != word:
            out.append(f"[{word}]" + json.dumps({"entity": entity, "value": value}))
        else:
            out.append(f"[{word}]({entity})")
        last = end
    out.append(text[last:])
    return "".join(out)
