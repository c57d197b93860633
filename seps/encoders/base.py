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
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from torch import nn

from seps.device import resolve_device
from seps.encoders.data import TrainingData, check_transitions
from seps.encoders.flat_adam import FlatAdam
from seps.encoders.manual import BatchStream, ManualLatent, ManualLoss, autograd_loss
from seps.encoders.swap import partner_table, split_held_out, swap_losses
from seps.errors import ConfigError
from seps.records import Embeddings, Transitions
from seps.validators import layer_sizes as _layer_sizes
from seps.validators import non_negative as _non_negative
from seps.validators import positive, positive_int, positive_or_none

logger = logging.getLogger(__name__)

_MAX_CHUNK = 1000
"""Most batches gathered at once (memory: chunk x batch x row width floats)."""


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

    def log_vars(self) -> torch.Tensor | None:
        """Log-variance of every agent's code, (N, m), for latents with a posterior; None otherwise."""
        return None


class TransitionDecoder(nn.Module):
    """The decoder f_p = (f_po, f_pr): (obs, one-hot action, z) -> (next-obs change, reward)."""

    def __init__(self, input_size: int, obs_size: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.obs_head = mlp(input_size, hidden_sizes, obs_size)
        self.reward_head = mlp(input_size, hidden_sizes, 1)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.obs_head(inputs), self.reward_head(inputs)[:, 0]


@attrs.frozen(kw_only=True)
class EncoderCheck:
    """What :meth:`IdentityEncoder.fit` reports at every convergence check (for progress displays and studies)."""

    update: int
    """Gradient steps taken so far."""
    max_updates: int
    """The update budget (training may stop before it)."""
    loss: float
    """Mean training loss since the previous check."""
    change: float
    """Relative movement of the embeddings since the previous check (see :func:`relative_change`)."""
    means: np.ndarray
    """float32 (N, m): the codes now."""
    log_vars: np.ndarray | None
    """float32 (N, m) posterior log-variances, or None for latents without a posterior."""


EncoderCallback = Callable[[EncoderCheck], None]


def relative_change(previous: np.ndarray, current: np.ndarray) -> float:
    """How much the geometry of the codes changed: RMS change of the pairwise distances, each set scaled to RMS 1.

    Only distances matter to the partitioners, so a common drift, rotation or growth of all codes
    (the KL term keeps pulling them for thousands of updates) counts as no change; free of the
    latent's scale, so one tolerance serves every env. 0 for a single agent; inf while codes coincide.
    """
    if len(current) < 2:
        return 0.0
    rows, cols = np.triu_indices(len(current), 1)
    before = np.linalg.norm(previous[rows] - previous[cols], axis=1)
    after = np.linalg.norm(current[rows] - current[cols], axis=1)
    scale_before, scale_after = np.sqrt(np.mean(before**2)), np.sqrt(np.mean(after**2))
    if scale_before == 0 or scale_after == 0:
        return float("inf")
    return float(np.sqrt(np.mean((after / scale_after - before / scale_before) ** 2)))


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
    """Largest number of gradient steps (about 13 s on one CPU core); training usually stops earlier."""
    check_interval: int = attrs.field(default=500, validator=positive_int)
    """Gradient steps between convergence checks (and progress reports)."""
    stop_change: float = attrs.field(default=0.1, validator=_non_negative)
    """Stop once the codes' pairwise distances change less than this between checks (see
    :func:`relative_change`; 0: never stop early)."""
    patience: int = attrs.field(default=2, validator=positive_int)
    """Consecutive checks below ``stop_change`` needed to stop."""
    min_updates: int = attrs.field(default=8000, validator=_non_negative)
    """No early stop before this many updates (the first checks see codes still near their random start)."""
    reward_clip: float | None = attrs.field(default=10.0, validator=positive_or_none)
    """Clip the standardised reward target to ± this (None: no clip); sparse rewards otherwise give single
    squared errors of 10^5 that stall training (see :mod:`seps.encoders.data`)."""
    holdout: int = attrs.field(default=128, validator=_non_negative)
    """Transitions per agent kept out of training for the code-swap test (:mod:`seps.encoders.swap`); 0: no test.
    128, not fewer: in lbf-12ag-3lvl only steps with loading attempts reveal a level, and with 32 the two
    closest levels' codes swapped for free on seed 2 (separation -0.02; 0.55-1.69 on seeds 0-4 with 128)."""
    partners: int = attrs.field(default=32, validator=positive_int)
    """Codes each agent's held-out transitions are decoded with (all agents when N <= partners)."""
    device: str = attrs.field(default="auto", validator=_device_name)
    """Torch device: 'auto', 'cpu' or 'cuda[:index]'."""

    @abstractmethod
    def make_latent(self, n_agents: int) -> AgentLatent:
        """Build the encoder f_e for ``n_agents`` agents."""

    def fit(
        self,
        transitions: Transitions,
        seed: int = 0,
        callback: EncoderCallback | None = None,
        warm_start: EncoderWeights | None = None,
    ) -> Embeddings:
        """Train the encoder-decoder on ``transitions``; return the encoder mean of every agent.

        ``warm_start`` (an earlier fit's ``Embeddings.weights``) continues that model instead of a
        fresh one, e.g. with fewer ``updates`` on newer experience (adaptive SePS): the latent and
        decoder start from those weights, Adam from zero moments, and the returned embeddings hold
        the new weights for the next continuation.

        Every ``check_interval`` updates the codes are compared with the previous check; training
        stops when they moved less than ``stop_change`` of their spread ``patience`` times in a row,
        or after ``updates`` steps. ``callback`` receives an :class:`EncoderCheck` at every check.
        The same seed gives identical embeddings on the CPU; the global torch RNG is left untouched.
        """
        check_transitions(transitions)
        device = resolve_device(self.device)
        data, held = split_held_out(TrainingData.build(transitions, device, self.reward_clip), self.holdout)
        obs_size = data.obs_target.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            latent = self.make_latent(transitions.n_agents).to(device)
            decoder = TransitionDecoder(data.inputs.shape[1] + self.latent_dim, obs_size, self.hidden_sizes).to(device)
        if warm_start is not None:
            _load_weights(latent, decoder, warm_start)
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        optimiser = FlatAdam([*latent.parameters(), *decoder.parameters()], self.lr)
        manual = ManualLoss(latent, decoder) if isinstance(latent, ManualLatent) else None
        batches = BatchStream(data, self.batch_size, min(self.check_interval, _MAX_CHUNK), generator)
        running = torch.zeros((), device=device)
        loss_interval = max(1, self.check_interval // 10)
        losses: list[float] = []
        previous = _codes(latent)[0]
        calm = 0
        update = 0
        while update < self.updates:
            if manual is not None:
                loss = manual(batches.next(), generator)
            else:
                optimiser.zero_grad()
                loss = autograd_loss(latent, decoder, batches.next(), generator)
            optimiser.step()
            running += loss
            update += 1
            if update % loss_interval == 0 or update == self.updates:
                losses.append(float(running) / ((update - 1) % loss_interval + 1))
                running.zero_()
            if update % self.check_interval == 0 or update == self.updates:
                means, log_vars = _codes(latent)
                change = relative_change(previous, means)
                previous = means
                if callback is not None:
                    callback(
                        EncoderCheck(
                            update=update,
                            max_updates=self.updates,
                            loss=losses[-1],
                            change=change,
                            means=means,
                            log_vars=log_vars,
                        )
                    )
                calm = calm + 1 if change < self.stop_change else 0
                if calm >= self.patience and update >= self.min_updates:
                    break
        means, log_vars = _codes(latent)
        swapped = None
        if held is not None:
            table = partner_table(transitions.n_agents, self.partners, seed)
            swapped = swap_losses(decoder, latent.means().detach(), held, table)
        logger.info(
            "%s encoder: %d of at most %d updates, final loss %.4f", self.name, update, self.updates, losses[-1]
        )
        return Embeddings(
            means=means,
            log_vars=log_vars,
            swap_losses=swapped,
            encoder=self.name,
            losses=tuple(losses),
            updates=update,
            weights=_weights(latent, decoder),
        )


EncoderWeights = dict[str, torch.Tensor]
"""A fitted encoder-decoder's parameters: ``latent.*`` and ``decoder.*`` state-dict entries, on the CPU."""


def _weights(latent: AgentLatent, decoder: TransitionDecoder) -> EncoderWeights:
    parts = {"latent": latent.state_dict(), "decoder": decoder.state_dict()}
    return {
        f"{part}.{key}": value.detach().cpu().clone() for part, state in parts.items() for key, value in state.items()
    }


def _load_weights(latent: AgentLatent, decoder: TransitionDecoder, weights: EncoderWeights) -> None:
    """Load :func:`_weights` output, refusing weights of another shape (other agents, observations or sizes)."""
    for part, module in (("latent", latent), ("decoder", decoder)):
        prefix = f"{part}."
        state = {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}
        own = module.state_dict()
        if state.keys() != own.keys() or any(state[k].shape != own[k].shape for k in own):
            raise ConfigError(
                "warm_start weights do not fit this encoder (different agents, observation size or layer sizes)"
            )
        module.load_state_dict(state)


def _codes(latent: AgentLatent) -> tuple[np.ndarray, np.ndarray | None]:
    """The latent's means and log-variances (None without a posterior) as float32 numpy arrays."""
    with torch.no_grad():
        means = latent.means().cpu().numpy().astype(np.float32)
        log_vars = latent.log_vars()
    return means, None if log_vars is None else log_vars.cpu().numpy().astype(np.float32)
