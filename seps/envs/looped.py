"""Batched envs over Python environments stepped one copy at a time (Gymnasium, PettingZoo, SMAC adapters).

:class:`LoopedEnv` turns E independent copies of a wrapped environment into the batched,
padded, auto-resetting interface of :mod:`seps.envs.base`. A Python loop over the copies is
unavoidable for wrapped envs; everything per agent inside a copy is numpy. Subclasses
implement two hooks, ``_reset_copy`` and ``_step_copy``; a third, ``_copy_state``, gives the
copy's global state when the wrapped env has one (SMAC's ``get_state``, PettingZoo's ``state``).
Without it the global state is the copy's concatenated (padded) observations, zeros for agents
that left: what EPyMARL's and MAPPO's wrappers give for envs without a state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult, check_action_spaces
from seps.errors import ConfigError, EnvError

REWARD_MODES = ("individual", "sum", "mean")


class CopyStep(NamedTuple):
    """What one copy reports after a reset or a step; arrays are already padded."""

    obs: np.ndarray
    """float32 (N, max_obs_dim)."""
    mask: np.ndarray
    """bool (N, max_n_actions): actions allowed on the next step (before the static mask)."""
    rewards: np.ndarray
    """float32 (N,)."""
    terminated: np.ndarray
    """bool (N,)."""
    truncated: np.ndarray
    """bool (N,)."""
    alive: np.ndarray
    """bool (N,): agents still in the episode after this step; none left ends the copy's episode."""


