"""A run directory's metric logs: ``metrics.csv`` always, TensorBoard events when installed."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "env_steps",
    "kind",
    "episode_return",
    "eval_return",
    "eval_return_std",
    "win_rate",
    "eval_win_rate",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "steps_per_second",
)


class RunLog:
    """Appends rows of metrics against env steps; survives a resume by appending to the same files."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.csv"
        new_file = not self.path.exists()
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        if new_file:
            self._writer.writeheader()
        self._tensorboard = _tensorboard_writer(run_dir) if tensorboard else None

    def write(self, env_steps: int, kind: str, metrics: dict[str, Any]) -> None:
        self._writer.writerow({"env_steps": env_steps, "kind": kind, **metrics})
        self._file.flush()
        if self._tensorboard is not None:
            for name, value in metrics.items():
                self._tensorboard.add_scalar(f"{kind}/{name}", value, env_steps)

    def truncate_after(self, env_steps: int) -> None:
        """Drop rows logged after ``env_steps`` (written after the checkpoint a resume starts from)."""
        self._file.close()
        with self.path.open(newline="") as source:
            rows = [row for row in csv.DictReader(source) if int(row["env_steps"]) <= env_steps]
        with self.path.open("w", newline="") as target:
            writer = csv.DictWriter(target, fieldnames=METRIC_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=METRIC_COLUMNS, extrasaction="ignore")

    def close(self) -> None:
        self._file.close()
        if self._tensorboard is not None:
            self._tensorboard.close()


def _tensorboard_writer(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        logger.debug("tensorboard is not installed; logging to metrics.csv only")
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    """The rows of a run's ``metrics.csv``."""
    with (run_dir / "metrics.csv").open(newline="") as source:
        return list(csv.DictReader(source))
