"""Hand-written forward and backward passes of the encoder-decoder loss (the built-in latents' fast path).

Why: the model is tiny (two hidden layers of 64, batch 128), so an update costs what PyTorch spends around
the arithmetic, not the arithmetic: autograd records and replays ~100 small ops per update. Writing the
backward pass out (three matmuls per layer) and gathering the batches of a whole check interval at once
makes an update about 2.4x cheaper on one CPU core (``benchmarks/bench_pretraining.py``), which is what lets
the encoder train long enough for two-agent types to settle within the pre-training budget.

The gradients are those autograd computes for the same loss (``tests/test_encoder_manual.py`` compares
them); latents other than the built-in ones train with autograd (:func:`autograd_loss`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import attrs
import torch
from torch import nn

from seps.encoders.data import TrainingData


@attrs.frozen
class Batch:
    """One training batch: rows of :class:`~seps.encoders.data.TrainingData` (views into a gathered chunk)."""

    agent_id: torch.Tensor
    inputs: torch.Tensor
    obs_target: torch.Tensor
    obs_weight: torch.Tensor
    """(B, D): each row's agent's feature weights."""
    reward_target: torch.Tensor


class BatchStream:
    """Uniform random batches, drawn and gathered ``chunk`` at a time (one index op per tensor per chunk)."""

    def __init__(self, data: TrainingData, batch_size: int, chunk: int, generator: torch.Generator) -> None:
        self.data, self.batch_size, self.chunk, self.generator = data, batch_size, chunk, generator
        self._next = chunk
        self._gathered: tuple[torch.Tensor, ...] = ()

    def next(self) -> Batch:
        if self._next == self.chunk:
            data = self.data
            device = data.agent_id.device
            index = torch.randint(len(data), (self.chunk, self.batch_size), device=device, generator=self.generator)
            agent_id = data.agent_id[index]
            self._gathered = (
                agent_id,
                data.inputs[index],
                data.obs_target[index],
                data.obs_weight[agent_id],
                data.reward_target[index],
            )
            self._next = 0
        row = self._next
        self._next += 1
        return Batch(*(tensor[row] for tensor in self._gathered))


class LinearView(NamedTuple):
    """One Linear layer's tensors, looked up once: ``nn.Module`` attribute access and ``.t()`` cost more than
    the arithmetic at this size. Views of the parameters' storage, so bind them after the optimiser has
    re-pointed the parameters (:class:`~seps.encoders.flat_adam.FlatAdam`)."""

    weight: torch.Tensor
    weight_t: torch.Tensor
    bias: torch.Tensor
    weight_grad: torch.Tensor
    bias_grad: torch.Tensor


def linear_views(network: nn.Sequential) -> list[LinearView]:
    """The Linear layers of an :func:`~seps.encoders.base.mlp` (Linear, ReLU, ..., Linear), with gradients."""
    layers = list(network)
    linears = [layer for layer in layers[::2] if isinstance(layer, nn.Linear)]
    relus = [layer for layer in layers[1::2] if isinstance(layer, nn.ReLU)]
    if len(linears) != (len(layers) + 1) // 2 or len(relus) != len(layers) // 2:
        raise TypeError("the hand-written backward pass needs an mlp() of Linear and ReLU layers")
    views = []
    for layer in linears:
        for parameter in (layer.weight, layer.bias):
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
        assert layer.weight.grad is not None and layer.bias.grad is not None
        views.append(LinearView(layer.weight, layer.weight.t(), layer.bias, layer.weight.grad, layer.bias.grad))
    return views


def mlp_forward(layers: list[LinearView], x: torch.Tensor, first: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Every layer's input and the output: [x, h1, ..., out]. ``first``: the first layer's pre-activation,
    already computed (an embedding lookup); ``x`` is then the agent ids."""
    outputs = [x]
    last = len(layers) - 1
    for position, layer in enumerate(layers):
        given = first if position == 0 else None
        pre = given if given is not None else torch.addmm(layer.bias, outputs[-1], layer.weight_t)
        outputs.append(pre.relu_() if position < last else pre)
    return outputs


def mlp_backward(
    layers: list[LinearView], outputs: list[torch.Tensor], grad_out: torch.Tensor, lookup: bool = False
) -> torch.Tensor | None:
    """Write every layer's weight and bias gradient (``.grad``, overwritten) from d loss / d output.

    Returns d loss / d input, or None when ``lookup`` (the first layer is an embedding of the ids
    ``outputs[0]``: its weight gradient is scattered to those columns).
    """
    grad = grad_out
    for position in range(len(layers) - 1, -1, -1):
        layer, layer_input = layers[position], outputs[position]
        torch.sum(grad, 0, out=layer.bias_grad)
        if position == 0 and lookup:
            layer.weight_grad.zero_().index_add_(1, layer_input, grad.t())
            return None
        torch.mm(grad.t(), layer_input, out=layer.weight_grad)
        if position > 0:
            grad = torch.ops.aten.threshold_backward(torch.mm(grad, layer.weight), layer_input, 0.0)
    return torch.mm(grad, layers[0].weight)


class ManualLatent:
    """What a latent implements to train on the fast path (the built-in ``vae`` and ``deterministic`` do)."""

    def manual_bind(self) -> None:
        """Look up the tensors :meth:`manual_forward` / :meth:`manual_backward` use (see :class:`LinearView`)."""

    def manual_forward(
        self, agent_id: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Codes (B, m), the penalty (a scalar, no graph) and what :meth:`manual_backward` needs."""
        raise NotImplementedError

    def manual_backward(self, saved: Any, grad_z: torch.Tensor) -> None:
        """Write every parameter's ``.grad`` from d loss / d z (the penalty's gradient included)."""
        raise NotImplementedError


class ManualLoss:
    """The loss of a latent and a decoder with the hand-written backward pass, bound to their current tensors.

    Build it after the optimiser has re-pointed the parameters and their gradients, and call it per batch.
    """

    def __init__(self, latent: ManualLatent, decoder: nn.Module) -> None:
        latent.manual_bind()
        self.latent = latent
        self.obs_layers = linear_views(cast(nn.Sequential, decoder.obs_head))
        self.reward_layers = linear_views(cast(nn.Sequential, decoder.reward_head))

    @torch.no_grad()
    def __call__(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """The loss of one batch; every parameter's ``.grad`` is overwritten with its gradient."""
        z, penalty, saved = self.latent.manual_forward(batch.agent_id, generator)
        inputs = torch.cat([batch.inputs, z], dim=1)
        rows = inputs.shape[0]
        obs_out = mlp_forward(self.obs_layers, inputs)
        reward_out = mlp_forward(self.reward_layers, inputs)
        obs_error = (obs_out[-1] - batch.obs_target).mul_(batch.obs_weight)
        reward_error = reward_out[-1][:, 0] - batch.reward_target
        # loss = mean over rows of sum_d w (pred - t)^2; its gradient in pred is 2 w (pred - t) / B
        obs_loss = (obs_error * (obs_out[-1] - batch.obs_target)).sum() / rows
        loss = obs_loss + reward_error.square().mean() + penalty
        grad_inputs = mlp_backward(self.obs_layers, obs_out, obs_error.mul_(2.0 / rows))
        reward_grad = mlp_backward(self.reward_layers, reward_out, reward_error.mul_(2.0 / rows)[:, None])
        assert grad_inputs is not None and reward_grad is not None
        grad_z = grad_inputs[:, -z.shape[1] :] + reward_grad[:, -z.shape[1] :]
        self.latent.manual_backward(saved, grad_z)
        return loss.detach()


def autograd_loss(latent: nn.Module, decoder: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
    """The same loss with autograd, for latents without a hand-written backward pass (accumulates into ``.grad``)."""
    z, penalty = latent(batch.agent_id, generator)
    obs_pred, reward_pred = decoder(torch.cat([batch.inputs, z], dim=1))
    obs_loss = ((obs_pred - batch.obs_target).square() * batch.obs_weight).sum(1).mean()
    reward_loss = (reward_pred - batch.reward_target).square().mean()
    loss = obs_loss + reward_loss + penalty
    loss.backward()
    return loss.detach()
