"""Preallocated on-policy rollout buffer of T steps x E envs x N agents, shared by A2C and PPO."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from seps.device import resolve_device
from seps.errors import ConfigError
from seps.learners.returns import gae, n_step_returns

ArrayLike = np.ndarray | Tensor


class RolloutStorage:
    """Tensors for one rollout; row ``t`` holds the action taken at step t and what it led to.

    ``obs[t]`` and ``action_masks[t]`` are what the agents saw when acting at step t;
    ``rewards``, ``terminated``, ``truncated`` and ``active`` come from the step result of t;
    ``truncation_values[t]`` is ``V(final_obs_t)`` where ``truncated[t]`` (zero elsewhere).
    Fill with :meth:`insert` T times, compute targets, then :meth:`clear` for the next rollout.
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        n_agents: int,
        obs_dim: int,
        n_actions: int,
        device: torch.device | str = "cpu",
        action_shape: tuple[int, ...] = (),
        action_dtype: torch.dtype = torch.int64,
    ) -> None:
        sizes = {"n_steps": n_steps, "n_envs": n_envs, "n_agents": n_agents, "obs_dim": obs_dim, "n_actions": n_actions}
        for name, value in sizes.items():
            if value < 1:
                raise ConfigError(f"RolloutStorage {name} must be >= 1, got {value}")
        self.n_steps, self.n_envs, self.n_agents = n_steps, n_envs, n_agents
        self.device = resolve_device(device)
        shape = (n_steps, n_envs, n_agents)

        def zeros(*extra: int, dtype: torch.dtype = torch.float32) -> Tensor:
            return torch.zeros(*shape, *extra, dtype=dtype, device=self.device)

        self.obs = zeros(obs_dim)
        self.action_masks = zeros(n_actions, dtype=torch.bool)
        # One int64 per agent for Discrete actions; a float vector for Box actions (the policy's
        # ``action_shape`` / ``action_dtype``, e.g. :class:`~seps.nn.gaussian.GroupedGaussianActorCritic`).
        self.actions = zeros(*action_shape, dtype=action_dtype)
        self.log_probs = zeros()
        self.values = zeros()
        self.rewards = zeros()
        self.terminated = zeros(dtype=torch.bool)
        self.truncated = zeros(dtype=torch.bool)
        self.active = zeros(dtype=torch.bool)
        self.truncation_values = zeros()
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step == self.n_steps

    @torch.no_grad()
    def insert(
        self,
        *,
        obs: ArrayLike,
        action_masks: ArrayLike,
        actions: ArrayLike,
        log_probs: ArrayLike,
        values: ArrayLike,
        rewards: ArrayLike,
        terminated: ArrayLike,
        truncated: ArrayLike,
        active: ArrayLike,
        truncation_values: ArrayLike | None = None,
    ) -> None:
        """Store step ``self.step`` (numpy or torch inputs; tensors are copied, detached, and cast)."""
        if self.full:
            raise ConfigError(f"RolloutStorage is full ({self.n_steps} steps); call clear() after the update")
        t = self.step
        sources = {
            "obs": obs,
            "action_masks": action_masks,
            "actions": actions,
            "log_probs": log_probs,
            "values": values,
            "rewards": rewards,
            "terminated": terminated,
            "truncated": truncated,
            "active": active,
        }
        for name, value in sources.items():  # check every shape before writing anything
            expected = getattr(self, name).shape[1:]
            if tuple(value.shape) != tuple(expected):
                raise ConfigError(f"{name} has shape {tuple(value.shape)}; the rollout expects {tuple(expected)}")
        for name, value in sources.items():
            getattr(self, name)[t].copy_(torch.as_tensor(value))
        if truncation_values is None:
            self.truncation_values[t].zero_()
        else:
            # Only truncated agents bootstrap from V(final_obs); zeros elsewhere keep the buffer easy to read.
            source = torch.as_tensor(truncation_values, device=self.device, dtype=torch.float32)
            self.truncation_values[t] = torch.where(self.truncated[t], source, torch.zeros_like(source))
        self.step += 1

    def clear(self) -> None:
        """Start the next rollout (buffers are overwritten, not reallocated)."""
        self.step = 0

    def _check_full(self) -> None:
        if not self.full:
            raise ConfigError(f"the rollout holds {self.step} of {self.n_steps} steps; insert them all first")

    def n_step_returns(self, next_value: Tensor, gamma: float) -> Tensor:
        """A2C targets (T, E, N); ``next_value`` (E, N) is V of the observations after the last step."""
        self._check_full()
        return n_step_returns(
            self.rewards,
            self.values,
            next_value.to(self.device),
            self.terminated,
            self.truncated,
            self.truncation_values,
            gamma,
        )

    def gae(self, next_value: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
        """PPO advantages and returns (T, E, N); ``next_value`` (E, N) as for :meth:`n_step_returns`."""
        self._check_full()
        return gae(
            self.rewards,
            self.values,
            next_value.to(self.device),
            self.terminated,
            self.truncated,
            self.truncation_values,
            gamma,
            lam,
        )
