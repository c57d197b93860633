"""Advantage actor-critic (Mnih et al., 2016) with n-step returns, as used by the SePS paper."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from seps.learners.base import OnPolicyLearner, agent_mean
from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.registry import LEARNERS


@LEARNERS.register("a2c")
@attrs.frozen(kw_only=True)
class A2C(OnPolicyLearner):
    """Synchronous A2C: one gradient step per rollout of ``n_step_return`` steps from every env copy."""

    n_step_return: int = attrs.field(default=5, validator=attrs.validators.gt(0))
    """Rollout length per copy; returns bootstrap after at most this many steps (paper: 5)."""

    @property
    def n_steps(self) -> int:
        return self.n_step_return

    def update(
        self,
        policy: GroupedActorCritic,
        optimizer: torch.optim.Optimizer,
        storage: RolloutStorage,
        next_value: Tensor,
        generator: torch.Generator,
    ) -> dict[str, float]:
        returns = storage.n_step_returns(next_value, self.gamma)
        log_probs, entropy, values = policy.evaluate(storage.obs, storage.action_masks, storage.actions)
        advantages = (returns - values).detach()
        active = storage.active
        policy_loss = -agent_mean(advantages * log_probs, active)
        value_loss = agent_mean((returns - values).pow(2), active)
        entropy_term = agent_mean(entropy, active)
        self.optimise(policy, optimizer, policy_loss + self.value_coef * value_loss - self.entropy_coef * entropy_term)
        n_agents = storage.n_agents
        return {
            "policy_loss": policy_loss.item() / n_agents,
            "value_loss": value_loss.item() / n_agents,
            "entropy": entropy_term.item() / n_agents,
        }
