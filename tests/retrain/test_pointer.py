"""The promoted model is the one Rasa processes start with: ``models/current.tar.gz``, and the
rule the launchers (make run, law-prod) use between it and the model `make train` wrote."""
from __future__ import annotations

import os
import subprocess
import sys

from law_retrain.pointer import launch_model, point_to, pointed_model


def touch(path, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model")
    os.utime(path, (mtime, mtime))
    return path


def test_without_a_promotion_the_trained_model_is_used(tmp_path):
    models = tmp_path / "models"
    old, new = touch(models / "law-aaa.tar.gz", 1000), touch(models / "law-bbb.tar.gz", 2000)
    assert launch_model(models) == new
    assert launch_model(models, old) == old
    assert launch_model(tmp_path / "empty") is None


def test_a_promotion_after_training_wins_and_survives_a_move(tmp_path):
    models = tmp_path / "models"
    trained = touch(models / "law-aaa.tar.gz", 1000)
    candidate = touch(models / "latih-ulang" / "kandidat-1.tar.gz", 1500)
    pointer = point_to(models, candidate)
    assert os.readlink(pointer) == "latih-ulang/kandidat-1.tar.gz"  # relative
    assert launch_model(models, trained) == candidate.resolve()
    moved = tmp_path / "elsewhere"
    models.rename(moved)
    assert pointed_model(moved) == (moved / "latih-ulang" / "kandidat-1.tar.gz").resolve()


def test_a_model_trained_after_the_promotion_wins(tmp_path):
    models = tmp_path / "models"
    candidate = touch(models / "latih-ulang" / "kandidat-1.tar.gz", 1000)
    point_to(models, candidate)
    os.utime(models / "current.tar.gz", (2000, 2000), follow_symlinks=False)
    trained = touch(models / "law-ccc.tar.gz", 3000)
    assert launch_model(models, trained) == trained


def test_a_pointer_to_a_deleted_model_is_ignored(tmp_path):
    models = tmp_path / "models"
    trained = touch(models / "law-aaa.tar.gz", 1000)
    candidate = touch(models / "latih-ulang" / "kandidat-1.tar.gz", 1500)
    point_to(models, candidate)
    candidate.unlink()
    assert launch_model(models, trained) == trained


def test_the_makefile_gets_the_choice_on_its_standard_output(tmp_path):
    models = tmp_path / "models"
    trained = touch(models / "law-aaa.tar.gz", 1000)
    candidate = touch(models / "latih-ulang" / "kandidat-1.tar.gz", 1500)
    point_to(models, candidate)
    chosen = subprocess.run([sys.executable, "-m", "law_retrain.pointer", "models/law-aaa.tar.gz"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "models/latih-ulang/kandidat-1.tar.gz"
    assert trained.exists()
