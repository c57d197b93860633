"""Diagonal-Gaussian actor heads for Box action spaces, parameters shared within each group of agents.

The actor's :class:`~seps.nn.grouped.GroupedMLP` outputs each agent's action mean; every group has
its own state-independent log standard deviation per action dimension (``log_std`` (K, A)), as in
SB3's ``DiagGaussianDistribution`` (``stable_baselines3/common/distributions.py``: a learned
``log_std`` vector, not a network output) and CleanRL's ``ppo_continuous_action.py``
(``actor_logstd`` parameter). Agents whose action spaces have fewer dimensions than the widest
(``action_dims[i] < A``) are padded like observations: their extra dimensions are always 0, add
nothing to log-probs or entropies, and so get no gradient.

The Gaussian lives in a normalised action space: each bounded dimension's [low, high] is mapped to
[-1, 1], so a new policy (mean ~0, ``log_std`` 0) is centred on the box with a standard deviation of
half its width, whatever the env's bounds are. That is SB3's advice (``docs/guide/rl_tips.rst``, "Why
should I normalize the action space?": the Gaussian starts at mean 0 with std 1, so an unnormalised
space "can harm learning") and TorchRL's ``ActionScaling`` transform (``loc = (high + low) / 2``,
``scale = (high - low) / 2``). Without it mpe2's ``Box(0, 1)`` put the initial mean on the lower
edge: half of every sample clipped to 0, and the greedy (mean) action sat in the flat clipped region.
Unbounded dimensions keep loc 0 and scale 1.

Actions are sampled unclipped, in the normalised space, and the learner keeps those (their log-probs
are the ones the policy gave); only the copy sent to the env is rescaled and clipped to the space
(:meth:`env_actions`). That is SB3's convention (``OnPolicyAlgorithm.collect_rollouts``:
``np.clip(actions, low, high)`` for the env, the raw actions to the rollout buffer) and CleanRL's
(``gym.wrappers.ClipAction`` around the env in ``ppo_continuous_action.py``). No tanh squashing.

Same interface as :class:`~seps.nn.actor_critic.GroupedActorCritic` (``act``, ``sample``,
``evaluate``, ``value``) so A2C and PPO use either; ``action_shape`` / ``action_dtype`` tell the
rollout storage what an action is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from seps.errors import ConfigError
from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class GroupedGaussianActorCritic(GroupedActorCritic):
    """Grouped actor-critic whose agent i acts from ``Normal(mean_i(obs), exp(log_std[group_i]))`` per dimension.

    ``action_dims`` (N,) are the agents' real action sizes; ``low`` / ``high`` (N, A) their bounds
    (padded dimensions ignored). ``static_mask`` (N, A) marks the real dimensions.
    """

    action_dtype = torch.float32
    low: Tensor
    high: Tensor
    loc: Tensor
    scale: Tensor

    def __init__(
        self,
        n_agents: int,
        assignment: Sequence[int] | np.ndarray | Tensor,
        obs_dim: int,
        action_dims: Sequence[int] | np.ndarray,
        low: np.ndarray | Tensor | None = None,
        high: np.ndarray | Tensor | None = None,
        config: ActorCriticConfig | None = None,
        log_std_init: float = 0.0,
        state_dim: int = 0,
    ) -> None:
        dims = np.asarray(action_dims, dtype=np.int64)
        if dims.shape != (n_agents,) or (dims < 1).any():
            raise ConfigError(f"action_dims must give each of the {n_agents} agents a size >= 1, got {dims.tolist()}")
        width = int(dims.max())
        mask = np.arange(width)[None, :] < dims[:, None]
        super().__init__(n_agents, assignment, obs_dim, width, action_mask=mask, config=config, state_dim=state_dim)
        self.action_shape = (width,)
        self.action_dims = dims
        self.log_std = nn.Parameter(torch.full((self.n_groups, width), float(log_std_init)))
        bounds = {"low": (low, -math.inf), "high": (high, math.inf)}
        for name, (value, default) in bounds.items():
            tensor = torch.full((n_agents, width), default) if value is None else torch.as_tensor(value).float()
            if tensor.shape != (n_agents, width):
                raise ConfigError(f"{name} must have shape (n_agents, max action dim) = {(n_agents, width)}")
            self.register_buffer(name, torch.where(self.static_mask, tensor, torch.zeros_like(tensor)))
        # normalised action u -> env action loc + scale * u (TorchRL ActionScaling); identity where unbounded
        bounded = torch.isfinite(self.low) & torch.isfinite(self.high) & (self.high > self.low)
        self.register_buffer("loc", torch.where(bounded, (self.high + self.low) / 2, torch.zeros_like(self.low)))
        self.register_buffer("scale", torch.where(bounded, (self.high - self.low) / 2, torch.ones_like(self.low)))

    def _distribution(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """Means and log standard deviations (..., N, A), zero in padded dimensions."""
        self._check_obs(obs)
        mean = self.actor(obs, self.routing())
        log_std = self.log_std[self.assignment].expand_as(mean)
        zeros = torch.zeros((), dtype=mean.dtype, device=mean.device)
        return torch.where(self.static_mask, mean, zeros), torch.where(self.static_mask, log_std, zeros)

    def _log_prob(self, mean: Tensor, log_std: Tensor, actions: Tensor) -> Tensor:
        # Normal log-density per dimension; torch.where (not a product with the mask) keeps padded
        # dimensions out of the sum *and* out of the gradient.
        per_dim = -0.5 * ((actions - mean) * torch.exp(-log_std)) ** 2 - log_std - _HALF_LOG_2PI
        return torch.where(self.static_mask, per_dim, torch.zeros_like(per_dim)).sum(dim=-1)

    def _choice_entropy(self, log_std: Tensor) -> Tensor:
        per_dim = log_std + 0.5 + _HALF_LOG_2PI
        return torch.where(self.static_mask, per_dim, torch.zeros_like(per_dim)).sum(dim=-1)

    def forward(
        self, obs: Tensor, action_mask: Tensor | None = None, state: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """obs (..., N, D) -> action means (..., N, A) and values (..., N); ``action_mask`` is not used."""
        mean, _ = self._distribution(obs)
        return mean, self.critic_values(obs, state, self.routing())

    def _choose(
        self, obs: Tensor, action_mask: Tensor | None, greedy: bool, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Unclipped actions (..., N, A), their log-probs (..., N) and the log standard deviations."""
        mean, log_std = self._distribution(obs)
        if greedy:
            actions = mean
        else:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            actions = mean + torch.where(self.static_mask, noise, torch.zeros_like(noise)) * log_std.exp()
        return actions, self._log_prob(mean, log_std, actions), log_std

    def evaluate(
        self, obs: Tensor, action_mask: Tensor | None, actions: Tensor, state: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Log-probs of ``actions`` (..., N, A) -> (..., N), entropies (..., N) and values (..., N), with gradients."""
        mean, log_std = self._distribution(obs)
        values = self.critic_values(obs, state, self.routing())
        return self._log_prob(mean, log_std, actions.to(mean.dtype)), self._choice_entropy(log_std), values

    def regroup(
        self, labels: Sequence[int] | np.ndarray | Tensor, optimizer: torch.optim.Optimizer | None = None
    ) -> np.ndarray:
        # The per-group log-std is not a GroupedLinear, so seps.nn.regroup would leave it with the old K.
        raise ConfigError(
            "adaptive SePS (repartition_every) cannot regroup a Gaussian (Box-action) policy yet: its per-group "
            "log-std is not remapped; use a fixed partition or the env's discrete actions"
        )

    def env_actions(self, actions: Tensor) -> Tensor:
        """The env's actions for normalised ``actions``: ``loc + scale * actions`` clamped to [low, high], padding 0.

        For a bounded dimension this is ``clip(actions, -1, 1)`` mapped affinely onto [low, high].
        """
        rescaled = torch.minimum(torch.maximum(self.loc + self.scale * actions, self.low), self.high)
        return torch.where(self.static_mask, rescaled, torch.zeros_like(rescaled))