class LoopedEnv(MultiAgentEnv):
    """Batched env over E Python copies; subclasses implement ``_reset_copy`` and ``_step_copy``.

    Agents that left their episode early get zero observations, zero reward, ``active`` False
    and a mask that allows action 0 only (so a masked softmax stays defined).
    ``reward_mode`` "sum" or "mean" gives every agent the sum or mean of the agents' rewards.
    """

    def __init__(
        self,
        *,
        num_envs: int,
        observation_spaces: Sequence[spaces.Box],
        action_spaces: Sequence[spaces.Space],
        agent_types: np.ndarray | None,
        name: str,
        reward_mode: str = "individual",
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"{name}: num_envs must be an int >= 1, got {num_envs!r}")
        if reward_mode not in REWARD_MODES:
            raise ConfigError(f"{name}: reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        self.num_envs = num_envs
        self.name = name
        self.observation_spaces = tuple(observation_spaces)
        self.action_spaces = check_action_spaces(action_spaces, name)  # type: ignore[assignment]
        self.agent_types = None if agent_types is None else np.asarray(agent_types, dtype=np.int64)
        self.reward_mode = reward_mode
        self.team_reward = reward_mode != "individual"
        self._static_mask = self.static_action_mask()
        self._alive = np.ones((num_envs, self.n_agents), dtype=bool)
        self._homogeneous_obs = len(set(self.obs_dims.tolist())) == 1

    # -- hooks -------------------------------------------------------------------------------
    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        """Reset copy ``index`` (seeded with ``seed`` when given) and report its first observation."""
        raise NotImplementedError

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        """Apply ``actions`` (int64 (N,), or float32 (N, max_n_actions) for Box spaces) to copy ``index``."""
        raise NotImplementedError

    def _copy_state(self, index: int) -> np.ndarray:
        """float32 (state_dim,): copy ``index``'s global state as it is now (override with ``state_dim``).

        Called right after ``_reset_copy`` and ``_step_copy`` (so a copy whose episode ended gives
        its last state before the reset). Not overridden: the concatenated observations are used.
        """
        raise NotImplementedError

    @property
    def _has_own_state(self) -> bool:
        return type(self)._copy_state is not LoopedEnv._copy_state

    # -- helpers for subclasses --------------------------------------------------------------
    def pad_obs(self, per_agent: Sequence[Any]) -> np.ndarray:
        """Flatten and zero-pad one copy's per-agent observations into float32 (N, max_obs_dim)."""
        if self._homogeneous_obs:
            return np.asarray(per_agent, dtype=np.float32).reshape(self.n_agents, -1)
        out = np.zeros((self.n_agents, self.max_obs_dim), dtype=np.float32)
        for index, obs in enumerate(per_agent):
            flat = np.asarray(obs, dtype=np.float32).reshape(-1)
            out[index, : flat.size] = flat
        return out

    def full_mask(self) -> np.ndarray:
        """bool (N, max_n_actions): every action of every agent's space allowed."""
        return self._static_mask.copy()

    # -- MultiAgentEnv -----------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> StepResult:
        """Start new episodes in every copy; copy e is seeded with ``seed + e``."""
        shape = (self.num_envs, self.n_agents)
        obs = np.zeros((*shape, self.max_obs_dim), dtype=np.float32)
        mask = np.zeros((*shape, self.max_n_actions), dtype=bool)
        own_state = self._has_own_state and self.global_state_enabled
        state = np.zeros((self.num_envs, self.state_dim), dtype=np.float32) if own_state else None
        for index in range(self.num_envs):
            first = self._reset_copy(index, None if seed is None else seed + index)
            obs[index], mask[index] = first.obs, first.mask
            if state is not None:
                state[index] = self._copy_state(index)
        self._alive[:] = True
        false = np.zeros(shape, dtype=bool)
        if state is None and self.global_state_enabled:
            state = obs.reshape(self.num_envs, -1).copy()
        return StepResult(
            obs=obs,
            rewards=np.zeros(shape, dtype=np.float32),
            terminated=false,
            truncated=false.copy(),
            final_obs=obs.copy(),
            action_mask=mask & self._static_mask,
            active=np.ones(shape, dtype=bool),
            state=state,
            final_state=None if state is None else state.copy(),
        )

    def step(self, actions: np.ndarray) -> StepResult:
        """Apply ``actions`` (int (E, N)) in every copy; copies whose episode ended reset themselves."""
        actions = self.check_actions(actions)
        if not self.continuous_actions and ((actions < 0).any() or (actions >= self.n_actions).any()):
            raise EnvError(f"{self.name}: actions must lie in 0 .. n_actions[i]-1 = {self.n_actions - 1}")
        shape = (self.num_envs, self.n_agents)
        active = self._alive.copy()
        obs = np.empty((*shape, self.max_obs_dim), dtype=np.float32)
        mask = np.empty((*shape, self.max_n_actions), dtype=bool)
        rewards = np.empty(shape, dtype=np.float32)
        terminated = np.empty(shape, dtype=bool)
        truncated = np.empty(shape, dtype=bool)
        last_obs: dict[int, np.ndarray] = {}
        own_state = self._has_own_state and self.global_state_enabled
        state = np.empty((self.num_envs, self.state_dim), dtype=np.float32) if own_state else None
        final_state = np.empty_like(state) if state is not None else None
        for index in range(self.num_envs):
            out = self._step_copy(index, actions[index])
            rewards[index], terminated[index], truncated[index] = out.rewards, out.terminated, out.truncated
            if final_state is not None:
                final_state[index] = self._copy_state(index)
            if out.alive.any():
                obs[index], mask[index], self._alive[index] = out.obs, out.mask, out.alive
            else:
                last_obs[index] = out.obs
                first = self._reset_copy(index, None)
                obs[index], mask[index], self._alive[index] = first.obs, first.mask, True
            if state is not None and final_state is not None:
                state[index] = self._copy_state(index) if index in last_obs else final_state[index]
        gone = ~active
        rewards[gone] = 0.0
        if self.reward_mode == "sum":
            rewards[:] = rewards.sum(axis=1, keepdims=True)
        elif self.reward_mode == "mean":
            rewards[:] = rewards.mean(axis=1, keepdims=True)
        # Agents out of the episode: zero features, only action 0 allowed.
        left = ~self._alive
        obs[left] = 0.0
        mask &= self._static_mask
        mask[left] = False
        mask[left, 0] = True
        final_obs = obs.copy()
        for index, last in last_obs.items():
            final_obs[index] = last
            final_obs[index, gone[index]] = 0.0
        if self.global_state_enabled and (state is None or final_state is None):  # the concatenated observations
            state, final_state = obs.reshape(self.num_envs, -1), final_obs.reshape(self.num_envs, -1)
        return StepResult(
            obs=obs,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            action_mask=mask,
            active=active,
            state=state,
            final_state=final_state,
        )


def flat_box(space: spaces.Space) -> spaces.Box:
    """The flat float32 Box an agent's observation is turned into."""
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)
    flat = spaces.flatten_space(space)
    if not isinstance(flat, spaces.Box):
        raise EnvError(f"observation space {space} does not flatten to a Box; seps needs vector observations")
    return spaces.Box(flat.low.astype(np.float32), flat.high.astype(np.float32), dtype=np.float32)
