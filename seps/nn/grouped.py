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

When the group is a property of each row rather than of the agent (smacv2's generated maps: the
agent in slot n is a different unit type each episode), :func:`build_row_routing` plans the same
layout over the flattened rows, each row an "agent" of one row: one sort of the rows by group,
still one ``baddbmm`` per layer, and a group that owns no row gets no slot (so no gradient).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import cast

import attrs
import torch
from torch import Tensor, nn

from seps.errors import ConfigError

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}
"""Activation names accepted wherever seps takes an activation."""


@attrs.frozen(eq=False)
class GroupRouting:
    """Where each agent's rows go in the slot-major layout; build with :func:`build_routing`."""

    n_groups: int
    """K: number of parameter sets."""
    n_agents: int
    """N: number of agents (rows along the agent axis)."""
    slot_size: int
    """c: agents per slot."""
    slot_group: Tensor
    """int64 (S,): group whose weights each slot uses."""
    agent_slot: Tensor
    """int64 (N,): slot of each agent."""
    agent_pos: Tensor
    """int64 (N,): position of each agent inside its slot."""
    slots_are_groups: bool
    """True when slot k is group k, so the stacked weights are used without a gather."""
    in_agent_order: bool
    """True when the slots hold the agents in order without padding, so no scatter is needed."""

    @property
    def n_slots(self) -> int:
        return int(self.slot_group.shape[0])

    def to_slots(self, x: Tensor) -> Tensor:
        """Lay out ``x`` (..., N, F) as ``(S, c * B, F)`` with zero rows where slots are padded."""
        if x.dim() < 2 or x.shape[-2] != self.n_agents:
            raise ConfigError(
                f"expected input of shape (..., n_agents={self.n_agents}, features), got {tuple(x.shape)}"
            )
        features = x.shape[-1]
        agent_major = x.reshape(-1, self.n_agents, features).transpose(0, 1)  # (N, B, F)
        rows = agent_major.shape[1]
        if self.in_agent_order:
            return agent_major.reshape(self.n_slots, self.slot_size * rows, features)
        slots = x.new_zeros(self.n_slots, self.slot_size, rows, features)
        slots[self.agent_slot, self.agent_pos] = agent_major
        return slots.reshape(self.n_slots, self.slot_size * rows, features)

    def from_slots(self, h: Tensor, leading_shape: Sequence[int]) -> Tensor:
        """Inverse of :meth:`to_slots`: ``(S, c * B, F)`` back to ``(*leading_shape, N, F)``."""
        features = h.shape[-1]
        per_slot = h.reshape(self.n_slots, self.slot_size, -1, features)
        if self.in_agent_order:
            agent_major = per_slot.reshape(self.n_agents, -1, features)
        else:
            agent_major = per_slot[self.agent_slot, self.agent_pos]  # (N, B, F)
        return agent_major.transpose(0, 1).reshape(*leading_shape, self.n_agents, features)


@attrs.frozen(eq=False)
class RowRouting:
    """Per-row routing: the row (..., n) of the input uses group ``groups[..., n]``; build with
    :func:`build_row_routing`. The rows are laid out as one :class:`GroupRouting` over all of them."""

    groups_shape: tuple[int, ...]
    """Shape (..., N) of the group map: the input's shape without its feature axis."""
    rows: GroupRouting
    """The layout of the R = prod(groups_shape) rows, each an "agent" with one row."""

    @property
    def n_groups(self) -> int:
        return self.rows.n_groups

    @property
    def slot_group(self) -> Tensor:
        return self.rows.slot_group

    @property
    def slots_are_groups(self) -> bool:
        return self.rows.slots_are_groups

    @property
    def n_slots(self) -> int:
        return self.rows.n_slots

    def to_slots(self, x: Tensor) -> Tensor:
        """Lay out ``x`` (*groups_shape, F) as ``(S, c, F)`` (zero rows where slots are padded)."""
        if tuple(x.shape[:-1]) != self.groups_shape:
            raise ConfigError(
                f"the group map has shape {self.groups_shape} but the input has shape {tuple(x.shape)}; "
                "each row needs its group"
            )
        return self.rows.to_slots(x.reshape(1, -1, x.shape[-1]))

    def from_slots(self, h: Tensor, leading_shape: Sequence[int]) -> Tensor:
        """Inverse of :meth:`to_slots`: ``(S, c, F)`` back to ``(*groups_shape, F)`` (``leading_shape`` is its
        part before the agent axis, as for :meth:`GroupRouting.from_slots`)."""
        return self.rows.from_slots(h, ()).reshape(*leading_shape, self.groups_shape[-1], h.shape[-1])


