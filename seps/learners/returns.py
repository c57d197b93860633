"""Bootstrapped return and advantage estimates over a rollout of T steps x E envs x N agents.

Step t's ``terminated``/``truncated`` describe the outcome of the action taken at step t
(as ``MultiAgentEnv.step`` reports it). The rules at episode boundaries:

* terminated at t: the return is just ``r_t``; nothing after t (the next episode) mixes in;
* truncated at t: bootstrap from ``V(final_obs_t)`` (``truncation_values[t]``), never from the
  next episode's first observation;
* the last step of the rollout (not ended) bootstraps from ``next_value = V(obs after the rollout)``.

The paper's public code multiplies the *reward* by ``1 - done`` instead of the bootstrap;
that drops the final reward of every episode and keeps bootstrapping across episodes, so it
is not repeated here. Team-reward envs need nothing special: every agent carries the team
reward. All inputs are tensors of shape (T, E, N); the loop runs over T only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seps.errors import ConfigError


def _check(rewards: Tensor, **others: Tensor) -> None:
    shape = rewards.shape
    if rewards.dim() < 1:
        raise ConfigError("rewards must have a leading time axis, shape (T, E, N)")
    for name, value in others.items():
        expected = shape[1:] if name == "next_value" else shape
        if value.shape != expected:
            raise ConfigError(f"{name} has shape {tuple(value.shape)}; expected {tuple(expected)} to match rewards")


def _bootstrap_targets(next_values: Tensor, terminated: Tensor, truncated: Tensor, truncation_values: Tensor) -> Tensor:
    """What step t bootstraps from: 0 after a termination, V(final obs) after a truncation, else ``next_values``."""
    terminated, truncated = terminated.bool(), truncated.bool()
    target = torch.where(truncated, truncation_values, next_values)
    return torch.where(terminated, torch.zeros_like(target), target)  # terminated wins over truncated


def n_step_returns(
    rewards: Tensor,
    values: Tensor,
    next_value: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    truncation_values: Tensor,
    gamma: float,
) -> Tensor:
    """A2C's T-step bootstrapped returns (T, E, N), computed backwards through the rollout.

    ``values`` (T, E, N) is only shape-checked; it is accepted so this function and :func:`gae`
    take the same arguments. ``next_value`` is (E, N).
    """
    _check(
        rewards,
        values=values,
        next_value=next_value,
        terminated=terminated,
        truncated=truncated,
        truncation_values=truncation_values,
    )
    returns = torch.empty_like(rewards)
    following = next_value
    for t in range(rewards.shape[0] - 1, -1, -1):
        target = _bootstrap_targets(following, terminated[t], truncated[t], truncation_values[t])
        following = rewards[t] + gamma * target
        returns[t] = following
    return returns


def gae(
    rewards: Tensor,
    values: Tensor,
    next_value: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    truncation_values: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimates and returns (advantages + values), each (T, E, N).

    The TD error at an episode's last step uses the same bootstrap rule as
    :func:`n_step_returns`, and the advantage recursion is cut there (``lam = 1`` gives
    exactly ``n_step_returns - values``).
    """
    _check(
        rewards,
        values=values,
        next_value=next_value,
        terminated=terminated,
        truncated=truncated,
        truncation_values=truncation_values,
    )
    advantages = torch.empty_like(rewards)
    following_value, following_advantage = next_value, torch.zeros_like(next_value)
    for t in range(rewards.shape[0] - 1, -1, -1):
        target = _bootstrap_targets(following_value, terminated[t], truncated[t], truncation_values[t])
        delta = rewards[t] + gamma * target - values[t]
        continues = ~(terminated[t].bool() | truncated[t].bool())
        following_advantage = delta + gamma * lam * continues * following_advantage
        advantages[t] = following_advantage
        following_value = values[t]
    return advantages, advantages + values
