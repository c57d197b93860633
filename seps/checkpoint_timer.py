"""Checkpoints by wall-clock time, so every run is resumable whatever its step budget or speed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from seps.callbacks import TrainerCallback

if TYPE_CHECKING:
    from seps.trainer import Trainer


class TimedCheckpoints(TrainerCallback):
    """Ask the trainer for a checkpoint once ``seconds`` have passed since the last one (or since the start).

    The trainer takes it at the end of the iteration, after that iteration's log rows and evaluation,
    so a checkpoint never holds a state the metrics have not caught up with. Combined with the step
    interval (``checkpoint_interval``), whichever comes first writes.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last = 0.0
        self._checkpoints_seen: object = None

    def on_train_start(self, trainer: Trainer) -> None:
        self._last = time.monotonic()
        self._checkpoints_seen = trainer.last_checkpoint

    def on_update_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if trainer.last_checkpoint is not self._checkpoints_seen:  # a step-interval checkpoint resets the clock
            self._checkpoints_seen, self._last = trainer.last_checkpoint, now
        if now - self._last >= self.seconds:
            trainer.checkpoint_requested = True
            self._last = now
