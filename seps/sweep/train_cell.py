"""Running one training cell: start it, resume it from its checkpoint, or skip it when done."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from seps.config import to_plain
from seps.experiment import COMPONENT_REGISTRIES, Experiment, resume
from seps.methods import SharingPlan
from seps.sweep.cache import write_json_atomic
from seps.sweep.grid import Cell
from seps.sweep.markers import (
    CELL,
    Outcome,
    cell_lock,
    clear_failure,
    is_done,
    mark_done,
    mark_failed,
    reset,
)

logger = logging.getLogger(__name__)

EMBEDDINGS = "embeddings.npz"


class _SweepExperiment(Experiment):
    """An experiment that also keeps the agent embeddings of its partition, for the report's projection plot."""

    def _make_plan(self, run_dir: Path) -> SharingPlan:
        plan = super()._make_plan(run_dir)
        if plan.pretraining is not None and not (run_dir / EMBEDDINGS).exists():
            save_embeddings(run_dir, plan.pretraining.embeddings.means, plan.pretraining.agent_types)
        return plan


def save_embeddings(directory: Path, means: np.ndarray, agent_types: np.ndarray) -> None:
    """Write ``embeddings.npz`` (encoder means and true types of the agents) into a cell directory."""
    np.savez(directory / EMBEDDINGS, means=means, agent_types=np.asarray(agent_types))


def run_train_cell(cell: Cell, directory: Path) -> Outcome:
    """Run ``cell`` in ``directory`` to the end: skip if done, resume from a checkpoint, else start afresh."""
    start = time.perf_counter()
    with cell_lock(directory):
        if is_done(directory):
            return Outcome(name=cell.name, status="skipped")
        clear_failure(directory)
        try:
            if (directory / "checkpoints" / "latest").is_file():
                logger.info("resuming %s", directory)
                experiment = resume(directory)
            else:
                reset(directory)  # a run killed before its first checkpoint starts over
                write_json_atomic(directory / CELL, {"name": cell.name, **cell.to_plain()})
                config = cell.experiment_config(run_root=str(directory.parent))
                (directory / "config.json").write_text(json.dumps(to_plain(config, COMPONENT_REGISTRIES), indent=2))
                experiment = _SweepExperiment(config, run_dir=directory)
            result = experiment.run()
        except Exception as error:  # one failing cell must not stop the sweep; the error is recorded
            return mark_failed(directory, cell.name, error, time.perf_counter() - start)
        seconds = time.perf_counter() - start
        mark_done(
            directory,
            {
                "max_eval_return": result.max_eval_return,
                "final_eval_return": result.final_eval_return,
                "env_steps": result.env_steps,
                "k": result.partition.k,
                "evaluations": [list(row) for row in result.evaluations],
                "seconds": seconds,
            },
        )
    return Outcome(name=cell.name, status="done", seconds=seconds)
