#!/usr/bin/env python
"""Benchmark of the NLU: parse latency of a trained model and NLU training time.

1. Parse latency: the model is loaded once through ``rasa.core.agent.Agent``; after a few
   warm-up parses, ``--parses`` messages drawn (with a fixed seed) from the held-out test set
   ``tests/nlu/test_nlu.yml`` go one by one through ``agent.parse_message``. Prints model load
   time, the first parse, and p50/p95/p99/max.
2. Training time: ``rasa train nlu`` of the project's ``config.yml`` and ``data/nlu`` into a
   temporary folder with an empty training cache (both deleted afterwards), as wall-clock
   and CPU seconds. The machine may be shared, so the CPU time is the steadier figure.
   ``--skip-train`` leaves it out.

A script that prints figures, not a test.

Usage::

    .venv/bin/python bench/bench_nlu.py                       # newest models/law-*.tar.gz
    .venv/bin/python bench/bench_nlu.py --model models/law-abc.tar.gz --parses 1000
    .venv/bin/python bench/bench_nlu.py --skip-train
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nlu_report import (
    ROOT,
    TEST_SET,
    find_model,
    load_agent,
    load_test_set,
    parse_timed,
    quiet_rasa,
)

WARM_UP = 20


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of ``values`` (share in 0..1)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def bench_parse(model: Path, parses: int, seed: int) -> None:
    texts = [text for text, _ in load_test_set(TEST_SET)]
    rng = random.Random(seed)
    mix = [rng.choice(texts) for _ in range(parses)]

    start = time.perf_counter()
    agent = load_agent(model)
    load_seconds = time.perf_counter() - start
    warm = parse_timed(agent, texts[:WARM_UP])
    timed = [seconds * 1000 for _, seconds in parse_timed(agent, mix)]

    print(f"model: {model.relative_to(ROOT) if model.is_relative_to(ROOT) else model}")
    print(f"load: {load_seconds:.1f} s; first parse {warm[0][1] * 1000:.0f} ms")
    print(f"parse latency over {parses} messages from the test set ({len(texts)} distinct, "
          f"seed {seed}, after {WARM_UP} warm-up parses):")
    print("  p50 {:.1f} ms  p95 {:.1f} ms  p99 {:.1f} ms  max {:.1f} ms  mean {:.1f} ms".format(
        percentile(timed, 0.50), percentile(timed, 0.95), percentile(timed, 0.99),
        max(timed), sum(timed) / len(timed)))
    print(f"  throughput one at a time: {1000 * len(timed) / sum(timed):.0f} parses/s")


def bench_training() -> None:
    rasa = str(Path(sys.executable).with_name("law-rasa"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory(prefix="law-bench-nlu-") as out:
        # An empty training cache of its own: Rasa would otherwise restore unchanged
        # components from ~/.rasa/cache and time nothing.
        env["RASA_CACHE_DIRECTORY"] = str(Path(out) / "cache")
        command = [rasa, "train", "nlu", "--config", "config.yml", "--nlu", "data/nlu",
                   "--out", out, "--fixed-model-name", "bench-nlu"]
        load_before = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            sys.exit(f"rasa train nlu failed:\n{result.stderr[-3000:]}")
        size = sum(p.stat().st_size for p in Path(out).glob("*.tar.gz"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\nNLU training (`rasa train nlu`, config.yml, data/nlu): wall {wall:.0f} s, "
          f"CPU {cpu:.0f} s on {os.cpu_count()} cores (load average before: "
          f"{load_before:.1f}); model {size / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model file or folder (default: LAW_MODEL, models/)")
    parser.add_argument("--parses", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-train", action="store_true", help="leave out the training time")
    args = parser.parse_args()

    quiet_rasa()
    bench_parse(find_model(args.model), args.parses, args.seed)
    if not args.skip_train:
        bench_training()


if __name__ == "__main__":
    main()
