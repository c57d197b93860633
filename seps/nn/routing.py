"""Where each row's data goes in the slot-major layout of :mod:`seps.nn.grouped`, per agent or per row.

:func:`build_routing` plans the layout of an agent -> group ``assignment`` (see :mod:`seps.nn.grouped`
for the design and its measurements). When the group is a property of each row instead (smacv2's
generated maps: the agent in slot n is a different unit type each episode), :func:`build_row_routing`
plans the same layout over the flattened rows, each row an "agent" of one row: one sort of the rows
by group, still one ``baddbmm`` per layer, and a group that owns no row gets no slot (so no gradient).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import torch
from torch import Tensor

from seps.errors import ConfigError


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
    return RowRouting(groups_shape=tuple(groups.shape), rows=build_routing(groups.reshape(-1), n_groups, max_padding))


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


def as_routing(assignment: Tensor | Routing, n_groups: int) -> Routing:
    """``assignment`` as it is when already planned (checking its K), else its planned :class:`GroupRouting`."""
    if isinstance(assignment, (GroupRouting, RowRouting)):
        if assignment.n_groups != n_groups:
            raise ConfigError(f"routing was built for {assignment.n_groups} groups but the layer has {n_groups}")
        return assignment
    return build_routing(assignment, n_groups)
