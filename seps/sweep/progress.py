"""Counting a sweep's cells as they finish: done / running / failed, for a progress display."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from seps.sweep.markers import Outcome


@attrs.frozen(kw_only=True)
class SweepStatus:
    """A snapshot of the sweep: how many cells are finished, running or failed."""

    total: int
    done: int = 0
    """Cells finished by this invocation."""
    skipped: int = 0
    """Cells finished by an earlier invocation (not run again)."""
    failed: int = 0
    running: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed

    def describe(self) -> str:
        return (
            f"{self.done + self.skipped}/{self.total} done ({self.skipped} earlier), "
            f"{self.running} running, {self.failed} failed"
        )


ProgressCallback = Callable[[SweepStatus, Outcome | None], None]
"""Called with the new status after every finished cell (and once at the start with ``None``)."""


class Tally:
    """Mutable counts behind :class:`SweepStatus`."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.outcomes: list[Outcome] = []
        self.running = 0
        self._callback = callback

    def status(self) -> SweepStatus:
        counts = {"done": 0, "skipped": 0, "failed": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return SweepStatus(total=self.total, running=self.running, **counts)

    def start(self, running: int) -> None:
        self.running = running
        if self._callback is not None:
            self._callback(self.status(), None)

    def add(self, outcomes: list[Outcome], running: int) -> None:
        self.running = running
        for outcome in outcomes:
            self.outcomes.append(outcome)
            if self._callback is not None:
                self._callback(self.status(), outcome)
        if not outcomes and self._callback is not None:
            self._callback(self.status(), None)
