"""One candidate training at a time, whoever asks: the console (any of its processes) or
``antrean latih-kandidat``; the lock goes with the job's process and is free when it ends."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from antrean.staff.common import StaffError
from law_retrain import job
from tests.retrain.test_retrain import project  # noqa: F401 - fixture


def test_a_second_training_is_told_one_is_running(project):  # noqa: F811
    held = job.try_lock(project)
    assert held is not None
    try:
        assert job.start(project, "budi") is False
        with pytest.raises(StaffError, match="sedang berjalan"):
            with job.training_lock(project):
                pass
        # Also from another process (another console worker, or the command).
        other = subprocess.run([sys.executable, "-m", "law_retrain.job", "--proyek",
                                str(project.root), "--oleh", "sri"],
                               capture_output=True, text=True, timeout=120)
        assert other.returncode == job.BUSY_EXIT and "sedang berjalan" in other.stderr
    finally:
        held.close()
    with job.training_lock(project):
        pass


def test_a_failed_job_says_why_and_frees_the_lock(project):  # noqa: F811
    (project.root / "config.yml").unlink()  # training cannot start without it
    assert job.start(project, "budi") is True
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = job.read_status(project)
        if status and not status.running:
            break
        time.sleep(0.5)
    assert status is not None and status.state == job.FAILED and status.by == "budi"
    assert "config.yml" in status.message
    assert job.try_lock(project) is not None
