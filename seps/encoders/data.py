"""Checking a :class:`~seps.records.Transitions` buffer and turning it into training tensors.

Padding rule: agent i's observation is real in its first ``obs_dims[i]`` columns and
padding after that. Every padded column is zeroed in the decoder's input and masked
out of the observation loss, and the standardisation statistics of a column are
computed only from the transitions where that column is real. So whatever the padded
columns hold, the encoder and its embeddings are unchanged.

Normalisation: the decoder's input observation, its target (the change
``next_obs - obs``, i.e. the next observation relative to the current one) and the
reward are standardised per feature with statistics of the whole buffer (one shared
set for all agents, so differences between agents are kept). Features that never vary
are only centred. This puts the reward and every observation feature on the same
scale, so neither loss term drowns the other. The standardised reward is then clipped to
``±reward_clip``: a sparse reward standardises to huge values (crware-3 with random actions: 2
deliveries in 204,800 transitions give 320), and one such squared error (10^5) outweighed whole
batches, inflating Adam's second moments of the encoder every time it was drawn; on crware-3 seed 2
the codes then never separated the colours in 16,000 updates (with the clip: from 8,000).

Actions: a Discrete action is one-hot; a Box action (``action`` (T, A)) is standardised per
dimension over the transitions where the dimension is real, padding zeroed, as observations are.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch

from seps.errors import ConfigError
from seps.records import Transitions

_MIN_STD = 1e-6


def check_transitions(transitions: Transitions) -> None:
    """Raise :class:`ConfigError` if the buffer cannot train an encoder."""
    n_agents = transitions.n_agents
    count = len(transitions)
    if count == 0:
        raise ConfigError("the transitions buffer is empty; collect at least one step before fitting an encoder")
    if n_agents == 0 or transitions.n_actions.shape != (n_agents,):
        raise ConfigError(
            f"obs_dims {transitions.obs_dims.shape} and n_actions {transitions.n_actions.shape} must both be (N,)"
        )
    width = int(transitions.obs.shape[1]) if transitions.obs.ndim == 2 else -1
    continuous = transitions.action.ndim == 2
    action_shape = (count, int(transitions.n_actions.max())) if continuous else (count,)
    expected = {"obs": (count, width), "next_obs": (count, width), "action": action_shape, "reward": (count,)}
    for name, shape in expected.items():
        if getattr(transitions, name).shape != shape:
            raise ConfigError(f"transitions.{name} has shape {getattr(transitions, name).shape}, expected {shape}")
    if width < int(transitions.obs_dims.max()):
        raise ConfigError(f"observations have {width} columns but obs_dims asks for {int(transitions.obs_dims.max())}")
    agent_id = transitions.agent_id
    if agent_id.min() < 0 or agent_id.max() >= n_agents:
        raise ConfigError(f"agent ids must lie in 0..{n_agents - 1}, got {agent_id.min()}..{agent_id.max()}")
    missing = np.flatnonzero(np.bincount(agent_id, minlength=n_agents) == 0)
    if missing.size:
        raise ConfigError(f"agents {missing.tolist()} have no transitions; collect more steps")
    action = transitions.action
    if not continuous and (action.min() < 0 or np.any(action >= transitions.n_actions[agent_id])):
        raise ConfigError("some actions lie outside their agent's action space 0..n_actions[i]-1")
    for name in ("obs", "next_obs", "reward", "action"):
        if not np.all(np.isfinite(getattr(transitions, name))):
            raise ConfigError(f"transitions.{name} contains NaN or infinite values; check the env's outputs")


def _standardise(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Standardise each column over its masked-in rows; masked-out entries become 0."""
    values = values * mask
    count = mask.sum(0).clamp(min=1.0)
    mean = values.sum(0) / count
    centred = (values - mean) * mask
    std = (centred.square().sum(0) / count).sqrt()
    return centred / torch.where(std > _MIN_STD, std, torch.ones_like(std))


def _action_features(transitions: Transitions) -> torch.Tensor:
    """float32 (T, A): one-hot Discrete actions, or Box actions standardised over each agent's real dimensions."""
    width = int(transitions.n_actions.max())
    if transitions.action.ndim == 1:
        return torch.nn.functional.one_hot(torch.as_tensor(transitions.action, dtype=torch.int64), width).float()
    n_actions = torch.as_tensor(transitions.n_actions, dtype=torch.int64)
    real = feature_mask(n_actions[torch.as_tensor(transitions.agent_id, dtype=torch.int64)], width).float()
    return _standardise(torch.as_tensor(transitions.action, dtype=torch.float32), real)


@attrs.frozen(kw_only=True)
class TrainingData:
    """Standardised tensors of a buffer, on one device (see the module docstring for the rules)."""

    agent_id: torch.Tensor
    """int64 (T,)."""
    inputs: torch.Tensor
    """float32 (T, D + A): standardised, padding-zeroed observation and one-hot (or standardised Box) action."""
    obs_target: torch.Tensor
    """float32 (T, D): standardised next-observation change, padding zeroed."""
    reward_target: torch.Tensor
    """float32 (T,): standardised reward."""
    obs_weight: torch.Tensor
    """float32 (N, D): 1 / obs_dims[i] on agent i's real features, 0 on padding (a per-feature mean of the loss)."""

    @classmethod
    def build(cls, transitions: Transitions, device: torch.device, reward_clip: float | None = None) -> TrainingData:
        """Standardised tensors of ``transitions``; the standardised reward clipped to ±``reward_clip`` if given."""
        agent_id = torch.as_tensor(transitions.agent_id, dtype=torch.int64)
        obs_dims = torch.as_tensor(transitions.obs_dims, dtype=torch.int64)
        obs = torch.as_tensor(transitions.obs, dtype=torch.float32)
        next_obs = torch.as_tensor(transitions.next_obs, dtype=torch.float32)
        mask = feature_mask(obs_dims[agent_id], obs.shape[1]).float()
        raw_reward = torch.as_tensor(transitions.reward, dtype=torch.float32)[:, None]
        reward = _standardise(raw_reward, torch.ones_like(raw_reward))
        if reward_clip is not None:
            reward = reward.clamp(-reward_clip, reward_clip)
        inputs = torch.cat([_standardise(obs, mask), _action_features(transitions)], dim=1)
        return cls(
            agent_id=agent_id.to(device),
            inputs=inputs.to(device),
            obs_target=_standardise(next_obs - obs, mask).to(device),
            reward_target=reward[:, 0].to(device),
            obs_weight=(feature_mask(obs_dims, obs.shape[1]).float() / obs_dims.clamp(min=1)[:, None]).to(device),
        )

    def __len__(self) -> int:
        return int(self.agent_id.shape[0])

    def subset(self, rows: np.ndarray) -> TrainingData:
        """The transitions at ``rows`` (statistics stay those of the whole buffer)."""
        index = torch.as_tensor(rows, dtype=torch.int64, device=self.agent_id.device)
        return attrs.evolve(
            self,
            agent_id=self.agent_id[index],
            inputs=self.inputs[index],
            obs_target=self.obs_target[index],
            reward_target=self.reward_target[index],
        )


def feature_mask(dims: torch.Tensor, width: int) -> torch.Tensor:
    """bool (B, width): True in the first ``dims[b]`` columns of row b."""
    return torch.arange(width, device=dims.device)[None, :] < dims[:, None]
