"""Running tasks on Ray: an existing cluster (``address``), one already initialised, or a local one.

Ray is optional (``pip install 'seps[ray]'``) and imported only here. Every node needs seps
(and the modules in the sweep's ``imports``) installed, and the sweep directory must be on a
filesystem all nodes share: cells write their run directories there, exactly as locally.
"""

from __future__ import annotations

import logging
from typing import Any

from seps.errors import MissingDependencyError
from seps.sweep.execute import Task, execute
from seps.sweep.markers import Outcome
from seps.sweep.progress import Tally

logger = logging.getLogger(__name__)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "the ray backend needs Ray: pip install 'seps[ray]' (or use --backend local)"
        ) from None
    return ray


def run_ray(tasks: list[Task], workers: int | None, address: str | None, tally: Tally) -> None:
    """Submit every task as a one-CPU Ray task (at most ``workers`` at a time when given)."""
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"address": address} if address else {}
        if not address and workers:
            options["num_cpus"] = workers
        ray.init(log_to_driver=False, **options)
        started = True
    remote = ray.remote(num_cpus=1)(execute)
    limit = workers or len(tasks)
    queue = list(tasks)
    in_flight: dict[Any, Task] = {}

    def submit() -> int:
        while queue and len(in_flight) < limit:
            task = queue.pop(0)
            in_flight[remote.remote(task)] = task
        return sum(len(t.cells) for t in in_flight.values())

    try:
        tally.start(submit())
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            task = in_flight.pop(ready[0])
            try:
                outcomes: list[Outcome] = ray.get(ready[0])
            except Exception as error:  # the worker died or Ray failed the task
                line = (str(error).strip().splitlines() or [""])[0]
                outcomes = [
                    Outcome(name=name, status="failed", error=f"Ray: {type(error).__name__}: {line}")
                    for name in task.names
                ]
            tally.add(outcomes, submit())
    except BaseException:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
