"""A user's own module, outside ``seps/``: one of every extension, registered without editing seps.

docs/architecture.md points here. ``tests/test_architecture.py`` trains with all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from seps.callbacks import TrainerCallback
from seps.envs.looped import CopyStep, LoopedEnv
from seps.learners.a2c import A2C
from seps.learners.base import Batch, rollout_batch
from seps.learners.returns import n_step_returns
from seps.learners.rollout import RolloutField, RolloutStep, RolloutStorage
from seps.methods import SharingMode
from seps.nn.actor_critic import GroupedActorCritic
from seps.records import Embeddings, Partition, Transitions
from seps.registry import ENCODERS, ENVS, LEARNERS, METHODS, PARTITIONERS

# -- env: two planted types; an agent is rewarded for the action equal to its type ----------------------------


class TwoTypeEnv(LoopedEnv):
    """N agents of two types (first half 0, second half 1); reward 1 for taking the action equal to the type."""

    built = 0
    """How many instances were constructed (the tests count env constructions)."""

    def __init__(self, num_envs: int = 1, n_agents: int = 4, episode_limit: int = 5) -> None:
        TwoTypeEnv.built += 1
        self.types = (np.arange(n_agents) >= n_agents // 2).astype(np.int64)
        self.episode_limit = episode_limit
        box = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        super().__init__(
            num_envs=num_envs,
            observation_spaces=[box] * n_agents,
            action_spaces=[spaces.Discrete(2)] * n_agents,
            agent_types=self.types,
            name="ext-two-types",
        )
        self._rngs = [np.random.default_rng(index) for index in range(num_envs)]
        self._steps = np.zeros(num_envs, dtype=np.int64)

    def _observe(self, index: int) -> np.ndarray:
        noise = self._rngs[index].uniform(-1, 1, size=(self.n_agents, 2))
        clock = np.full((self.n_agents, 1), self._steps[index] / self.episode_limit)
        return np.concatenate([noise, clock], axis=1).astype(np.float32)

    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        if seed is not None:
            self._rngs[index] = np.random.default_rng(seed)
        self._steps[index] = 0
        n = self.n_agents
        false = np.zeros(n, dtype=bool)
        return CopyStep(self._observe(index), self.full_mask(), np.zeros(n, np.float32), false, false, ~false)

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        self._steps[index] += 1
        n = self.n_agents
        rewards = (actions == self.types).astype(np.float32)
        truncated = np.full(n, self._steps[index] >= self.episode_limit)
        false = np.zeros(n, dtype=bool)
        return CopyStep(self._observe(index), self.full_mask(), rewards, false, truncated, ~truncated)


def make_two_types(num_envs: int = 1, *, n_agents: int = 4, episode_limit: int = 5) -> TwoTypeEnv:
    """Factory of the ``ext-two-types`` env."""
    return TwoTypeEnv(num_envs=num_envs, n_agents=n_agents, episode_limit=episode_limit)


make_two_types.agent_count = lambda n_agents=4, **_: n_agents  # type: ignore[attr-defined]
ENVS.register("ext-two-types", make_two_types)


# -- encoder: each agent's code is its mean reward per action --------------------------------------------------


@ENCODERS.register("ext_reward_table")
@attrs.frozen(kw_only=True)
class RewardTableEncoder:
    """Embeds an agent as the mean reward it got for each action (no training)."""

    def fit(self, transitions: Transitions, seed: int = 0) -> Embeddings:
        n_actions = int(transitions.n_actions.max())
        means = np.zeros((transitions.n_agents, n_actions), dtype=np.float32)
        for agent in range(transitions.n_agents):
            for action in range(n_actions):
                chosen = (transitions.agent_id == agent) & (transitions.action == action)
                means[agent, action] = transitions.reward[chosen].mean() if chosen.any() else 0.0
        return Embeddings(means=means, encoder="ext_reward_table")


# -- partitioner: agents whose best action agrees share a group -----------------------------------------------


@PARTITIONERS.register("ext_argmax")
@attrs.frozen(kw_only=True)
class ArgmaxPartitioner:
    """Groups agents by the index of their largest embedding coordinate."""

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        means = embeddings.means if isinstance(embeddings, Embeddings) else np.asarray(embeddings)
        return Partition(labels=means.argmax(axis=1), method="ext_argmax")


# -- sharing mode: the first and second half of the agents, without any data -----------------------------------


@attrs.frozen(kw_only=True)
class Halves:
    """Data-free partitioner: agents 0..N/2-1 in group 0, the rest in group 1."""

    def fit_agents(self, n_agents: int, seed: int = 0) -> Partition:
        return Partition(labels=(np.arange(n_agents) >= n_agents // 2).astype(np.int64), method="halves")

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        n = embeddings.n_agents if isinstance(embeddings, Embeddings) else len(embeddings)
        return self.fit_agents(n, seed)


@METHODS.register("ext_halves")
def halves_mode() -> SharingMode:
    """Two fixed groups (first half, second half) with agent ids appended."""
    return SharingMode(partitioner=Halves(), append_agent_ids=True, title="Halves+id")


# -- learner: A2C that also logs a diagnostic the built-ins do not have -------------------------------------------


@LEARNERS.register("ext_a2c")
@attrs.frozen(kw_only=True)
class A2CWithAdvantage(A2C):
    """A2C that logs the mean absolute advantage (a new metric: it must reach metrics.csv)."""

    def losses(self, policy: GroupedActorCritic, batch: Any) -> dict[str, Tensor]:
        losses = super().losses(policy, batch)
        _, _, values = policy.evaluate(batch["obs"], batch["action_masks"], batch["actions"])
        losses["abs_advantage"] = (batch["returns"] - values).abs().mean().detach()
        return losses


# -- learner with its own rollout field: A2C on the agents' mean reward -------------------------------------------


def _team_rewards(step: RolloutStep) -> Tensor:
    rewards = step.from_result("rewards")
    return rewards.mean(dim=-1, keepdim=True).expand_as(rewards)


TEAM_REWARDS = RolloutField("team_rewards", lambda layout: (layout.n_agents,), torch.float32, _team_rewards)
"""(E, N) per step: the mean reward of the copy's agents, given to every agent (a field seps does not have)."""


