"""Re-partitioning a live policy: move agents between parameter groups without losing what was learned.

A regroup maps the K old groups to K' new ones. Every new group is given one *source* old group
whose parameters (and Adam moments) it starts from:

1. New and old groups are matched one-to-one to maximise the number of agents that stay with
   their parameters: Hungarian matching (``scipy.optimize.linear_sum_assignment``) on the
   overlap matrix ``overlap[new, old]`` = agents in both.
2. A new group matched with positive overlap continues its match, so an agent whose group did
   not change keeps bit-identical parameters and optimiser state.
3. Every other new group (K grew, or its match shares no agent) starts from the old group most
   of its agents came from.

Every :class:`~seps.nn.grouped.GroupedLinear` of a module whose ``n_groups`` is the old K is
regrouped (an actor, a per-group critic, or a centralised critic built from
:class:`~seps.nn.grouped.GroupedMLP`); layers with another group count (e.g. one critic shared
by all agents) are left alone. A regrouped tensor is a new ``nn.Parameter``;
:func:`regroup_optimizer_state` puts it in the old one's place in the optimiser (so the trainer's
optimiser object stays valid) and gathers its per-parameter state the same way. Adam's step
counter is per tensor, shared by all groups of a layer, and is kept as it is. Device-agnostic:
every index lives on the parameter's device.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from seps.errors import ConfigError
from seps.nn.grouped import GroupedLinear, GroupedMLP, orthogonal_stack_


def group_sources(old_labels: Sequence[int] | np.ndarray, new_labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """int64 (K'): the old group each new group starts from (see the module docstring).

    Labels are agent -> group ids ``0..K-1`` and ``0..K'-1`` for the same N agents.
    """
    old, new = np.asarray(old_labels, dtype=np.int64), np.asarray(new_labels, dtype=np.int64)
    if old.shape != new.shape or old.ndim != 1 or old.size == 0:
        raise ConfigError(f"old and new labels must be 1-D over the same agents, got {old.shape} and {new.shape}")
    if old.min() < 0 or new.min() < 0:
        raise ConfigError("group labels must be >= 0")
    n_old, n_new = int(old.max()) + 1, int(new.max()) + 1
    overlap = np.zeros((n_new, n_old), dtype=np.int64)
    np.add.at(overlap, (new, old), 1)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    sources = overlap.argmax(axis=1)  # the plurality source (lowest old id on ties)
    matched = overlap[rows, cols] > 0
    sources[rows[matched]] = cols[matched]
    return sources.astype(np.int64)


def grouped_layers(module: nn.Module, n_groups: int) -> Iterator[GroupedLinear]:
    """Every :class:`GroupedLinear` inside ``module`` with ``n_groups`` parameter sets."""
    for layer in module.modules():
        if isinstance(layer, GroupedLinear) and layer.n_groups == n_groups:
            yield layer


def regroup_module(module: nn.Module, sources: np.ndarray, n_groups: int) -> list[tuple[nn.Parameter, nn.Parameter]]:
    """Gather the stacked parameters of ``module``'s K = ``n_groups`` layers by ``sources``.

    ``sources[k']`` is the old group new group k' copies. Each regrouped tensor becomes a new
    ``nn.Parameter`` (autograd caches a leaf's shape, so a leaf cannot change shape in place);
    returns the (old, new) parameter pairs for :func:`regroup_optimizer_state`.
    """
    pairs: list[tuple[nn.Parameter, nn.Parameter]] = []
    new_k = len(sources)
    for layer in list(grouped_layers(module, n_groups)):
        index = torch.as_tensor(sources, dtype=torch.long, device=layer.weight.device)
        for name in ("weight", "bias"):
            old: nn.Parameter = getattr(layer, name)
            new = nn.Parameter(old.detach().index_select(0, index).contiguous(), requires_grad=old.requires_grad)
            setattr(layer, name, new)
            pairs.append((old, new))
        layer.n_groups = new_k
    for mlp in module.modules():
        if isinstance(mlp, GroupedMLP) and mlp.n_groups == n_groups:
            mlp.n_groups = new_k
    return pairs


def regroup_optimizer_state(
    optimizer: torch.optim.Optimizer, pairs: Sequence[tuple[nn.Parameter, nn.Parameter]], sources: np.ndarray
) -> None:
    """Put each new parameter in its old one's place in ``optimizer`` and gather its state by ``sources``.

    Every state tensor with a leading group axis is gathered: Adam's ``exp_avg`` and ``exp_avg_sq``
    (and ``max_exp_avg_sq`` with amsgrad); scalars such as ``step`` are kept. A parameter the
    optimiser has not stepped yet has no state and needs nothing.
    """
    replacement = {id(old): new for old, new in pairs}
    found = 0
    for group in optimizer.param_groups:
        for position, parameter in enumerate(group["params"]):
            new = replacement.get(id(parameter))
            if new is None:
                continue
            group["params"][position] = new
            found += 1
            state = optimizer.state.pop(parameter, None)
            if not state:
                continue
            for key, value in list(state.items()):
                if not isinstance(value, Tensor) or value.dim() == 0:
                    continue
                if value.shape[1:] != new.shape[1:]:
                    raise ConfigError(
                        f"optimiser state {key!r} of shape {tuple(value.shape)} does not fit its parameter"
                    )
                index = torch.as_tensor(sources, dtype=torch.long, device=value.device)
                state[key] = value.index_select(0, index).contiguous()
            optimizer.state[new] = state
    if found != len(pairs):
        raise ConfigError("regroup_optimizer_state: a regrouped parameter is not in the optimiser")


def regroup(
    module: nn.Module,
    old_labels: Sequence[int] | np.ndarray,
    new_labels: Sequence[int] | np.ndarray,
    optimizer: torch.optim.Optimizer | None = None,
) -> np.ndarray:
    """Regroup every K-group layer of ``module`` from ``old_labels`` to ``new_labels``; return the sources.

    With ``optimizer`` its state follows the parameters. The caller updates its own assignment.
    """
    old = np.asarray(old_labels, dtype=np.int64)
    sources = group_sources(old, new_labels)
    pairs = regroup_module(module, sources, int(old.max()) + 1)
    if optimizer is not None:
        regroup_optimizer_state(optimizer, pairs, sources)
    return sources


def changed_groups(
    old_labels: Sequence[int] | np.ndarray, new_labels: Sequence[int] | np.ndarray, sources: np.ndarray
) -> np.ndarray:
    """int64: the new groups whose agents are not exactly the agents of the old group they start from."""
    old, new = np.asarray(old_labels, dtype=np.int64), np.asarray(new_labels, dtype=np.int64)
    return np.asarray(
        [k for k, source in enumerate(sources) if not np.array_equal(new == k, old == source)], dtype=np.int64
    )


def restart_groups(
    module: nn.Module,
    groups: Sequence[int] | np.ndarray,
    n_groups: int,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
) -> None:
    """Re-initialise groups ``groups`` of every K = ``n_groups`` layer of ``module`` in place.

    The weights are drawn as at construction (orthogonal with the layer's gain, zero biases, from
    ``generator`` on the CPU). In ``optimizer`` their first moments are zeroed and their second
    moments kept: Adam's step counter is shared by all groups of a tensor, so zero second moments
    after many steps would skip the bias correction and take steps of several learning rates.
    The other groups are untouched, bit for bit.
    """
    index = np.asarray(groups, dtype=np.int64)
    if index.size == 0:
        return
    if index.min() < 0 or index.max() >= n_groups:
        raise ConfigError(f"restart_groups: groups must lie in 0..{n_groups - 1}, got {index.tolist()}")
    state = optimizer.state if optimizer is not None else {}
    with torch.no_grad():
        for layer in list(grouped_layers(module, n_groups)):
            fresh = torch.empty(len(index), layer.in_features, layer.out_features, dtype=layer.weight.dtype)
            orthogonal_stack_(fresh, layer.gain, generator)
            rows = torch.as_tensor(index, dtype=torch.long, device=layer.weight.device)
            layer.weight.index_copy_(0, rows, fresh.to(layer.weight.device))
            layer.bias.index_fill_(0, rows, 0.0)
            for parameter in (layer.weight, layer.bias):
                moments = state.get(parameter, {}).get("exp_avg")
                if isinstance(moments, Tensor) and moments.dim() > 0:
                    moments.index_fill_(0, rows.to(moments.device), 0.0)
