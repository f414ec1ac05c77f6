#!/usr/bin/env python
"""The FallbackClassifier thresholds, chosen from data.

Parses the held-out test set (``tests/nlu/test_nlu.yml``) and a list of out-of-distribution
messages (gibberish, other scripts and languages, neighbouring topics that no intent covers)
with a trained model, then prints:

1. the confidence distribution of the classifier's top intent for correct predictions, wrong
   predictions and out-of-distribution messages;
2. for each ``threshold`` / ``ambiguity_threshold`` pair, how many correct predictions the
   fallback would reject and how many wrong ones it would let through, and the pair that
   costs least.

The FallbackClassifier answers ``nlu_fallback`` when the top confidence is below
``threshold`` or the top two are closer than ``ambiguity_threshold``. Costs:

* rejected correct: a test message the model got right, sent to the fallback ("please
  rephrase") — cost 1;
* accepted wrong: a test message the model got wrong, or an out-of-distribution message
  taken as an in-scope intent, acted on — cost 1 (``--wrong-cost`` to weigh it more).
  Out-of-distribution messages read as ``out_of_scope`` are fine either way: the bot then
  says it does not handle that.

Ties go to the pair that rejects fewer correct messages, then to the pair nearest the
settings in ``config.yml``.

Usage::

    .venv/bin/python bench/nlu_threshold.py                   # newest models/law-*.tar.gz
    .venv/bin/python bench/nlu_threshold.py --model models/law-abc.tar.gz --wrong-cost 2
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml
from nlu_report import (
    ROOT,
    TEST_SET,
    Prediction,
    find_model,
    load_agent,
    load_test_set,
    predict,
    quiet_rasa,
)

OUT_OF_SCOPE = "out_of_scope"
THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 20)]
AMBIGUITIES = [0.0, 0.05, 0.1, 0.15, 0.2]

# Messages no intent is meant for. None of them (nor a near copy) is in data/nlu/.
OUT_OF_DISTRIBUTION = [
    # gibberish, noise, other scripts
    "asdasd", "qwertyuiop", "jkjkjk", "zzzzzz", "hmmmm", "....", "!!!", "??", "ok?k?",
    "123456", "000", "+62", "😀😀", "🤔", "😡😡😡", "xyz abc", "lorem ipsum dolor sit amet",
    "مرحبا كيف حالك", "السلام عليكم ورحمة الله", "你好", "こんにちは", "привет",
    "ajsdh aksjd aksjdh", "p p p p p p", "test", "tes tes 123",
    # English chit-chat
    "what is the meaning of life", "how old are you", "can you recommend a good movie",
    # neighbouring topics: other offices, other errands, other documents
    "cara bikin paspor di kedutaan di luar negeri", "mau daftar haji reguler",
    "nomor rekening buat transfer zakat", "cara cek status pengiriman paket ke luar negeri",
    "harga emas hari ini", "jadwal kereta ke bandung", "nilai tukar dolar berapa",
    "cara ganti nomor hp di whatsapp", "password email saya lupa",
    "mau laporan kehilangan dompet di kantor polisi", "bikin surat keterangan domisili",
    "perpanjang stnk online", "daftar ulang kuliah kapan", "jadwal imunisasi anak di puskesmas",
    "syarat nikah di luar negeri", "tiket konser masih ada?", "ongkir jakarta surabaya berapa",
    "cara klaim asuransi mobil", "mau jual motor bekas", "kapan gajian",
]


@dataclass(frozen=True)
class Outcome:
    rejected_correct: int
    accepted_wrong: int
    rejected_wrong: int

    def cost(self, wrong_cost: float) -> float:
        return self.rejected_correct + wrong_cost * self.accepted_wrong


def rejected(p: Prediction, threshold: float, ambiguity: float) -> bool:
    """Whether the prediction goes to the fallback with these FallbackClassifier settings.

    The UnfamiliarInputClassifier rejects what it rejects whatever the thresholds.
    """
    return bool(p.unfamiliar) or p.confidence < threshold or (
        p.confidence - p.runner_up) < ambiguity


def outcome(predictions: list[Prediction], threshold: float, ambiguity: float) -> Outcome:
    """Counts what the fallback settings do to the predictions.

    A test-set message is right when the model found its intent; an out-of-distribution
    message is right read as out_of_scope, and sending it to the fallback costs nothing.
    """
    rejected_correct = accepted_wrong = rejected_wrong = 0
    for p in predictions:
        gone = rejected(p, threshold, ambiguity)
        right = p.intent == (p.gold or OUT_OF_SCOPE)
        if right:
            rejected_correct += gone and p.gold is not None
        elif gone:
            rejected_wrong += 1
        else:
            accepted_wrong += 1
    return Outcome(rejected_correct, accepted_wrong, rejected_wrong)


def current_settings() -> tuple[float, float]:
    """The FallbackClassifier settings in config.yml."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    for component in config["pipeline"]:
        if component["name"] == "FallbackClassifier":
            return float(component.get("threshold", 0.3)), float(
                component.get("ambiguity_threshold", 0.1))
    return 0.0, 0.0


