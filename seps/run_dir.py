"""``RunDir``: the one owner of a run directory's layout, its config round trip and its records.

A run directory holds::

    config.json        the ExperimentConfig (components as names or {'class', 'options'})
    partition.json     the partition: labels, K, groups, scores, true types, ARI, append_agent_ids
    partitions.jsonl   the partition history: the first one (step 0) and every re-partition check
    embeddings.npz     the agents' codes, when the partition was learned from data
    metrics.csv        one row per log event, columns discovered from what is logged
    summary.json       the RunSummary, written when the run finishes
    checkpoints/       step_<env steps>.pt and the ``latest`` pointer

Every run directory with a ``config.json`` can be resumed: from its newest intact checkpoint, else
from its partition (training restarts at step 0), else from the start (pre-training again).

A sweep's training cell is an ordinary run directory (plus ``cell.json`` and ``done.json``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from seps.checkpoint import checkpoint_files, latest_checkpoint, load_latest
from seps.config import ExperimentConfig, from_plain, to_plain
from seps.errors import CheckpointError, ConfigError
from seps.pipeline import save_partition, write_text_atomic
from seps.records import Embeddings, Partition, RunSummary

CONFIG = "config.json"
PARTITION = "partition.json"
PARTITIONS = "partitions.jsonl"
METRICS = "metrics.csv"
SUMMARY = "summary.json"


class RunDir:
    """A run directory on disk (it need not exist yet)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @classmethod
    def create(cls, root: str | Path, name: str) -> RunDir:
        """A new, empty directory ``root/name`` (``-1``, ``-2``, ... appended when it exists)."""
        base = Path(root) / name.replace(":", "_")
        path, suffix = base, 1
        while path.exists():
            path, suffix = base.with_name(f"{base.name}-{suffix}"), suffix + 1
        try:
            path.mkdir(parents=True)
        except OSError as error:
            message = f"cannot create the run directory {path}: {error.strerror}; choose another run_root"
            raise ConfigError(message) from None
        return cls(path)

    @classmethod
    def for_config(cls, config: ExperimentConfig) -> RunDir:
        """A new run directory under ``config.run_root`` named after method, env, seed and the time."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return cls.create(config.run_root, f"{config.method}-{config.env}-{config.seed}-{stamp}")

    # -- what is there -------------------------------------------------------------------------------------

    def is_run(self) -> bool:
        """True when the directory holds a started run (its config and partition)."""
        return (self.path / CONFIG).is_file() and self.has_partition()

    def has_partition(self) -> bool:
        return (self.path / PARTITION).is_file()

    def has_checkpoint(self) -> bool:
        return bool(checkpoint_files(self.path))

    def latest_checkpoint(self) -> Path:
        return latest_checkpoint(self.path)

    def load_latest(self) -> dict[str, Any]:
        """The state of the newest intact checkpoint (a corrupt newer one is skipped with a warning)."""
        return load_latest(self.path)[1]

    def check_resumable(self) -> None:
        """Raise :class:`CheckpointError` unless the directory holds a run (its ``config.json``)."""
        if not (self.path / CONFIG).is_file():
            raise CheckpointError(f"{self.path} is not a seps run directory (no {CONFIG})")

    # -- the config round trip -------------------------------------------------------------------------------

    def write_config(self, config: ExperimentConfig) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / CONFIG
        write_text_atomic(path, json.dumps(to_plain(config), indent=2))
        return path

    def read_config(self, **overrides: Any) -> ExperimentConfig:
        """The config the run was started with (``overrides``, e.g. a new ``total_steps``, replace fields)."""
        plain = json.loads((self.path / CONFIG).read_text())
        plain.update(overrides)
        return from_plain(plain)

    # -- records ---------------------------------------------------------------------------------------------

    def write_partition(
        self,
        partition: Partition,
        agent_types: np.ndarray | None,
        embeddings: Embeddings | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Write ``partition.json`` (and ``embeddings.npz``): :func:`seps.pipeline.save_partition`."""
        self.path.mkdir(parents=True, exist_ok=True)
        return save_partition(self.path, partition, agent_types, embeddings, **extra)

    def read_partition(self) -> tuple[Partition, dict[str, Any]]:
        """The run's partition and the whole ``partition.json`` (true types, ARI, ``append_agent_ids``, ...)."""
        summary: dict[str, Any] = json.loads((self.path / PARTITION).read_text())
        return Partition.from_json(json.dumps(summary)), summary

    def append_partition(
        self,
        *,
        step: int,
        event: str,
        candidate: Partition,
        current: Partition,
        ari: float | None,
        current_ari: float | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add one line to ``partitions.jsonl``: what a check found and the partition in force after it.

        ``event`` is 'initial' (the run's first partition), 'check' (nothing changed) or 'change'.
        """
        record = {
            "step": int(step),
            "event": event,
            "labels": candidate.labels.tolist(),
            "k": candidate.k,
            "scores": {str(k): v for k, v in candidate.scores.items()},
            "ari": ari,
            "current_labels": current.labels.tolist(),
            "current_k": current.k,
            "current_ari": current_ari,
            **extra,
        }
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / PARTITIONS).open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        return record

    def read_partitions(self) -> list[dict[str, Any]]:
        """The lines of ``partitions.jsonl`` in order (empty when the run has none)."""
        path = self.path / PARTITIONS
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def truncate_partitions(self, step: int) -> None:
        """Drop the history after env step ``step`` (a resumed run repeats those checks)."""
        records = self.read_partitions()
        kept = [r for r in records if r["step"] <= step]
        if len(kept) != len(records):
            path = self.path / PARTITIONS
            temporary = path.with_suffix(".tmp")
            temporary.write_text("".join(json.dumps(r) + "\n" for r in kept))
            temporary.replace(path)

    def write_summary(self, summary: RunSummary) -> Path:
        path = self.path / SUMMARY
        write_text_atomic(path, json.dumps(summary.to_plain(), indent=2))
        return path

    def read_summary(self) -> RunSummary | None:
        """The finished run's summary, or None while it runs."""
        try:
            return RunSummary.from_plain(json.loads((self.path / SUMMARY).read_text()))
        except (OSError, ValueError):
            return None

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS
