"""Adam over one flat buffer: the encoder's parameters and gradients become views of two contiguous tensors.

Why: the encoder-decoder has ~20 small parameter tensors and takes thousands of steps, and
``torch.optim.Adam.step`` spends more time on its per-call bookkeeping than on the arithmetic (~100 µs
against ~50 µs for the five whole-buffer ops here, one CPU core). The update is torch's Adam without
weight decay: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class FlatAdam:
    """Adam whose ``parameters`` (and their ``.grad``) are re-pointed at one flat data and one flat grad buffer.

    The gradients start at zero. Autograd accumulates into an existing ``.grad`` in place (so into the
    buffer: call :meth:`zero_grad` before each ``backward()``); the hand-written backward pass overwrites it.
    """

    def __init__(
        self, parameters: list[nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.parameters = parameters
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.data = torch.cat([parameter.detach().reshape(-1) for parameter in parameters])
        self.grad = torch.zeros_like(self.data)
        offset = 0
        for parameter in parameters:
            size = parameter.numel()
            parameter.data = self.data[offset : offset + size].view_as(parameter)
            parameter.grad = self.grad[offset : offset + size].view_as(parameter)
            offset += size
        self.exp_avg = torch.zeros_like(self.data)
        self.exp_avg_sq = torch.zeros_like(self.data)
        self.steps = 0

    def zero_grad(self) -> None:
        self.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        self.exp_avg.lerp_(self.grad, 1.0 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.grad, self.grad, value=1.0 - self.beta2)
        denominator = self.exp_avg_sq.sqrt().div_(math.sqrt(1.0 - self.beta2**self.steps)).add_(self.eps)
        self.data.addcdiv_(self.exp_avg, denominator, value=-self.lr / (1.0 - self.beta1**self.steps))
