"""Divergence: non-finite losses or parameters stop the run; a value loss blowing up logs a warning."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import torch

from seps.callbacks import TrainerCallback
from seps.errors import TrainingDiverged
from seps.learners.base import LOSS_TERMS

if TYPE_CHECKING:
    from seps.trainer import Trainer

logger = logging.getLogger(__name__)


class DivergenceGuard(TrainerCallback):
    """After every update: stop on a NaN/inf loss or parameter; warn once when the value loss grows ``factor``-fold.

    A non-finite parameter would otherwise surface as torch's ``probability tensor contains either inf,
    nan or element < 0`` at the next action sampling. The reference for the warning is the smallest
    value loss of the first ``warmup`` updates (the critic starts near zero, so its first losses are small).
    """

    def __init__(self, factor: float = 1e4, warmup: int = 20) -> None:
        self.factor = factor
        self.warmup = warmup
        self._updates = 0
        self._reference = math.inf
        self._warned = False

    def on_train_start(self, trainer: Trainer) -> None:
        self._updates, self._reference, self._warned = 0, math.inf, False

    def on_update_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        bad = [name for name in LOSS_TERMS if name in metrics and not math.isfinite(metrics[name])]
        if bad:
            self._stop(trainer, f"{bad[0]} is {metrics[bad[0]]}")
        # One sum, one device sync: NaN and inf propagate through it (a sum overflowing float32 is divergence too).
        total = torch.stack([p.detach().sum() for p in trainer.policy.parameters()]).sum()
        if not bool(torch.isfinite(total)):
            self._stop(trainer, "a parameter of the policy is not finite")
        value_loss = metrics.get("value_loss")
        if value_loss is None:
            return
        self._updates += 1
        if self._updates <= self.warmup:
            self._reference = min(self._reference, max(abs(value_loss), 1e-6))
        elif not self._warned and abs(value_loss) > self.factor * self._reference:
            self._warned = True
            logger.warning(
                "step %d: value loss %.3g is %.0e times its early level (%.3g); the critic is diverging: "
                "lower learner.lr (now %s) or learner.max_grad_norm",
                trainer.env_steps,
                value_loss,
                value_loss / self._reference,
                self._reference,
                getattr(trainer.learner, "lr", "?"),
            )

    @staticmethod
    def _stop(trainer: Trainer, what: str) -> None:
        kept = trainer.last_checkpoint
        where = f"the last good checkpoint {kept.name} is kept" if kept is not None else "no checkpoint was written"
        lr = getattr(trainer.learner, "lr", None)
        cause = f"the learning rate (lr={lr:g}) is likely too high" if isinstance(lr, float) else "the updates blew up"
        raise TrainingDiverged(
            f"training diverged at env step {trainer.env_steps:,}: {what}; {cause}; {where}; "
            "lower learner.lr and start a new run"
        )
