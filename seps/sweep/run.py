"""``run_sweep``: check the whole grid, then run the cells that are not finished, locally or on Ray."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from seps.errors import ConfigError
from seps.sweep.cache import write_json_atomic
from seps.sweep.execute import Task
from seps.sweep.grid import Cell, expand
from seps.sweep.local_backend import run_inline, run_local
from seps.sweep.markers import ERROR, Outcome, cell_dir, is_done
from seps.sweep.progress import ProgressCallback, Tally
from seps.sweep.spec import SweepSpec, load_spec, parse_spec
from seps.sweep.validate import validate_cells

logger = logging.getLogger(__name__)

BACKENDS = ("local", "ray")


@attrs.frozen(kw_only=True)
class SweepResult:
    """The sweep directory and what happened to every cell in this invocation."""

    sweep_dir: Path
    outcomes: tuple[Outcome, ...]

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> list[Outcome]:
        return self.by_status("failed")

    @property
    def ok(self) -> bool:
        """True when every cell has finished (now or earlier)."""
        return not self.failed


def plan_sweep(
    spec: SweepSpec | str | Path | Mapping[str, Any], out: str | Path | None = None
) -> tuple[SweepSpec, list[Cell]]:
    """Read and check a sweep (file path, mapping or spec), expand it and validate every cell. Runs nothing."""
    if isinstance(spec, SweepSpec):
        checked = spec if out is None else attrs.evolve(spec, out=Path(out))
    elif isinstance(spec, Mapping):
        checked = parse_spec(dict(spec), out=out)
    else:
        checked = load_spec(spec, out=out)
    cells = expand(checked)
    validate_cells(cells, source=checked.name)
    return checked, cells


def run_sweep(
    spec: SweepSpec | str | Path | Mapping[str, Any],
    *,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
    out: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> SweepResult:
    """Run every unfinished cell of a sweep; re-running the same sweep resumes it.

    ``workers`` processes run cells in parallel (0: in this process); ``backend='ray'``
    runs them on Ray, on the cluster at ``address`` when given. Finished cells are skipped,
    unfinished ones resume from their last checkpoint, failed ones are retried.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"workers must be an integer >= 0, got {workers!r}")
    if address is not None and backend != "ray":
        raise ConfigError("--address is for the ray backend; add --backend ray")
    checked, cells = plan_sweep(spec, out=out)
    sweep_dir = checked.out
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"cannot create the sweep directory {sweep_dir}: {error.strerror}; choose another --out"
        raise ConfigError(message) from None
    _write_manifest(checked, cells)
    finished = [c for c in cells if is_done(cell_dir(sweep_dir, c.name))]
    tally = Tally(len(cells), progress)
    tally.add([Outcome(name=c.name, status="skipped") for c in finished], running=0)
    tasks = make_tasks(checked, [c for c in cells if not is_done(cell_dir(sweep_dir, c.name))])
    logger.info(
        "sweep %s: %d cells, %d finished earlier, %d tasks to run", sweep_dir, len(cells), len(finished), len(tasks)
    )
    if tasks:
        if backend == "ray":
            from seps.sweep.ray_backend import run_ray

            run_ray(tasks, workers or None, address, tally)
        elif workers == 0:
            run_inline(tasks, tally)
        else:
            run_local(tasks, min(workers, len(tasks)), tally)
    for outcome in tally.outcomes:
        if outcome.status == "failed" and outcome.error:
            error_file = cell_dir(sweep_dir, outcome.name) / ERROR
            if not error_file.exists():
                error_file.parent.mkdir(parents=True, exist_ok=True)
                error_file.write_text(outcome.error + "\n")
    return SweepResult(sweep_dir=sweep_dir, outcomes=tuple(tally.outcomes))


def make_tasks(spec: SweepSpec, cells: list[Cell]) -> list[Task]:
    """One task per training cell; one per set of partition cells sharing their embeddings."""

    def task(group: list[Cell]) -> Task:
        return Task(
            mode=spec.mode,
            cells=tuple(cell.to_plain() for cell in group),
            # absolute: Ray workers (and remote nodes) need not share our working directory
            sweep_dir=str(spec.out.resolve()),
            cache_dir=str(spec.cache.expanduser().resolve()) if spec.cache else None,
            imports=spec.imports,
            paths=spec.paths,
        )

    if spec.mode == "train":
        return [task([cell]) for cell in cells]
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group_key, []).append(cell)
    return [task(group) for group in groups.values()]


def _write_manifest(spec: SweepSpec, cells: list[Cell]) -> None:
    if spec.text:
        (spec.out / "sweep.yaml").write_text(spec.text)
    manifest = {
        "name": spec.name,
        "mode": spec.mode,
        "cells": [{"name": cell.name, **cell.to_plain()} for cell in cells],
    }
    write_json_atomic(spec.out / "sweep.json", manifest)


def load_manifest(sweep_dir: str | Path) -> dict[str, Any]:
    """The ``sweep.json`` of a sweep directory."""
    path = Path(sweep_dir) / "sweep.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{sweep_dir} is not a sweep directory (no sweep.json); run `seps sweep` first") from None
    except ValueError as error:
        raise ConfigError(f"{path} is not valid JSON ({error}); re-run the sweep to rewrite it") from None
    return data
