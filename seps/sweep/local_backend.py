"""Running tasks in this process (``workers=0``) or in a local pool of spawned processes."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from seps.sweep.execute import Task, execute, watch_parent
from seps.sweep.markers import Outcome
from seps.sweep.progress import Tally

logger = logging.getLogger(__name__)


def run_inline(tasks: list[Task], tally: Tally) -> None:
    """One task after another in this process (debugging, tests)."""
    for index, task in enumerate(tasks):
        tally.start(running=len(task.cells))
        remaining = tasks[index + 1 :]
        tally.add(execute(task), running=0 if not remaining else len(remaining[0].cells))


def run_local(tasks: list[Task], workers: int, tally: Tally) -> None:
    """Run tasks in ``workers`` spawned processes; a crashed worker fails only the tasks left unfinished."""
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools and locks
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),)
    )
    futures = {pool.submit(execute, task): task for task in tasks}
    unfinished = list(futures)

    def running() -> int:
        return sum(len(futures[f].cells) for f in unfinished[:workers])

    tally.start(running())
    try:
        for future in cf.as_completed(futures):
            unfinished.remove(future)
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                outcomes = _lost(futures[future], "a worker process died (killed or crashed); re-run to resume")
            except Exception as error:  # an error outside any cell (e.g. unpicklable result)
                outcomes = _lost(futures[future], f"{type(error).__name__}: {error}")
            tally.add(outcomes, running())
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _lost(task: Task, message: str) -> list[Outcome]:
    return [Outcome(name=name, status="failed", error=message) for name in task.names]


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel queued tasks and end the workers now (Ctrl-C): their cells resume from checkpoints later."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    # Before 3.14 there is no public way to end running workers; _processes is the pool's own table
    # (read it before shutdown, which drops it).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
