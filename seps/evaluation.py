"""Evaluation episodes and the paper's metric: the sum over agents of episode returns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from seps.envs.base import MultiAgentEnv, StepResult
from seps.nn.actor_critic import GroupedActorCritic


class EpisodeTracker:
    """Accumulates per-agent rewards over auto-resetting copies and yields finished episodes' returns."""

    def __init__(self, num_envs: int, n_agents: int, team_reward: bool) -> None:
        # With a team reward one column per copy suffices: every active agent carries the same reward.
        self.returns = np.zeros((num_envs, 1 if team_reward else n_agents), dtype=np.float64)
        self.team_reward = team_reward

    def add(self, result: StepResult) -> tuple[np.ndarray, np.ndarray]:
        """Add a step; return (copies that ended, their episode returns)."""
        rewards = np.where(result.active, result.rewards, 0.0)
        if self.team_reward:
            rewards = rewards.sum(axis=1, keepdims=True) / np.maximum(result.active.sum(axis=1, keepdims=True), 1)
        self.returns += rewards
        ended = MultiAgentEnv.episode_ended(result)
        if not ended.any():
            return ended, np.empty(0)
        totals = self.returns[ended].sum(axis=1)
        self.returns[ended] = 0.0
        return ended, totals


def episode_flags(env: MultiAgentEnv) -> list[float]:
    """Win flags (1/0) of the episodes that ended at the last step, for envs that report ``episode_wins``."""
    wins = getattr(env, "episode_wins", None)
    return [] if wins is None else [float(w) for w in np.asarray(wins) if not np.isnan(w)]


def evaluate(
    policy: GroupedActorCritic,
    env: MultiAgentEnv,
    prepare: Callable[..., Tensor],
    *,
    episodes: int,
    greedy: bool = True,
    seed: int = 0,
    generator: torch.Generator | None = None,
    wins: list[float] | None = None,
) -> np.ndarray:
    """Run ``episodes`` episodes (one per copy of ``env``) and return each one's total return.

    ``wins``, if given, receives the win flag of each of those episodes when the env reports one.
    On an env with per-episode types (``StepResult.episode_types``) every step routes each agent to
    its type's group in that episode, and ``prepare(obs, types)`` gets the types too.
    """
    if env.num_envs < episodes:
        raise ValueError(f"the evaluation env has {env.num_envs} copies but {episodes} episodes were asked for")
    tracker = EpisodeTracker(env.num_envs, env.n_agents, env.team_reward)
    returns = np.full(env.num_envs, np.nan)
    result = env.reset(seed)
    mask_device = next(policy.parameters()).device
    with torch.no_grad():
        while np.isnan(returns[:episodes]).any():
            mask = torch.tensor(result.action_mask, device=mask_device)
            types = result.episode_types
            obs = prepare(result.obs) if types is None else prepare(result.obs, types)
            with policy.row_groups(policy.groups_for(types)):
                actions, _ = policy.sample(obs, mask, greedy=greedy, generator=generator)
            result = env.step(policy.env_actions(actions).cpu().numpy())
            ended, totals = tracker.add(result)
            first_time = ended & np.isnan(returns)
            returns[first_time] = totals[first_time[ended]]
            flags = getattr(env, "episode_wins", None)
            if wins is not None and flags is not None:
                wins += [float(flags[i]) for i in np.flatnonzero(first_time[:episodes])]
    return returns[:episodes]
