"""Proximal policy optimisation (Schulman et al., 2017) with GAE, on the same grouped actor-critic as A2C.

The clipped surrogate, several epochs of shuffled minibatches per rollout and per-minibatch
advantage normalisation follow the "37 implementation details of PPO" (Huang et al., 2022)
and CleanRL's ``ppo.py``; the multi-agent layout follows MAPPO (Yu et al., 2022): every agent
keeps its own log-prob ratio and advantage, and minibatches are whole (step, env copy) rows
with all N agents, because the grouped policy consumes (..., N, D) tensors.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import torch
from attrs import validators as v
from torch import Tensor

from seps.learners.base import Batch, OnPolicyLearner, agent_mean, pooled_mean, rollout_batch, state_of
from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.registry import LEARNERS
from seps.validators import at_most_field, in_interval, positive, positive_int


@LEARNERS.register("ppo")
@attrs.frozen(kw_only=True)
class PPO(OnPolicyLearner):
    """PPO-clip: ``n_epochs`` passes of ``n_minibatches`` gradient steps over every rollout.

    Defaults are the usual PPO numbers (clip 0.2, GAE lambda 0.95, 4 epochs, entropy 0.01,
    Adam lr 3e-4, grad-norm clip 0.5). ``rollout_steps = 64`` with the paper's 8 env copies
    gives 512 rows (7,680 agent-steps on bps-1) per update, the batch CleanRL uses for
    classic control; it spans more than one 50-step BPS episode, so most GAE sums run to an
    episode end, and leaves ~2,000 updates in a 1M-step budget.
    """

    rollout_steps: int = attrs.field(default=64, validator=positive_int)
    """Rollout length per env copy before each update."""
    n_epochs: int = attrs.field(default=4, validator=positive_int)
    """Passes over each rollout."""
    # At most rollout_steps: a rollout has rollout_steps x n_envs rows, so every minibatch is non-empty.
    n_minibatches: int = attrs.field(default=4, validator=[positive_int, at_most_field("rollout_steps")])
    """Minibatches per epoch; the (step, env copy) rows are split, all agents of a row stay together."""
    clip_range: float = attrs.field(default=0.2, validator=positive)
    """Probability ratios are clipped to [1 - clip_range, 1 + clip_range] (also the value clip range)."""
    gae_lambda: float = attrs.field(default=0.95, validator=in_interval(0, 1))
    """GAE lambda: 1 gives Monte-Carlo-like advantages, 0 one-step TD errors."""
    normalize_advantages: bool = attrs.field(default=True, validator=v.instance_of(bool))
    """Standardise advantages within each minibatch, over the active entries of all its agents."""
    clip_value: bool = attrs.field(default=False, validator=v.instance_of(bool))
    """Clip value updates around the rollout's values by clip_range (off: it slows the critic on large returns)."""

    @property
    def n_steps(self) -> int:
        return self.rollout_steps

    def batches(self, storage: RolloutStorage, next_value: Tensor, generator: torch.Generator) -> Iterator[Batch]:
        advantages, returns = storage.gae(next_value, self.gamma, self.gae_lambda)
        # (T, E, N, ...) -> (T * E, N, ...): a minibatch takes whole rows, never part of a row's agents.
        rollout = rollout_batch(storage, advantages=advantages, returns=returns)
        rows = {name: tensor.flatten(0, 1) for name, tensor in rollout.items()}
        for _ in range(self.n_epochs):
            # The trainer's generator drives the shuffle, so a run is reproducible and resumes exactly.
            order = torch.randperm(storage.n_steps * storage.n_envs, generator=generator, device=generator.device)
            for index in order.tensor_split(self.n_minibatches):
                yield {name: tensor[index] for name, tensor in rows.items()}

    def losses(self, policy: GroupedActorCritic, batch: Batch) -> dict[str, Tensor]:
        active = batch["active"]
        log_probs, entropy, values = policy.evaluate(
            batch["obs"], batch["action_masks"], batch["actions"], state_of(batch, policy)
        )
        advantages = batch["advantages"]
        if self.normalize_advantages:
            advantages = _standardise(advantages, active)
        # Inactive entries get ratio 1 (their log-probs may have drifted far), so no inf reaches a masked mean.
        log_ratio = torch.where(active, log_probs - batch["log_probs"], torch.zeros_like(log_probs))
        ratio = log_ratio.exp()
        clipped_ratio = ratio.clamp(1.0 - self.clip_range, 1.0 + self.clip_range)
        surrogate = torch.min(ratio * advantages, clipped_ratio * advantages)
        with torch.no_grad():
            # k3 estimator of KL(old || new) (Schulman, "Approximating KL divergence", 2020).
            approx_kl = pooled_mean((ratio - 1.0) - log_ratio, active)
            clip_fraction = pooled_mean(((ratio - 1.0).abs() > self.clip_range).float(), active)
        return {
            "policy_loss": -agent_mean(surrogate, active),
            "value_loss": agent_mean(self._value_error(values, batch["values"], batch["returns"]), active),
            "entropy": agent_mean(entropy, active),
            "approx_kl": approx_kl,
            "clip_fraction": clip_fraction,
        }

    def _value_error(self, values: Tensor, old_values: Tensor, returns: Tensor) -> Tensor:
        error = (returns - values).pow(2)
        if not self.clip_value:
            return error
        clipped = old_values + (values - old_values).clamp(-self.clip_range, self.clip_range)
        return torch.maximum(error, (returns - clipped).pow(2))


def _standardise(advantages: Tensor, active: Tensor) -> Tensor:
    """Zero mean and unit (sample) std over the active entries; inactive entries become 0."""
    mean = pooled_mean(advantages, active)
    count = active.sum().clamp(min=2)
    variance = ((advantages - mean).pow(2) * active).sum() / (count - 1)
    return torch.where(active, (advantages - mean) / (variance.sqrt() + 1e-8), torch.zeros_like(advantages))
