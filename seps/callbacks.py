"""Trainer callbacks: code that sees the trainer at fixed points of the loop, without editing seps.

The shape of Stable-Baselines3's ``BaseCallback`` (``stable_baselines3/common/callbacks.py``:
``on_rollout_end``, ``on_step``) and BenchMARL's ``Callback`` (``benchmarl/experiment/callback.py``:
``on_batch_collected``, ``on_train_end``, ``on_evaluation_end``). Each hook receives the
:class:`~seps.trainer.Trainer`, whose ``policy``, ``optimizer``, ``storage``, ``env_steps``,
``evaluations``, ``env`` and ``learner`` are public. Hooks fire in this order every iteration::

    on_rollout_end(trainer)                  the storage holds the rollout just collected
    on_update_end(trainer, metrics)          after the learner's update of that rollout
    on_evaluation_end(trainer, mean, std)    after each evaluation (also the one at step 0)

and ``on_train_start`` / ``on_train_end`` once around the loop. Callbacks fire in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seps.trainer import Trainer


class TrainerCallback:
    """Base class: override the hooks you need; the others do nothing."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first rollout of this ``train()`` call (after a resume's checkpoint is loaded)."""

    def on_rollout_end(self, trainer: Trainer) -> None:
        """After a rollout filled ``trainer.storage``, before the update."""

    def on_update_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After the learner's update; ``metrics`` are what it returned."""

    def on_evaluation_end(self, trainer: Trainer, mean: float, std: float) -> None:
        """After an evaluation at ``trainer.env_steps``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the final evaluation and checkpoint."""


class CallbackList(TrainerCallback):
    """Several callbacks called in order."""

    def __init__(self, callbacks: Sequence[TrainerCallback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_train_start(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_train_start(trainer)

    def on_rollout_end(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_rollout_end(trainer)

    def on_update_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_update_end(trainer, metrics)

    def on_evaluation_end(self, trainer: Trainer, mean: float, std: float) -> None:
        for callback in self.callbacks:
            callback.on_evaluation_end(trainer, mean, std)

    def on_train_end(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_train_end(trainer)