Routing = GroupRouting | RowRouting
"""A planned layout: per agent (:class:`GroupRouting`) or per row (:class:`RowRouting`)."""


def build_row_routing(groups: Tensor, n_groups: int, max_padding: float = 1.25) -> RowRouting:
    """Plan the layout for a per-row group map ``groups`` (int (..., N), each in ``0..n_groups-1``)."""
    if groups.dim() < 1:
        raise ConfigError(f"a row group map needs at least an agent axis, got shape {tuple(groups.shape)}")
    return RowRouting(
        groups_shape=tuple(groups.shape), rows=build_routing(groups.reshape(-1), n_groups, max_padding)
    )


def build_routing(assignment: Tensor, n_groups: int, max_padding: float = 1.25) -> GroupRouting:
    """Plan the slot-major layout for ``assignment`` (int (N,), agent -> group in ``0..n_groups-1``).

    Runs once per assignment (it reads the group sizes back to the host), not once per forward.
    """
    if assignment.dim() != 1 or assignment.numel() == 0:
        raise ConfigError(
            f"assignment must be a non-empty 1-D tensor of group ids, got shape {tuple(assignment.shape)}"
        )
    if assignment.dtype.is_floating_point or assignment.dtype == torch.bool:
        raise ConfigError(f"assignment must hold integer group ids, got dtype {assignment.dtype}")
    assignment = assignment.long()
    low, high = int(assignment.min()), int(assignment.max())
    if low < 0 or high >= n_groups:
        raise ConfigError(f"assignment holds group ids {low}..{high}; they must lie in 0..{n_groups - 1} (n_groups)")
    n_agents = int(assignment.shape[0])
    device = assignment.device
    counts = torch.bincount(assignment, minlength=n_groups)
    slot_size = _choose_slot_size(counts.tolist(), max_padding)

    slots_per_group = (counts + slot_size - 1) // slot_size
    slot_group = torch.repeat_interleave(torch.arange(n_groups, device=device), slots_per_group)
    order = torch.argsort(assignment, stable=True)
    group_start = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(assignment)
    rank[order] = torch.arange(n_agents, device=device) - group_start[assignment[order]]
    first_slot = torch.cumsum(slots_per_group, 0) - slots_per_group
    agent_slot = first_slot[assignment] + rank // slot_size
    agent_pos = rank % slot_size

    n_slots = int(slot_group.shape[0])
    # One slot per group, in group order. A group may own no row in a per-row map, so the count alone
    # is not enough (with every group present, as in an assignment, the two tests agree).
    slots_are_groups = n_slots == n_groups and bool((slots_per_group == 1).all())
    in_agent_order = n_slots * slot_size == n_agents and bool(
        torch.equal(agent_slot * slot_size + agent_pos, torch.arange(n_agents, device=device))
    )
    return GroupRouting(
        n_groups=n_groups,
        n_agents=n_agents,
        slot_size=slot_size,
        slot_group=slot_group,
        agent_slot=agent_slot,
        agent_pos=agent_pos,
        slots_are_groups=slots_are_groups,
        in_agent_order=in_agent_order,
    )


def _choose_slot_size(counts: list[int], max_padding: float) -> int:
    """Largest slot size whose padded row count stays within ``max_padding`` x N (size 1 never pads)."""
    n_agents = sum(counts)
    for size in range(max(counts), 0, -1):
        padded = sum(math.ceil(count / size) for count in counts) * size
        if padded <= max_padding * n_agents:
            return size
    return 1


def _as_routing(assignment: Tensor | Routing, n_groups: int) -> Routing:
    if isinstance(assignment, (GroupRouting, RowRouting)):
        if assignment.n_groups != n_groups:
            raise ConfigError(f"routing was built for {assignment.n_groups} groups but the layer has {n_groups}")
        return assignment
    return build_routing(assignment, n_groups)


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
        routing = _as_routing(assignment, self.n_groups)
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
        routing = None if self.n_groups == 1 else _as_routing(assignment, self.n_groups)
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