def print_distribution(groups: dict[str, list[float]]) -> None:
    edges = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01]
    print("top-intent confidence, count per bucket:")
    print(f"{'bucket':12s}" + "".join(f"{name:>16s}" for name in groups))
    for low, high in zip(edges, edges[1:]):
        label = f"[{low:.2f},{min(high, 1.0):.2f}{']' if high > 1 else ')'}"
        counts = [sum(1 for c in values if low <= c < high) for values in groups.values()]
        print(f"{label:12s}" + "".join(f"{n:16d}" for n in counts))
    for name, values in groups.items():
        if values:
            ordered = sorted(values)
            print(f"  {name}: n={len(values)}, median {ordered[len(ordered) // 2]:.3f}, "
                  f"min {ordered[0]:.3f}")


def print_sweep(predictions: list[Prediction], wrong_cost: float) -> tuple[float, float]:
    """Prints the cost table; returns the cheapest (threshold, ambiguity_threshold)."""
    configured = current_settings()
    best: tuple[float, int, float, float, float] | None = None
    print(f"\ncost = rejected correct + {wrong_cost:g} x accepted wrong "
          f"(rejected/accepted counts per threshold; columns: ambiguity_threshold)")
    print(f"{'threshold':>9s}" + "".join(f"{'amb ' + format(a, '.2f'):>19s}" for a in AMBIGUITIES))
    for threshold in THRESHOLDS:
        cells = []
        for ambiguity in AMBIGUITIES:
            result = outcome(predictions, threshold, ambiguity)
            cost = result.cost(wrong_cost)
            # ties: fewer correct messages rejected, then the settings nearest config.yml's
            moved = abs(threshold - configured[0]) + abs(ambiguity - configured[1])
            key = (cost, result.rejected_correct, round(moved, 4), threshold, ambiguity)
            best = key if best is None or key < best else best
            mark = "*" if (threshold, ambiguity) == configured else " "
            counts = f"{result.rejected_correct:4d} /{result.accepted_wrong:4d}"
            cells.append(f"{counts} ={cost:5.1f}{mark}")
        print(f"{threshold:9.2f}" + "".join(f"{cell:>19s}" for cell in cells))
    assert best is not None
    print(f"(* = config.yml: threshold {configured[0]}, ambiguity_threshold {configured[1]})")
    return best[3], best[4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model file or folder (default: LAW_MODEL, models/)")
    parser.add_argument("--test-set", type=Path, default=TEST_SET)
    parser.add_argument("--wrong-cost", type=float, default=1.0,
                        help="cost of acting on a wrong intent, relative to a needless fallback")
    args = parser.parse_args()

    quiet_rasa()
    model = find_model(args.model)
    print(f"model: {model.relative_to(ROOT) if model.is_relative_to(ROOT) else model}")
    examples = load_test_set(args.test_set) + [(text, None) for text in OUT_OF_DISTRIBUTION]
    predictions = predict(load_agent(model), examples)

    in_set = [p for p in predictions if p.gold]
    ood = [p for p in predictions if not p.gold]
    readable = [p for p in ood if not p.unfamiliar]
    print(f"{len(in_set)} test-set messages ({sum(bool(p.unfamiliar) for p in in_set)} rejected "
          f"as unfamiliar input), {len(ood)} out-of-distribution messages "
          f"({len(ood) - len(readable)} rejected as unfamiliar input, "
          f"{sum(p.intent == OUT_OF_SCOPE for p in readable)} read as out_of_scope)\n")
    print_distribution({
        "test correct": [p.confidence for p in in_set if p.intent == p.gold],
        "test wrong": [p.confidence for p in in_set if p.intent != p.gold],
        "OOD in-scope": [p.confidence for p in readable if p.intent != OUT_OF_SCOPE],
        "OOD oos": [p.confidence for p in readable if p.intent == OUT_OF_SCOPE],
    })
    threshold, ambiguity = print_sweep(predictions, args.wrong_cost)
    chosen = outcome(predictions, threshold, ambiguity)
    print(f"\ncheapest: threshold {threshold}, ambiguity_threshold {ambiguity} "
          f"(rejects {chosen.rejected_correct} correct, lets {chosen.accepted_wrong} wrong "
          f"through, catches {chosen.rejected_wrong} wrong)")
    print("\nOOD messages taken as an in-scope intent (confidence, intent, text):")
    for p in sorted(readable, key=lambda p: -p.confidence):
        if p.intent != OUT_OF_SCOPE:
            print(f"  {p.confidence:.2f}  {p.intent:20s} {p.text[:60]}")


if __name__ == "__main__":
    main()
