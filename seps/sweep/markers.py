"""The files that record a cell's state: ``done.json`` (finished), ``error.txt`` + ``traceback.txt``, ``.lock``.

``done.json`` is written atomically as the very last step of a cell, so its presence means
the cell finished; anything else is unfinished work that a re-run resumes or restarts.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from seps.records import RunSummary
from seps.sweep.cache import write_json_atomic

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; two sweeps must not share a directory there
    fcntl = None  # type: ignore[assignment]

DONE = "done.json"
ERROR = "error.txt"
TRACEBACK = "traceback.txt"
CELL = "cell.json"
LOCK = ".lock"


@attrs.frozen(kw_only=True)
class Outcome:
    """What happened to one cell in this invocation."""

    name: str
    status: str
    """'done' (ran to the end now), 'skipped' (finished earlier) or 'failed'."""
    error: str | None = None
    """One line; the traceback is in the cell's ``traceback.txt``."""
    seconds: float = 0.0


def cell_dir(sweep_dir: Path, name: str) -> Path:
    return sweep_dir / "cells" / name


def is_done(directory: Path) -> bool:
    return (directory / DONE).is_file()


def read_done(directory: Path) -> RunSummary | None:
    """The cell's :class:`~seps.records.RunSummary`, or None when it has not finished."""
    try:
        data: dict[str, Any] = json.loads((directory / DONE).read_text())
    except (OSError, ValueError):
        return None
    return RunSummary.from_plain(data)


def mark_done(directory: Path, summary: RunSummary) -> None:
    """Write ``done.json``: the summary and ``"status": "done"`` (its presence means the cell finished)."""
    write_json_atomic(directory / DONE, {"status": "done", **summary.to_plain()})


def mark_failed(directory: Path, name: str, error: BaseException, seconds: float) -> Outcome:
    """Record the error (one line) and its traceback in the cell directory."""
    message = (str(error).strip().splitlines() or [""])[0]
    line = f"{type(error).__name__}: {message}" if message else type(error).__name__
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ERROR).write_text(line + "\n")
    (directory / TRACEBACK).write_text("".join(traceback.format_exception(error)))
    return Outcome(name=name, status="failed", error=line, seconds=seconds)


def clear_failure(directory: Path) -> None:
    for name in (ERROR, TRACEBACK):
        (directory / name).unlink(missing_ok=True)


def reset(directory: Path) -> None:
    """Remove a partial run's files (kept: the lock and the cell description)."""
    for child in directory.iterdir():
        if child.name in (LOCK, CELL):
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


@contextlib.contextmanager
def cell_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cell, waiting for another process that has it.

    The OS drops the lock when its holder dies (even by SIGKILL), so a stale lock never blocks.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK).open("w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
