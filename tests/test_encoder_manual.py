"""The hand-written backward pass of the built-in latents gives autograd's gradients; a custom latent still trains."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch import nn

from seps.encoders.base import AgentLatent, TransitionDecoder
from seps.encoders.data import TrainingData
from seps.encoders.deterministic import DeterministicEncoder
from seps.encoders.flat_adam import FlatAdam
from seps.encoders.manual import BatchStream, ManualLoss, autograd_loss
from seps.encoders.vae import VAEEncoder
from tests.test_encoders import TYPES, planted, type_separation


def _model(encoder: VAEEncoder | DeterministicEncoder, data: TrainingData) -> tuple[nn.Module, TransitionDecoder]:
    torch.manual_seed(3)
    latent = encoder.make_latent(len(TYPES))
    if isinstance(encoder, DeterministicEncoder):  # zero-initialised codes would hide d/dz errors
        nn.init.normal_(latent.table.weight)
    in_dim = data.inputs.shape[1] + encoder.latent_dim
    decoder = TransitionDecoder(in_dim, data.obs_target.shape[1], encoder.hidden_sizes)
    return latent, decoder


def _gradients(
    manual: bool, latent: nn.Module, decoder: nn.Module, batch, seed: int
) -> tuple[float, list[torch.Tensor]]:
    parameters = [*latent.parameters(), *decoder.parameters()]
    for parameter in parameters:  # the hand-written pass must overwrite stale values; autograd accumulates
        parameter.grad = torch.full_like(parameter, 7.0) if manual else None
    generator = torch.Generator().manual_seed(seed)
    loss_fn = ManualLoss(latent, decoder) if manual else functools.partial(autograd_loss, latent, decoder)
    loss = loss_fn(batch, generator)
    return float(loss), [parameter.grad.clone() for parameter in parameters]


@pytest.mark.parametrize(
    "encoder",
    [
        VAEEncoder(),
        VAEEncoder(hidden_sizes=(32,), kl_weight=0.5),
        VAEEncoder(hidden_sizes=(), latent_dim=3),
        DeterministicEncoder(),
        DeterministicEncoder(hidden_sizes=(16, 8, 4)),
    ],
    ids=["vae", "vae-one-layer", "vae-linear", "deterministic", "deterministic-three-layers"],
)
def test_manual_gradients_equal_autograd(encoder: VAEEncoder | DeterministicEncoder) -> None:
    data = TrainingData.build(planted(per_agent=50, obs_dims=(4, 4, 3, 4, 2, 4)), torch.device("cpu"))
    batch = BatchStream(data, 64, 3, torch.Generator().manual_seed(0)).next()
    latent, decoder = _model(encoder, data)
    manual_value, manual_grads = _gradients(True, latent, decoder, batch, seed=11)
    auto_value, auto_grads = _gradients(False, latent, decoder, batch, seed=11)
    assert manual_value == pytest.approx(auto_value, rel=1e-5)
    assert len(manual_grads) == len(auto_grads)
    for mine, reference in zip(manual_grads, auto_grads, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-6)


class _ScaledTable(AgentLatent):
    """A user latent without a hand-written backward pass: trained with autograd."""

    def __init__(self, n_agents: int, latent_dim: int) -> None:
        super().__init__()
        self.codes = nn.Parameter(torch.zeros(n_agents, latent_dim))
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, agent_id: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.scale * self.codes[agent_id], torch.zeros(())

    def means(self) -> torch.Tensor:
        return self.scale * self.codes


class _ScaledTableEncoder(DeterministicEncoder):
    def make_latent(self, n_agents: int) -> AgentLatent:
        return _ScaledTable(n_agents, self.latent_dim)


def test_custom_latent_trains_with_autograd() -> None:
    embeddings = _ScaledTableEncoder(updates=400).fit(planted(), seed=0)
    assert type_separation(embeddings.means) < 0.1


def test_batches_cover_the_buffer_uniformly() -> None:
    data = TrainingData.build(planted(per_agent=10), torch.device("cpu"))
    stream = BatchStream(data, 32, 5, torch.Generator().manual_seed(0))
    counts = np.bincount(np.concatenate([stream.next().agent_id.numpy() for _ in range(400)]), minlength=6)
    assert counts.sum() == 400 * 32
    assert np.all(np.abs(counts / counts.sum() - 1 / 6) < 0.01)


def test_flat_adam_takes_torch_adams_steps() -> None:
    torch.manual_seed(0)
    mine = [nn.Parameter(torch.randn(3, 4)), nn.Parameter(torch.randn(5))]
    reference = [nn.Parameter(parameter.detach().clone()) for parameter in mine]
    flat, torch_adam = FlatAdam(mine, lr=1e-2), torch.optim.Adam(reference, lr=1e-2)
    x = torch.randn(4)
    for _ in range(20):
        flat.zero_grad()
        ((mine[0] @ x).square().sum() + mine[1].sin().sum()).backward()
        assert mine[0].grad is not None and mine[0].grad.data_ptr() == flat.grad.data_ptr()  # still the buffer
        flat.step()
        torch_adam.zero_grad()
        ((reference[0] @ x).square().sum() + reference[1].sin().sum()).backward()
        torch_adam.step()
    for own, theirs in zip(mine, reference, strict=True):
        torch.testing.assert_close(own.detach(), theirs.detach(), rtol=0, atol=1e-7)
