"""The unit of work sent to a worker process (local pool or Ray): a :class:`Task` of one or more cells."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from seps.sweep.cache import EmbeddingCache
from seps.sweep.grid import Cell
from seps.sweep.markers import Outcome, cell_dir
from seps.sweep.partition_cell import run_partition_group
from seps.sweep.spec import import_modules
from seps.sweep.train_cell import run_train_cell


@attrs.frozen(kw_only=True)
class Task:
    """Plain, picklable work: one training cell, or the partition cells sharing one set of embeddings."""

    mode: str
    cells: tuple[dict[str, Any], ...]
    """``Cell.to_plain()`` of each cell."""
    sweep_dir: str
    cache_dir: str | None = None
    imports: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [Cell.from_plain(cell).name for cell in self.cells]


_prepared: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()


def prepare_worker(imports: tuple[str, ...], paths: tuple[str, ...]) -> None:
    """One torch thread per worker (cells run in parallel instead), and the user's component modules."""
    import torch

    from seps.builtin_components import load_builtins

    torch.set_num_threads(1)
    if (imports, paths) not in _prepared:
        import_modules(imports, paths)
        load_builtins()
        _prepared.add((imports, paths))


def execute(task: Task) -> list[Outcome]:
    """Run a task in this process; errors of a cell are recorded in its directory, not raised."""
    prepare_worker(task.imports, task.paths)
    sweep_dir = Path(task.sweep_dir)
    cells = [Cell.from_plain(cell) for cell in task.cells]
    if task.mode == "partition":
        cache = EmbeddingCache(task.cache_dir or sweep_dir / "cache")
        return run_partition_group(cells, sweep_dir, cache)
    return [run_train_cell(cell, cell_dir(sweep_dir, cell.name)) for cell in cells]


def watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Pool initializer: exit when the sweep process dies (e.g. SIGKILL) instead of finishing cells as an orphan."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="seps-parent-watch", daemon=True).start()
