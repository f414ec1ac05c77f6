"""Process figures for the benchmarks: resident memory, CPU time, a py-spy profile summary.

Read from ``/proc`` (Linux); py-spy is installed into the venv for measurement only
(``pip install py-spy``), never a dependency: without it there is no profile, nothing fails.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, MB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def start_profiler(pid: int, raw: Path) -> subprocess.Popen | None:
    """py-spy (installed for measurement only, not a dependency) sampling the Rasa process."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("  (py-spy is not installed: no profile)")
        return None
    return subprocess.Popen([py_spy, "record", "-p", str(pid), "-r", "50", "-f", "raw",
                             "-o", str(raw)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_profile(name: str, raw: Path, top: int = 25) -> None:
    """Inclusive share of the samples per function of Rasa, the project, SQLAlchemy, TF."""
    time.sleep(0.5)
    if not raw.exists():
        return
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            if any(part in frame for part in ("rasa/", "addons/", "actions/", "antrean/",
                                              "sqlalchemy/", "tensorflow/", "sanic/")):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
    print(f"  profile of {name} ({total} samples at 50 Hz, inclusive share):")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * count / max(total, 1):5.1f} %  {frame[:110]}")