@LEARNERS.register("ext_team_a2c")
@attrs.frozen(kw_only=True)
class TeamRewardA2C(A2C):
    """A2C whose returns are built from the agents' mean reward, kept in its own rollout field."""

    rollout_fields = (*A2C.rollout_fields, TEAM_REWARDS)

    def batches(self, storage: RolloutStorage, next_value: Tensor, generator: torch.Generator) -> Iterator[Batch]:
        team = storage.team_rewards
        returns = n_step_returns(
            team, team, next_value, storage.terminated, storage.truncated, storage.truncation_values, self.gamma
        )
        yield rollout_batch(storage, returns=returns)

    def losses(self, policy: GroupedActorCritic, batch: Any) -> dict[str, Tensor]:
        losses = super().losses(policy, batch)
        losses["team_reward"] = batch["team_rewards"].mean().detach()
        return losses


# -- trainer behaviour: a callback that records the hooks and halves the learning rate at every evaluation -------


class RecordingCallback(TrainerCallback):
    """Records ``(hook, env_steps)``; halves every parameter group's learning rate after each evaluation."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.lrs: list[float] = []

    def on_train_start(self, trainer: Any) -> None:
        self.calls.append(("train_start", trainer.env_steps))

    def on_rollout_end(self, trainer: Any) -> None:
        self.calls.append(("rollout_end", trainer.env_steps))

    def on_update_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        self.calls.append(("update_end", trainer.env_steps))

    def on_evaluation_end(self, trainer: Any, mean: float, std: float) -> None:
        self.calls.append(("evaluation_end", trainer.env_steps))
        for group in trainer.optimizer.param_groups:
            group["lr"] *= 0.5
        self.lrs.append(trainer.optimizer.param_groups[0]["lr"])

    def on_train_end(self, trainer: Any) -> None:
        self.calls.append(("train_end", trainer.env_steps))
