"""Advantage actor-critic (Mnih et al., 2016) with n-step returns, as used by the SePS paper."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import torch
from torch import Tensor

from seps.learners.base import Batch, OnPolicyLearner, agent_mean, rollout_batch, state_of
from seps.learners.rollout import DEFAULT_FIELDS, RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.registry import LEARNERS
from seps.validators import positive_int


@LEARNERS.register("a2c")
@attrs.frozen(kw_only=True)
class A2C(OnPolicyLearner):
    """Synchronous A2C: one gradient step per rollout of ``n_step_return`` steps from every env copy."""

    n_step_return: int = attrs.field(default=5, validator=positive_int)
    """Rollout length per copy; returns bootstrap after at most this many steps (paper: 5)."""

    # The losses use fresh values from ``policy.evaluate``; the rollout's are not kept (no critic while acting).
    rollout_fields = tuple(name for name in DEFAULT_FIELDS if name != "values")

    @property
    def n_steps(self) -> int:
        return self.n_step_return

    def batches(self, storage: RolloutStorage, next_value: Tensor, generator: torch.Generator) -> Iterator[Batch]:
        # The whole rollout is one batch, so there is nothing to shuffle with ``generator``.
        yield rollout_batch(storage, returns=storage.n_step_returns(next_value, self.gamma))

    def losses(self, policy: GroupedActorCritic, batch: Batch) -> dict[str, Tensor]:
        log_probs, entropy, values = policy.evaluate(
            batch["obs"], batch["action_masks"], batch["actions"], state_of(batch, policy)
        )
        returns, active = batch["returns"], batch["active"]
        advantages = (returns - values).detach()
        return {
            "policy_loss": -agent_mean(advantages * log_probs, active),
            "value_loss": agent_mean((returns - values).pow(2), active),
            "entropy": agent_mean(entropy, active),
        }
