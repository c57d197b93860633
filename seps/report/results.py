"""Reading a sweep directory back: every cell's definition, status, summary, partition and learning curve."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from seps.methods import method_title
from seps.records import RunSummary, as_summary
from seps.run_dir import METRICS, PARTITION, RunDir
from seps.run_log import read_metric
from seps.sweep import Cell, load_manifest, read_done


@attrs.frozen(kw_only=True, eq=False)
class CellRecord:
    """One cell of a sweep as found on disk."""

    cell: Cell
    directory: Path
    summary: RunSummary | None = attrs.field(converter=as_summary)
    """``done.json`` (a plain mapping is read as one); None while the cell is unfinished."""
    error: str | None
    """The one-line error of a failed cell."""

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def done(self) -> bool:
        return self.summary is not None

    def partition(self) -> dict[str, Any] | None:
        """``partition.json`` (labels, chosen K, scores, ARI when known, true types), if written."""
        path = self.directory / PARTITION
        return json.loads(path.read_text()) if path.is_file() else None

    def partitions(self) -> list[dict[str, Any]]:
        """``partitions.jsonl``: the first partition and every re-partition check (empty when absent)."""
        return RunDir(self.directory).read_partitions()

    def final_partition(self) -> tuple[int, float | None] | None:
        """(K, ARI) of the partition in force at the end: the last check's of an adaptive run, else partition.json's."""
        history = self.partitions()
        if len(history) > 1:
            last = history[-1]
            return int(last["current_k"]), last["current_ari"]
        partition = self.partition()
        if partition is None or "ari" not in partition:
            return None
        return int(partition["k"]), partition["ari"]

    def embeddings(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(agent means, true types or None when the env has none) of a partitioning cell, if saved."""
        path = self.directory / "embeddings.npz"
        if not path.is_file():
            return None
        with np.load(path) as data:
            return data["means"], data["agent_types"] if "agent_types" in data.files else None

    def curve(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(env steps, evaluation return) from ``metrics.csv``, else from the summary's evaluations (a summaries
        copy has no metrics log); None if there is no evaluation."""
        rows = read_metric(self.directory / METRICS, "eval", "eval_return")
        if not rows and self.summary is not None:
            rows = [(step, mean) for step, mean, _ in self.summary.evaluations]
        if not rows:
            return None
        steps = np.asarray([step for step, _ in rows])
        returns = np.asarray([value for _, value in rows])
        order = np.argsort(steps, kind="stable")
        return steps[order], returns[order]


def load_records(sweep_dir: str | Path) -> tuple[dict[str, Any], list[CellRecord]]:
    """The sweep's manifest and a record for each of its cells (finished or not)."""
    sweep_dir = Path(sweep_dir)
    manifest = load_manifest(sweep_dir)
    records = []
    for plain in manifest["cells"]:
        cell = Cell.from_plain(plain)
        directory = sweep_dir / "cells" / plain["name"]
        error_file = directory / "error.txt"
        summary = read_done(directory)
        error = error_file.read_text().strip() if summary is None and error_file.is_file() else None
        records.append(CellRecord(cell=cell, directory=directory, summary=summary, error=error))
    return manifest, records


def _parts(cell: Cell) -> dict[str, str]:
    parts = {}
    if cell.encoder is not None:
        parts["encoder"] = cell.encoder.label
    if cell.partitioner is not None:
        parts["partitioner"] = cell.partitioner.label
    if cell.learner is not None:
        parts["learner"] = cell.learner.label
    parts.update({key: f"{key}={json.dumps(value)}" for key, value in cell.axes.items()})
    return parts


def varying(cells: Iterable[Cell]) -> set[str]:
    """The label parts (encoder, partitioner, learner, grid keys) that take more than one value."""
    seen: dict[str, set[str]] = {}
    for cell in cells:
        for key, value in _parts(cell).items():
            seen.setdefault(key, set()).add(value)
    return {key for key, values in seen.items() if len(values) > 1}


def method_label(cell: Cell, shown: set[str]) -> str:
    """'SePS (vae, kmeans_db)': the method with the parts that vary in the sweep."""
    base = method_title(cell.method or "")
    extra = [value for key, value in _parts(cell).items() if key in shown]
    return f"{base} ({', '.join(extra)})" if extra else base


def partitioner_label(cell: Cell, shown: set[str]) -> str:
    """'kmeans_db', or 'vae / kmeans_db' when encoders vary too."""
    parts = _parts(cell)
    label = parts.get("partitioner", "?")
    if "encoder" in shown:
        label = f"{parts['encoder']} / {label}"
    return label


def env_label(cell: Cell) -> str:
    return cell.env.label


def mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std())
