"""Checkpoints: tensors and plain data only, loadable with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from seps.errors import CheckpointError

FORMAT = "seps-checkpoint-v1"
CHECKPOINT_DIR = "checkpoints"


def save_checkpoint(run_dir: Path, state: dict[str, Any], env_steps: int) -> Path:
    """Write ``state`` atomically as ``checkpoints/step_<env_steps>.pt`` and point ``latest.pt`` at it."""
    directory = run_dir / CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step_{env_steps:012d}.pt"
    temporary = path.with_suffix(".tmp")
    torch.save({"format": FORMAT, **state}, temporary)
    # A SIGKILL mid-write leaves only a .tmp file behind: the previous checkpoint stays valid.
    os.replace(temporary, path)
    latest = directory / "latest.pt.tmp"
    latest.write_text(path.name)
    os.replace(latest, directory / "latest")
    return path


def latest_checkpoint(run_dir: Path) -> Path:
    """The newest complete checkpoint of a run directory."""
    pointer = run_dir / CHECKPOINT_DIR / "latest"
    if not pointer.is_file():
        raise CheckpointError(f"{run_dir} has no checkpoint; was the run started with seps train?")
    return run_dir / CHECKPOINT_DIR / pointer.read_text().strip()


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
