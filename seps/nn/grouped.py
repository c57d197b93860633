"""Layers holding K parameter sets that serve N agents in one batched matmul per layer.

Selective parameter sharing gives each agent the weights of its group: ``assignment[i]``
is agent i's group, K = number of groups. FuPS is K = 1, NoPS is K = N with the identity
assignment. The weights of all groups are stacked (``(K, in, out)``) and never looped over.

How rows reach their weights (measured in ``benchmarks/bench_grouped.py``): agents are
laid out once in *slot-major* order, shape ``(S, c * B, features)``, where a slot holds up to
``c`` agents of one group and B is the number of leading rows (envs x steps). Every layer is
then one ``torch.baddbmm`` over the S slots. When every group fits in one slot (S = K) the
stacked weights are used as they are; otherwise each slot gathers its group's matrix
(S gathers, far fewer than one per agent). ``c`` is the largest slot size whose zero padding
stays within ``max_padding`` x N rows, so unbalanced partitions neither waste compute on
padding nor gather a matrix per agent. K = 1 skips all routing and is a plain matmul.
Gathering one weight matrix per *agent* instead was 2-5x slower on the CPU because its
backward scatter-adds N full matrices.

The layouts are planned in :mod:`seps.nn.routing`: per agent (:func:`build_routing`) or, when the
group is a property of each row (per-episode unit types), per row (:func:`build_row_routing`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from seps.errors import ConfigError
from seps.nn.routing import GroupRouting, Routing, RowRouting, as_routing, build_routing, build_row_routing

# The routing names stay importable from here, where they lived before seps.nn.routing.
__all__ = [
    "ACTIVATIONS",
    "GroupRouting",
    "GroupedLinear",
    "GroupedMLP",
    "Routing",
    "RowRouting",
    "build_routing",
    "build_row_routing",
    "orthogonal_stack_",
]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}
"""Activation names accepted wherever seps takes an activation."""


def orthogonal_stack_(weight: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Fill ``weight`` (K, in, out) with K independent orthogonal matrices, as ``nn.init.orthogonal_`` does per matrix.

    Each ``weight[k].T`` is distributed like the weight of an ``nn.Linear(in, out)`` initialised
    with ``nn.init.orthogonal_(gain=gain)``; all K QR decompositions run as one batched call.
    """
    n_groups, fan_in, fan_out = weight.shape
    with torch.no_grad():
        rows, cols = max(fan_in, fan_out), min(fan_in, fan_out)
        normal = torch.randn(n_groups, rows, cols, generator=generator, dtype=weight.dtype, device=weight.device)
        q, r = torch.linalg.qr(normal)
        q = q * torch.diagonal(r, dim1=-2, dim2=-1).sign().unsqueeze(-2)  # unique Haar-distributed Q
        stacked = q if fan_in >= fan_out else q.transpose(-2, -1)  # (K, in, out) with orthonormal columns/rows
        weight.copy_(stacked * gain)
    return weight


class GroupedLinear(nn.Module):
    """K stacked linear layers; each agent's rows use the weights of its group.

    ``weight`` is ``(K, in, out)`` (so ``y = x @ weight[k] + bias[k]``), ``bias`` is ``(K, out)``.
    """

    def __init__(self, n_groups: int, in_features: int, out_features: int, gain: float = 1.0) -> None:
        super().__init__()
        for name, value in (("n_groups", n_groups), ("in_features", in_features), ("out_features", out_features)):
            if value < 1:
                raise ConfigError(f"GroupedLinear {name} must be >= 1, got {value}")
        self.n_groups, self.in_features, self.out_features, self.gain = n_groups, in_features, out_features, gain
        self.weight = nn.Parameter(torch.empty(n_groups, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_groups, out_features))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Orthogonal weights with this layer's gain for every group, zero biases."""
        orthogonal_stack_(self.weight, self.gain, generator)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, assignment: Tensor | Routing) -> Tensor:
        """Map ``x`` (..., N, in) to (..., N, out); agent i uses group ``assignment[i]``.

        For flat rows, pass ``x`` (B, in) and a per-row group tensor (B,). Pass a
        :class:`GroupRouting` built once to avoid re-planning the layout on every call.
        """
        if self.n_groups == 1:
            return self.forward_shared(x)
        routing = as_routing(assignment, self.n_groups)
        return routing.from_slots(self.forward_slots(routing.to_slots(x), routing), x.shape[:-2])

    def forward_shared(self, x: Tensor) -> Tensor:
        """K = 1 (full sharing): a plain matmul of ``x`` (..., in) with the only weight matrix."""
        return torch.matmul(x, self.weight[0]) + self.bias[0]

    def forward_slots(self, h: Tensor, routing: Routing) -> Tensor:
        """Apply the layer to activations already in slot-major layout (S, rows, in)."""
        weight: Tensor
        bias: Tensor
        if routing.slots_are_groups:
            weight, bias = self.weight, self.bias
        else:
            weight, bias = self.weight[routing.slot_group], self.bias[routing.slot_group]
        return torch.baddbmm(bias.unsqueeze(1), h, weight)

    def extra_repr(self) -> str:
        return f"n_groups={self.n_groups}, in_features={self.in_features}, out_features={self.out_features}"


