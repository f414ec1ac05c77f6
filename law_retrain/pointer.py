"""The promoted model as the model Rasa processes start with: ``models/current.tar.gz``.

A promotion (or a roll-back) points the link ``models/current.tar.gz`` at the model it loaded
into the running processes, so a process started or restarted afterwards loads the same one.
Who reads it:

- the systemd units: ``LAW_MODEL=/opt/law/models/current.tar.gz`` (``deploy/law.env.example``);
- ``law-prod`` and ``make run`` / ``make run-prod`` through :func:`launch_model`.

The rule for the launchers: the promoted model wins when it was promoted after the newest
model `make train` wrote (``models/law-<hash>.tar.gz``); a model trained after the promotion
wins over it, because it was trained from the same data and everything changed since (the
labels a promotion taught are in ``data/nlu/reviewed.yml``, which `make train` reads). The
time of a promotion is the link's own time (``lstat``), not its target's. ``current.tar.gz``
may also be a plain file an operator copied there; then it is the model, with its own time.

``python -m law_retrain.pointer [TRAINED]`` prints the model to start with (for the Makefile).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

POINTER_NAME = "current.tar.gz"


def pointer_path(models_dir: Path) -> Path:
    return models_dir / POINTER_NAME


def pointed_model(models_dir: Path) -> Path | None:
    """The model the pointer names (resolved), or None when there is none or it is gone."""
    pointer = pointer_path(models_dir)
    if not pointer.exists():  # also False for a link whose target is gone
        return None
    return pointer.resolve()


def point_to(models_dir: Path, model: Path) -> Path:
    """Point ``models/current.tar.gz`` at ``model``, atomically; returns the pointer.

    The link is relative when the model lies under ``models_dir``, so the project folder can
    move (or be copied to a server) without breaking it.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    model = model.resolve()
    try:
        target = str(model.relative_to(models_dir.resolve()))
    except ValueError:
        target = str(model)
    pointer = pointer_path(models_dir)
    temporary = models_dir / f".{POINTER_NAME}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, pointer)  # a reader sees the old link or the new one, never none
    return pointer


def launch_model(models_dir: Path, trained: Path | None = None) -> Path | None:
    """The model a launcher starts Rasa with.

    Args:
        models_dir: The project's ``models/``.
        trained: The model `make train` made for the current data; by default the newest
            ``law-*.tar.gz`` in ``models_dir``.

    Returns:
        The promoted model when it was promoted after ``trained`` was written (or there is no
        trained model), else ``trained``; None when there is neither.
    """
    if trained is None:
        found = sorted(models_dir.glob("law-*.tar.gz"), key=lambda p: p.stat().st_mtime)
        trained = found[-1] if found else None
    promoted = pointed_model(models_dir)
    if promoted is None:
        return trained if trained is not None and trained.exists() else None
    if trained is None or not trained.exists():
        return promoted
    promoted_at = pointer_path(models_dir).lstat().st_mtime
    return promoted if promoted_at >= trained.stat().st_mtime else trained


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    trained = Path(args[0]) if args else None
    models_dir = trained.parent if trained is not None else Path("models")
    chosen = launch_model(models_dir, trained) or trained  # missing: the launcher says so
    if chosen is None:
        print("no model: run `make train`", file=sys.stderr)
        return 1
    try:
        print(chosen.relative_to(Path.cwd().resolve()))
    except ValueError:
        print(chosen)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
