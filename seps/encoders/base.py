"""The encoder-decoder model of SePS (paper Section 3.1, Fig. 2) and its training loop.

An *agent latent* maps the agent id i to a code z (the encoder f_e); the decoder
receives (o_t, one-hot a_t, z) and predicts the next observation (head f_po) and the
reward (head f_pr). Only z carries the agent's identity, so agents whose transition and
reward functions agree end up with nearby codes. Subclasses choose the latent: a
Gaussian with a KL penalty (``vae``) or a plain learned vector (``deterministic``).

Loss per transition of agent i, averaged over a batch::

    mean over the obs_dims[i] real features of (f_po - target)^2 + (f_pr - r)^2 + latent penalty

Targets are standardised and padding is masked as described in :mod:`seps.encoders.data`.

Defaults: m = 5, two hidden layers of 64, batch 128 as in the paper (Section 4.8). The
paper's Adam rate 3e-4 is its RL rate; here 1e-3 reaches the same partition in a third
of the updates. Davies-Bouldin splits a colour of two agents unless both codes nearly
coincide, and the updates / learning rate / KL weight defaults were chosen (measured on
bps-4, seeds 0-4) so that they do.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from torch import nn

from seps.device import resolve_device
from seps.encoders.data import TrainingData, check_transitions, feature_mask
from seps.errors import ConfigError
from seps.records import Embeddings, Transitions

logger = logging.getLogger(__name__)

_LOSS_RECORDS = 100
"""How many averaged loss values ``fit`` records over a run."""


def positive(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a positive number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ConfigError(f"'{attribute.name}' must be a positive number, got {value!r}")


def positive_int(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigError(f"'{attribute.name}' must be a positive integer, got {value!r}")


def _layer_sizes(instance: Any, attribute: Any, value: tuple[int, ...]) -> None:
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"'{attribute.name}' must be a sequence of positive integers, got {value!r}")


def _device_name(instance: Any, attribute: Any, value: Any) -> None:
    resolve_device(value)  # raises ConfigError naming the valid choices


def mlp(in_size: int, hidden_sizes: tuple[int, ...], out_size: int) -> nn.Sequential:
    """Fully connected ReLU network."""
    layers: list[nn.Module] = []
    for size in hidden_sizes:
        layers += [nn.Linear(in_size, size), nn.ReLU()]
        in_size = size
    layers.append(nn.Linear(in_size, out_size))
    return nn.Sequential(*layers)


class AgentLatent(nn.Module, ABC):
    """The encoder f_e: agent ids -> latent codes z."""

    @abstractmethod
    def forward(self, agent_id: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Return codes (B, m) for the ids and the scalar penalty added to the loss."""

    @abstractmethod
    def means(self) -> torch.Tensor:
        """The embedding of every agent, (N, m)."""


class TransitionDecoder(nn.Module):
    """The decoder f_p = (f_po, f_pr): (obs, one-hot action, z) -> (next-obs change, reward)."""

    def __init__(self, input_size: int, obs_size: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.obs_head = mlp(input_size, hidden_sizes, obs_size)
        self.reward_head = mlp(input_size, hidden_sizes, 1)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.obs_head(inputs), self.reward_head(inputs)[:, 0]


def _adam(parameters: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam, fused where this torch supports it (about 30% faster per update on small CPU models)."""
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(parameters, lr=lr)


@attrs.frozen(kw_only=True)
class IdentityEncoder(ABC):
    """Base estimator: holds the configuration; :meth:`fit` trains a fresh model on a buffer."""

    name: ClassVar[str] = "encoder"

    latent_dim: int = attrs.field(default=5, validator=positive_int)
    """Size m of the embedding space."""
    hidden_sizes: tuple[int, ...] = attrs.field(default=(64, 64), converter=tuple, validator=_layer_sizes)
    """Hidden layer widths of the encoder and of each decoder head."""
    batch_size: int = attrs.field(default=128, validator=positive_int)
    """Transitions per gradient step, sampled uniformly from the buffer."""
    lr: float = attrs.field(default=1e-3, validator=positive)
    """Adam learning rate (the paper's RL rate 3e-4 would need ~3x the updates for the same partition)."""
    updates: int = attrs.field(default=16000, validator=positive_int)
    """Number of gradient steps (about 20 s on one CPU core)."""
    device: str = attrs.field(default="auto", validator=_device_name)
    """Torch device: 'auto', 'cpu' or 'cuda[:index]'."""

    @abstractmethod
    def make_latent(self, n_agents: int) -> AgentLatent:
        """Build the encoder f_e for ``n_agents`` agents."""

    def fit(self, transitions: Transitions, seed: int = 0) -> Embeddings:
        """Train the encoder-decoder on ``transitions``; return the encoder mean of every agent.

        The same seed gives identical embeddings on the CPU; the global torch RNG is left untouched.
        """
        check_transitions(transitions)
        device = resolve_device(self.device)
        data = TrainingData.build(transitions, device)
        obs_size = data.obs_target.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            latent = self.make_latent(transitions.n_agents).to(device)
            decoder = TransitionDecoder(data.inputs.shape[1] + self.latent_dim, obs_size, self.hidden_sizes).to(device)
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        optimiser = _adam([*latent.parameters(), *decoder.parameters()], self.lr)
        interval = max(1, self.updates // _LOSS_RECORDS)
        running = torch.zeros((), device=device)
        losses: list[float] = []
        for update in range(1, self.updates + 1):
            index = torch.randint(len(data), (self.batch_size,), device=device, generator=generator)
            agent_id = data.agent_id[index]
            z, penalty = latent(agent_id, generator)
            obs_pred, reward_pred = decoder(torch.cat([data.inputs[index], z], dim=1))
            dims = data.obs_dims[agent_id]
            squared = (obs_pred - data.obs_target[index]).square() * feature_mask(dims, obs_size)
            obs_loss = (squared.sum(1) / dims.clamp(min=1)).mean()
            reward_loss = (reward_pred - data.reward_target[index]).square().mean()
            loss = obs_loss + reward_loss + penalty
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.detach()
            if update % interval == 0:
                losses.append(float(running) / interval)
                running.zero_()
        with torch.no_grad():
            means = latent.means().cpu().numpy().astype(np.float32)
        logger.info("%s encoder: %d updates, final loss %.4f", self.name, self.updates, losses[-1])
        return Embeddings(means=means, encoder=self.name, losses=tuple(losses))
