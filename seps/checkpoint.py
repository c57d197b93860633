"""Checkpoints: tensors and plain data only, loadable with ``torch.load(weights_only=True)``.

``checkpoints/step_<env steps>.pt`` files are written atomically (a temporary file, then
``os.replace``), so a SIGKILL mid-write leaves the previous checkpoints intact. Reading takes the
newest *intact* one: a corrupt or foreign newest file is skipped with a warning, and the
``latest`` pointer is only a name inside ``checkpoints/`` (a pointer to anything else is ignored).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from seps.errors import CheckpointError

logger = logging.getLogger(__name__)

FORMAT = "seps-checkpoint-v1"
CHECKPOINT_DIR = "checkpoints"
POINTER = "latest"
_STEP_FILE = re.compile(r"step_(\d{12})\.pt")


def save_checkpoint(run_dir: Path, state: dict[str, Any], env_steps: int) -> Path:
    """Write ``state`` atomically as ``checkpoints/step_<env_steps>.pt`` and point ``latest`` at it."""
    directory = run_dir / CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step_{env_steps:012d}.pt"
    temporary = path.with_suffix(".tmp")
    torch.save({"format": FORMAT, **state}, temporary)
    # A SIGKILL mid-write leaves only a .tmp file behind: the previous checkpoint stays valid.
    os.replace(temporary, path)
    latest = directory / "latest.pt.tmp"
    latest.write_text(path.name)
    os.replace(latest, directory / POINTER)
    return path


def checkpoint_step(path: Path) -> int:
    """The env steps in a checkpoint's file name."""
    match = _STEP_FILE.fullmatch(path.name)
    if match is None:
        raise CheckpointError(f"{path} is not named like a seps checkpoint (step_<env steps>.pt)")
    return int(match.group(1))


def checkpoint_files(run_dir: Path) -> list[Path]:
    """The run's complete checkpoint files (never a ``.tmp``), newest first; the pointer is checked on the way."""
    directory = run_dir / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    files = sorted(
        (p for p in directory.iterdir() if _STEP_FILE.fullmatch(p.name) and p.is_file() and not p.is_symlink()),
        key=checkpoint_step,
        reverse=True,
    )
    pointer = directory / POINTER
    if pointer.is_file():
        name = pointer.read_text().strip()
        if not _STEP_FILE.fullmatch(name):  # "../../x", "/etc/passwd": confined to checkpoints/
            logger.warning("%s names %r, not a checkpoint of this run directory; ignoring it", pointer, name)
    return files


def latest_checkpoint(run_dir: Path) -> Path:
    """The newest complete checkpoint file of a run directory (it may still be corrupt: see :func:`load_latest`)."""
    files = checkpoint_files(run_dir)
    if not files:
        raise CheckpointError(f"{run_dir} has no checkpoint yet")
    return files[0]


def load_latest(run_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint that loads, and its state; corrupt newer ones are skipped with a warning."""
    skipped: list[str] = []
    for path in checkpoint_files(run_dir):
        try:
            state = load_checkpoint(path)
        except CheckpointError as error:
            skipped.append(f"{path.name} ({error})")
            continue
        if skipped:
            logger.warning(
                "%s: skipped %s; resuming from the newest intact checkpoint %s (step %d)",
                run_dir,
                "; ".join(skipped),
                path.name,
                checkpoint_step(path),
            )
        return path, state
    if skipped:
        raise CheckpointError(f"{run_dir}: no intact checkpoint; tried {'; '.join(skipped)}")
    raise CheckpointError(f"{run_dir} has no checkpoint yet")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, refusing foreign or corrupt files."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except Exception as error:  # torch raises many types for damaged or non-weights files
        raise CheckpointError(
            f"{path} is not a readable seps checkpoint ({type(error).__name__}); "
            "it is corrupt or was not written by seps"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a seps checkpoint (expected format {FORMAT!r})")
    return state
