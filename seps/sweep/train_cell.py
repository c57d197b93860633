"""Running one training cell: start it, resume it from its checkpoint, or skip it when done."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from seps.experiment import Experiment, resume
from seps.run_dir import CONFIG, RunDir
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


def run_train_cell(cell: Cell, directory: Path) -> Outcome:
    """Run ``cell`` in ``directory`` to the end: skip if done, resume a started run, else start afresh."""
    start = time.perf_counter()
    with cell_lock(directory):
        if is_done(directory):
            return Outcome(name=cell.name, status="skipped")
        clear_failure(directory)
        try:
            if (directory / CONFIG).is_file():  # from its checkpoint, else its partition, else pre-training again
                logger.info("resuming %s", directory)
                experiment = resume(directory)
            else:
                reset(directory)  # killed before its config was written: nothing to keep
                config = cell.experiment_config(run_root=str(directory.parent))
                experiment = Experiment(config, run_dir=directory)  # validates before anything is written
                write_json_atomic(directory / CELL, {"name": cell.name, **cell.to_plain()})
                RunDir(directory).write_config(experiment.resolved_config())
            result = experiment.run()
        except Exception as error:  # one failing cell must not stop the sweep; the error is recorded
            return mark_failed(directory, cell.name, error, time.perf_counter() - start)
        seconds = time.perf_counter() - start
        mark_done(directory, result.summary(seconds=seconds))
    return Outcome(name=cell.name, status="done", seconds=seconds)
