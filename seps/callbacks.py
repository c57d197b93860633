"""Trainer callbacks: code that sees the trainer at fixed points of the loop, without editing seps.

The shape of Stable-Baselines3's ``BaseCallback`` (``stable_baselines3/common/callbacks.py``:
``on_rollout_end``, ``on_step``) and BenchMARL's ``Callback`` (``benchmarl/experiment/callback.py``:
``on_batch_collected``, ``on_train_end``, ``on_evaluation_end``). Each hook receives the
:class:`~seps.trainer.Trainer`, whose ``policy``, ``optimizer``, ``storage``, ``env_steps``,
``evaluations``, ``env`` and ``learner`` are public. Hooks fire in this order every iteration::

    on_step(trainer, actions, result)        n_steps times per rollout, right after ``env.step(actions)``:
                                             ``trainer.current.obs`` holds the observations the actions were
                                             chosen on (without appended ids), ``result`` the env's answer
                                             (``result.final_obs`` the real next observations at episode ends);
                                             ``trainer.env_steps`` does not count this step yet
    on_rollout_end(trainer)                  the storage holds the rollout just collected
    on_update_end(trainer, metrics)          after the learner's update of that rollout
    on_evaluation_end(trainer, mean, std)    after each evaluation (also the one at step 0)

and ``on_train_start`` / ``on_train_end`` once around the loop. Callbacks fire in the order given.

A callback whose state must survive a resume defines ``state_dict()`` (tensors and plain data) and
``load_state_dict(state)``: the trainer saves it in every checkpoint and hands it back before
``on_train_start`` of the resumed run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from seps.envs.base import StepResult
    from seps.trainer import Trainer


class TrainerCallback:
    """Base class: override the hooks you need; the others do nothing."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first rollout of this ``train()`` call (after a resume's checkpoint is loaded)."""

    def on_step(self, trainer: Trainer, actions: np.ndarray, result: StepResult) -> None:
        """After ``env.step(actions)`` (int64 (E, N)), before ``trainer.current`` becomes ``result``."""

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
        # Only callbacks that override on_step are called every env step (the loop's hot path).
        self._steppers = [c for c in self.callbacks if type(c).on_step is not TrainerCallback.on_step]

    def state_dict(self) -> list[Any]:
        """The state of every callback that has one (None for the others), in order."""
        states: list[Any] = []
        for callback in self.callbacks:
            saver = getattr(callback, "state_dict", None)
            states.append(saver() if callable(saver) else None)
        return states

    def load_state_dict(self, states: list[Any]) -> None:
        """Hand each callback its saved state; the callbacks must be given in the same order as when saved."""
        for callback, state in zip(self.callbacks, states, strict=False):
            loader = getattr(callback, "load_state_dict", None)
            if state is not None and callable(loader):
                loader(state)

    def on_train_start(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_train_start(trainer)

    def on_step(self, trainer: Trainer, actions: np.ndarray, result: StepResult) -> None:
        for callback in self._steppers:
            callback.on_step(trainer, actions, result)

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
