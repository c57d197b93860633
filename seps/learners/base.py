"""What every on-policy learner shares: its settings and its place in the training loop.

The loop itself (rollouts, evaluation, logging, checkpoints) lives in :mod:`seps.trainer`
and is the same for every learner; a learner only says how long a rollout is and how a
full rollout becomes one parameter update.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import attrs
import torch
from attrs import validators as v
from torch import Tensor

from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic

_positive = v.gt(0)
_probability = [v.gt(0), v.le(1)]


@attrs.frozen(kw_only=True)
class OnPolicyLearner(ABC):
    """Settings shared by A2C and PPO (defaults: the paper's section 4.8)."""

    lr: float = attrs.field(default=3e-4, validator=_positive)
    """Adam learning rate."""
    adam_eps: float = attrs.field(default=1e-5, validator=_positive)
    """Adam epsilon."""
    gamma: float = attrs.field(default=0.99, validator=_probability)
    """Discount factor."""
    entropy_coef: float = attrs.field(default=0.01, validator=v.ge(0))
    """Weight of the entropy bonus."""
    value_coef: float = attrs.field(default=0.5, validator=v.ge(0))
    """Weight of the value loss."""
    max_grad_norm: float = attrs.field(default=0.5, validator=_positive)
    """Gradients are clipped to this global norm."""

    @property
    @abstractmethod
    def n_steps(self) -> int:
        """Steps per env copy in one rollout."""

    def make_optimizer(self, policy: GroupedActorCritic) -> torch.optim.Optimizer:
        return torch.optim.Adam(policy.parameters(), lr=self.lr, eps=self.adam_eps)

    @abstractmethod
    def update(
        self,
        policy: GroupedActorCritic,
        optimizer: torch.optim.Optimizer,
        storage: RolloutStorage,
        next_value: Tensor,
        generator: torch.Generator,
    ) -> dict[str, float]:
        """Turn a full rollout into parameter updates; return loss metrics."""

    def optimise(self, policy: GroupedActorCritic, optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """One gradient step with global-norm clipping."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
        optimizer.step()


def agent_mean(values: Tensor, active: Tensor) -> Tensor:
    """Mean over time and env copies of each agent's active entries, summed over agents.

    Summing over agents (rather than averaging) keeps each agent's loss at the scale
    it would have when learning alone, as independent learners see it.
    """
    weights = active.float()
    per_agent = (values * weights).reshape(-1, values.shape[-1]).sum(0)
    counts = weights.reshape(-1, values.shape[-1]).sum(0).clamp(min=1.0)
    return (per_agent / counts).sum()