class GroupedMLP(nn.Module):
    """An MLP of :class:`GroupedLinear` layers: K independent networks evaluated in one batched pass.

    Hidden layers use orthogonal init with gain sqrt(2), the output layer ``output_gain``;
    all biases start at zero.
    """

    def __init__(
        self,
        n_groups: int,
        in_features: int,
        hidden_sizes: Sequence[int] = (64, 64),
        out_features: int = 1,
        activation: str | Callable[[], nn.Module] = "relu",
        output_gain: float = 1.0,
    ) -> None:
        super().__init__()
        if any(size < 1 for size in hidden_sizes):
            raise ConfigError(f"hidden_sizes must all be >= 1, got {tuple(hidden_sizes)}")
        make_activation = _activation_factory(activation)
        widths = [in_features, *hidden_sizes]
        hidden = [GroupedLinear(n_groups, i, o, gain=math.sqrt(2)) for i, o in itertools.pairwise(widths)]
        self.layers = nn.ModuleList([*hidden, GroupedLinear(n_groups, widths[-1], out_features, gain=output_gain)])
        self.activations = nn.ModuleList([make_activation() for _ in hidden])
        self.n_groups, self.in_features, self.out_features = n_groups, in_features, out_features

    @property
    def linears(self) -> list[GroupedLinear]:
        """The layers, input first."""
        return cast("list[GroupedLinear]", list(self.layers))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in self.linears:
            layer.reset_parameters(generator)

    def forward(self, x: Tensor, assignment: Tensor | Routing) -> Tensor:
        """Map ``x`` (..., N, in) to (..., N, out); the layout is planned once for all layers.

        K = 1 runs plain matmuls on ``x`` as it is and ignores ``assignment``.
        """
        routing = None if self.n_groups == 1 else as_routing(assignment, self.n_groups)
        h = x if routing is None else routing.to_slots(x)
        last = len(self.layers) - 1
        for index, layer in enumerate(self.linears):
            h = layer.forward_shared(h) if routing is None else layer.forward_slots(h, routing)
            if index < last:
                h = self.activations[index](h)
        return h if routing is None else routing.from_slots(h, x.shape[:-2])


_IN_PLACE: dict[str, Callable[[], nn.Module]] = {"relu": functools.partial(nn.ReLU, inplace=True)}
"""In-place versions of named activations. Every activation in :class:`GroupedMLP` reads a fresh
layer output that nothing else holds, so overwriting it is safe; ReLU's gradient is the same read
from its output, so the numbers are unchanged, and one allocation and pass over memory per layer is
saved (~6% of a NoPS training step, docs/performance.md). ELU is left out: its in-place backward
computes the gradient from the output by a different formula, which changes the last bits."""


def _activation_factory(activation: str | Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    if not isinstance(activation, str):
        return activation
    if activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {activation!r}; use one of {', '.join(sorted(ACTIVATIONS))}")
    return _IN_PLACE.get(activation, ACTIVATIONS[activation])
