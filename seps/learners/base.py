"""What every on-policy learner shares: its settings and its place in the training loop.

The loop itself (rollouts, evaluation, logging, checkpoints) lives in :mod:`seps.trainer`
and is the same for every learner. A learner says how long a rollout is (:attr:`n_steps`),
which batches a full rollout is cut into (:meth:`batches`) and what the losses on one batch
are (:meth:`losses`); :meth:`update` takes one clipped gradient step per batch.

It also declares what it trains and keeps, as Stable-Baselines3's ``policy_class`` and
``rollout_buffer_class`` do (``stable_baselines3/common/on_policy_algorithm.py``): the
:attr:`policy_class` the experiment builds and the :attr:`rollout_fields` the trainer's
storage holds. A learner with a centralised critic is a subclass that names
:class:`~seps.nn.central_critic.CentralCriticActorCritic` and adds the ``state`` field
(:mod:`seps.learners.mappo`): no edit of the trainer or the experiment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import attrs
import torch
from attrs import validators as v
from torch import Tensor

from seps.learners.rollout import DEFAULT_FIELDS, RolloutField, RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.validators import in_interval, non_negative, positive

Batch = dict[str, Tensor]
"""Named tensors of one (mini)batch; agents are the axis before any feature axis, as in the rollout."""

LOSS_TERMS = ("policy_loss", "value_loss", "entropy")
"""What :meth:`OnPolicyLearner.losses` must return (other entries are reported as diagnostics)."""


@attrs.frozen(kw_only=True)
class OnPolicyLearner(ABC):
    """Settings shared by A2C and PPO (defaults: the paper's section 4.8)."""

    lr: float = attrs.field(default=3e-4, validator=positive)
    """Adam learning rate."""
    adam_eps: float = attrs.field(default=1e-5, validator=positive)
    """Adam epsilon."""
    gamma: float = attrs.field(default=0.99, validator=in_interval(0, 1, low_open=True))
    """Discount factor."""
    entropy_coef: float = attrs.field(default=0.01, validator=non_negative)
    """Weight of the entropy bonus (discrete actions)."""
    box_entropy_coef: float = attrs.field(default=0.0, validator=non_negative)
    """Weight of the entropy bonus for Box (Gaussian) actions: 0 as in CleanRL's ppo_continuous_action.py and SB3."""
    value_coef: float = attrs.field(default=0.5, validator=non_negative)
    """Weight of the value loss."""
    max_grad_norm: float = attrs.field(default=0.5, validator=positive)
    """Gradients are clipped to this global norm."""
    fused_adam: bool = attrs.field(default=False, validator=v.instance_of(bool))
    """Use torch's fused Adam kernel: ~3x faster steps for many parameters (NoPS, N >= 200); differs in the last bit."""

    policy_class: ClassVar[type[GroupedActorCritic]] = GroupedActorCritic
    """The policy this learner trains; built with the env's sizes (``state_dim`` included) by the experiment."""
    rollout_fields: ClassVar[tuple[str | RolloutField, ...]] = DEFAULT_FIELDS
    """What the rollout storage keeps (:mod:`seps.learners.rollout`); ``batch[name]`` for each in :meth:`losses`.
    Leave out ``values`` when the losses do not read the rollout's values: the trainer then runs no critic
    while acting (A2C). Rewards, terminated, truncated and active are always kept."""

    @property
    @abstractmethod
    def n_steps(self) -> int:
        """Steps per env copy in one rollout."""

    @abstractmethod
    def batches(self, storage: RolloutStorage, next_value: Tensor, generator: torch.Generator) -> Iterator[Batch]:
        """The batches one full rollout is learned from, in order; ``next_value`` (E, N) bootstraps the last step."""

    @abstractmethod
    def losses(self, policy: GroupedActorCritic, batch: Batch) -> dict[str, Tensor]:
        """The :data:`LOSS_TERMS` of one batch, each an :func:`agent_mean`, plus optional detached diagnostics."""

    def make_optimizer(self, policy: GroupedActorCritic) -> torch.optim.Optimizer:
        # fused=None (not False) keeps torch's default choice of kernel, and so the default's exact numbers.
        fused = True if self.fused_adam else None
        return torch.optim.Adam(policy.parameters(), lr=self.lr, eps=self.adam_eps, fused=fused)

    def update(
        self,
        policy: GroupedActorCritic,
        optimizer: torch.optim.Optimizer,
        storage: RolloutStorage,
        next_value: Tensor,
        generator: torch.Generator,
    ) -> dict[str, float]:
        """One gradient step per batch of the rollout; return each metric averaged over the steps."""
        totals: dict[str, float] = {}
        n_batches = 0
        for batch in self.batches(storage, next_value, generator):
            # Per-episode types: each sample uses the group it acted with (the rollout's ``groups``).
            with policy.row_groups(batch.get("groups")):
                losses = self.losses(policy, batch)
            for name, value in self.gradient_step(policy, optimizer, losses).items():
                totals[name] = totals.get(name, 0.0) + value
            n_batches += 1
        return {name: total / n_batches for name, total in totals.items()}

    def gradient_step(
        self, policy: GroupedActorCritic, optimizer: torch.optim.Optimizer, losses: dict[str, Tensor]
    ) -> dict[str, float]:
        """Step on ``policy_loss + value_coef * value_loss - entropy_coef * entropy``; return the metrics.

        Box (Gaussian) actions use ``box_entropy_coef`` in place of ``entropy_coef``.

        The loss terms are sums over agents (:func:`agent_mean`); the metrics divide them by the
        number of agents, so they read as one agent's loss whatever N is.
        """
        policy_loss, value_loss, entropy = (losses[name] for name in LOSS_TERMS)
        # A Gaussian's entropy grows without bound with its log-std: any bonus widens it (clipped tails are free).
        entropy_coef = self.box_entropy_coef if policy.action_dtype.is_floating_point else self.entropy_coef
        self.optimise(policy, optimizer, policy_loss + self.value_coef * value_loss - entropy_coef * entropy)
        n_agents = policy.n_agents
        metrics = {name: losses[name].item() / n_agents for name in LOSS_TERMS}
        metrics.update({name: value.item() for name, value in losses.items() if name not in LOSS_TERMS})
        return metrics

    def optimise(self, policy: GroupedActorCritic, optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """One gradient step with global-norm clipping."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
        optimizer.step()


def rollout_batch(storage: RolloutStorage, **targets: Tensor) -> Batch:
    """Every field the rollout keeps (observations, masks, actions, ...), with ``targets`` added."""
    return {**storage.tensors(), **targets}


def state_of(batch: Batch, policy: GroupedActorCritic) -> Tensor | None:
    """The batch's global state when the policy's critic reads it, else None."""
    return batch["state"] if policy.uses_state else None


def agent_mean(values: Tensor, active: Tensor) -> Tensor:
    """Mean over time and env copies of each agent's active entries, summed over agents.

    Summing over agents (rather than averaging) keeps each agent's loss at the scale
    it would have when learning alone, as independent learners see it.
    """
    weights = active.float()
    per_agent = (values * weights).reshape(-1, values.shape[-1]).sum(0)
    counts = weights.reshape(-1, values.shape[-1]).sum(0).clamp(min=1.0)
    return (per_agent / counts).sum()


def pooled_mean(values: Tensor, active: Tensor) -> Tensor:
    """Mean over the active entries of all agents together (0 when none is active)."""
    weights = active.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp(min=1.0)
