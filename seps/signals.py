"""Stopping a run on SIGINT / SIGTERM with a checkpoint, so Ctrl-C (or a scheduler's kill) loses nothing."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from seps.callbacks import TrainerCallback

if TYPE_CHECKING:
    from seps.trainer import Trainer

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(TrainerCallback):
    """While training, the first SIGINT/SIGTERM asks for a checkpoint and a stop at the end of the iteration.

    Before training (pre-training) a signal interrupts at once with ``KeyboardInterrupt`` (nothing to
    save yet: a resume redoes that stage). After the first signal the previous handlers are back, so a
    second Ctrl-C interrupts at once. Use it through :func:`stop_on_signal`, which installs the handlers
    (main thread only) and always restores them.
    """

    def __init__(self) -> None:
        self.trainer: Trainer | None = None
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def on_train_start(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_train_end(self, trainer: Trainer) -> None:
        self.trainer = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self.restore()
        if self.trainer is None:
            raise KeyboardInterrupt
        self.trainer.stop_requested = True
        self.trainer.checkpoint_requested = True

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; the default behaviour stays
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self.handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()


@contextmanager
def stop_on_signal() -> Iterator[StopOnSignal]:
    """Install a :class:`StopOnSignal` for the block; pass it to ``Experiment.run(callbacks=[...])``."""
    stopper = StopOnSignal()
    stopper.install()
    try:
        yield stopper
    finally:
        stopper.restore()
