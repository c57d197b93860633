"""A run directory's metric logs: ``metrics.csv`` always, TensorBoard events when installed.

``metrics.csv`` has one row per log event (``env_steps``, ``kind`` and the metrics logged). Its
columns are discovered from what is logged: a metric seen for the first time (a new learner's
diagnostic, say) adds a column and the file is rewritten with it, so nothing is dropped.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

INDEX_COLUMNS = ("env_steps", "kind")


class RunLog:
    """Appends rows of metrics against env steps; survives a resume by appending to the same files."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.csv"
        self.columns: list[str] = list(INDEX_COLUMNS)
        if self.path.exists():
            with self.path.open(newline="") as source:
                header = next(csv.reader(source), None)
            if header:
                self.columns = header
        else:
            self._rewrite([])
        self._open()
        self._tensorboard = _tensorboard_writer(run_dir) if tensorboard else None

    def _open(self) -> None:
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns)

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        # Atomic: a SIGKILL while the file is widened (or truncated on resume) must not lose the earlier rows.
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temporary.open("w", newline="") as target:
            writer = csv.DictWriter(target, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, self.path)

    def _read(self) -> list[dict[str, str]]:
        text = self.path.read_text()
        if text and not text.endswith("\n"):  # a row cut short by a kill mid-write: not a row
            text = text[: text.rfind("\n") + 1]
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def write(self, env_steps: int, kind: str, metrics: dict[str, Any]) -> None:
        new = [name for name in metrics if name not in self.columns]
        if new:  # a metric not seen before: widen the file, keeping every earlier row
            self._file.close()
            rows = self._read()
            self.columns += new
            self._rewrite(rows)
            self._open()
        self._writer.writerow({"env_steps": env_steps, "kind": kind, **metrics})
        self._file.flush()
        if self._tensorboard is not None:
            for name, value in metrics.items():
                self._tensorboard.add_scalar(f"{kind}/{name}", value, env_steps)

    def truncate_after(self, env_steps: int) -> None:
        """Drop rows logged after ``env_steps`` (written after the checkpoint a resume starts from); -1 drops all."""
        self._file.close()
        self._rewrite([row for row in self._read() if int(row["env_steps"]) <= env_steps])
        self._open()

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
    """The rows of a run's ``metrics.csv`` (a metric a row did not log is an empty string)."""
    with (run_dir / "metrics.csv").open(newline="") as source:
        return list(csv.DictReader(source))


def read_metric(path: Path, kind: str, name: str) -> list[tuple[int, float]]:
    """(env steps, value) of every row of ``kind`` that logged ``name``; empty when the file does not exist."""
    if not path.is_file():
        return []
    with path.open(newline="") as source:
        rows = list(csv.DictReader(source))
    return [(int(r["env_steps"]), float(r[name])) for r in rows if r.get("kind") == kind and r.get(name)]
