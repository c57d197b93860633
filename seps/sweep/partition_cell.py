"""Running the partition cells that share one set of embeddings: encode once (cached), fit every partitioner."""

from __future__ import annotations

import time
from pathlib import Path

from seps.records import RunSummary
from seps.registry import PARTITIONERS, resolve
from seps.run_dir import RunDir
from seps.sweep.cache import CachedEmbeddings, EmbeddingCache, write_json_atomic
from seps.sweep.grid import Cell
from seps.sweep.markers import CELL, Outcome, cell_dir, cell_lock, clear_failure, is_done, mark_done, mark_failed


def run_partition_group(cells: list[Cell], sweep_dir: Path, cache: EmbeddingCache) -> list[Outcome]:
    """Partition with each cell's partitioner; all ``cells`` must share env, encoder, collect settings and seed."""
    outcomes = [Outcome(name=c.name, status="skipped") for c in cells if is_done(cell_dir(sweep_dir, c.name))]
    pending = [c for c in cells if not is_done(cell_dir(sweep_dir, c.name))]
    if not pending:
        return outcomes
    first = pending[0]
    start = time.perf_counter()
    try:
        cached = cache.get(first.env, first.encoder, first.collect_config(), first.seed)  # type: ignore[arg-type]
    except Exception as error:  # recorded in every cell that needed these embeddings
        return outcomes + [
            mark_failed(cell_dir(sweep_dir, c.name), c.name, error, time.perf_counter() - start) for c in pending
        ]
    for cell in pending:
        outcomes.append(_fit_one(cell, cell_dir(sweep_dir, cell.name), cached))
    return outcomes


def _fit_one(cell: Cell, directory: Path, cached: CachedEmbeddings) -> Outcome:
    start = time.perf_counter()
    with cell_lock(directory):
        if is_done(directory):
            return Outcome(name=cell.name, status="skipped")
        clear_failure(directory)
        write_json_atomic(directory / CELL, {"name": cell.name, **cell.to_plain()})
        try:
            component = cell.partitioner
            partitioner = resolve(PARTITIONERS, component.name, **component.options)  # type: ignore[union-attr]
            partition = partitioner.fit(cached.embeddings, seed=cell.seed)
        except Exception as error:  # one failing partitioner must not stop the others
            return mark_failed(directory, cell.name, error, time.perf_counter() - start)
        seconds = time.perf_counter() - start
        ari = RunDir(directory).write_partition(partition, cached.agent_types, cached.embeddings)["ari"]
        stages = {"embeddings": cached.seconds, "cluster": seconds}
        summary = RunSummary(
            kind="partition",
            k=partition.k,
            ari=ari,
            seconds=sum(stages.values()),
            stage_seconds=stages,
            cache_hit=cached.hit,
        )
        mark_done(directory, summary)
    return Outcome(name=cell.name, status="done", seconds=seconds)
