"""Observations and valid actions of :class:`seps.envs.foraging.VectorForaging`, for all copies and agents at once.

``observe`` is lbforaging 2.0.0's ``ForagingEnv._make_obs`` + ``_make_gym_obs.make_obs_array``
(vector observations); ``valid_actions`` is ``_gen_valid_moves`` / ``_is_valid_action``.

What an agent sees is found with bit sets, not an (agents x items) comparison. Item k of a copy
(its k-th food in row-major order, or agent k) is one bit; an integral image of the bits on the
grid gives the set of items in any rectangle from four look-ups, so an agent's food view and
agent view cost eight look-ups in all. A table lists the members of a set in increasing order,
the order lbforaging writes them in; an item's coordinates relative to the view corner come from
one more table, indexed by the item's cell key minus the corner's (:func:`_geometry`). Sets are 12
bits wide (tables of 4,096 rows); up to four share one float64 image (48 bits: sums of distinct
powers of two stay exact), and larger tasks use more of each.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

_CHUNK = 12
"""Items per bit set: a member table has 2 ** _CHUNK rows."""
_PER_IMAGE = 4
"""Bit sets per integral image: 4 x 12 = 48 bits, exact in float64."""


@functools.cache
def _members(width: int) -> tuple[np.ndarray, np.ndarray]:
    """For every ``width``-bit code: intp (2**width, width) its set bits in increasing order, padded with
    ``width``, and intp (2**width,) how many there are."""
    bits = (np.arange(2**width)[:, None] >> np.arange(width)) & 1
    order = np.argsort(1 - bits, axis=1, kind="stable")  # set bits first, each group in increasing order
    table = np.where(np.take_along_axis(bits, order, axis=1) == 1, order, width).astype(np.intp)
    return table, bits.sum(axis=1).astype(np.intp)


class _Geometry(NamedTuple):
    """Look-up tables of one grid, sight and number of copies (see :func:`_geometry`)."""

    image_at: np.ndarray
    """intp (R * C,): a cell's entry in the (R, E, C) item counts of copy 0."""
    windows: np.ndarray
    """intp (R * C, 8): the integral-image entries of copy 0 that bound a cell's two views."""
    corner: np.ndarray
    """intp (R * C,): key of the view's corner, ``top * (2 sight + 1) + left``."""
    key: np.ndarray
    """intp (R * C,): key of a cell, ``row * (2 sight + 1) + col``."""
    none: int
    """Key of an empty slot: ``none - corner`` is -1, -1 for every corner."""
    rel_row: np.ndarray
    """float32: the row relative to the view corner for a key minus a corner key."""
    rel_col: np.ndarray
    rel: np.ndarray
    """float32 (keys, 2): ``rel_row`` and ``rel_col`` side by side."""
    copy_offset: np.ndarray
    """intp (E, 1, 1): where each copy starts in the integral image."""
    prefix: tuple[np.ndarray, np.ndarray]
    """float64 (R + 1, R), (C, C + 1): sums of the entries before each index, as products."""


@functools.lru_cache(maxsize=64)
def _geometry(rows: int, cols: int, sight: int, num_envs: int) -> _Geometry:
    """The tables :func:`observe` needs.

    ``_transform_to_neighborhood`` puts an agent's view corner at ``position - min(sight,
    position)``. Food is looked for in ``neighborhood(row, col, sight)``: rows top .. row + sight,
    columns left .. col + sight. Agents are seen when both transformed coordinates lie in
    0 .. 2 sight: rows top .. top + 2 sight (a wider band than the food's near the top and left
    border). A seen item's relative (row, col) lies in 0 .. 2 sight, so ``key(item) -
    corner(view)`` = ``drow * (2 sight + 1) + dcol`` names it; keys above ``(2 sight + 1) ** 2``
    are empty slots.
    """
    row, col = np.divmod(np.arange(rows * cols), cols)
    top, left = row - np.minimum(sight, row), col - np.minimum(sight, col)
    stride = num_envs * (cols + 1)  # the integral image is (R + 1, E, C + 1)
    windows = []
    for bottom, right in ((row + sight + 1, col + sight + 1), (top + 2 * sight + 1, left + 2 * sight + 1)):
        r1, c1 = np.minimum(bottom, rows) * stride, np.minimum(right, cols)
        windows += [r1 + c1, top * stride + c1, r1 + left, top * stride + left]
    side = 2 * sight + 1
    corner = top * side + left
    none = side * side + int(corner.max())
    drow, dcol = np.divmod(np.arange(none + 1), side)
    seen = np.arange(none + 1) < side * side
    return _Geometry(
        image_at=(row * (num_envs * cols) + col).astype(np.intp),
        windows=np.stack(windows, axis=1).astype(np.intp),
        corner=corner.astype(np.intp),
        key=(row * side + col).astype(np.intp),
        none=none,
        rel_row=np.where(seen, drow, -1).astype(np.float32),
        rel_col=np.where(seen, dcol, -1).astype(np.float32),
        rel=np.stack([np.where(seen, drow, -1), np.where(seen, dcol, -1)], axis=1).astype(np.float32),
        copy_offset=(np.arange(num_envs) * (cols + 1)).astype(np.intp)[:, None, None],
        prefix=(np.tril(np.ones((rows + 1, rows)), -1), np.triu(np.ones((cols, cols + 1)), 1)),
    )


_SIGNS = np.array([[1.0, 0.0], [-1, 0], [-1, 0], [1, 0], [0, 1], [0, -1], [0, -1], [0, 1]])
"""Integral-image corners -> (food view, agent view) sums."""


@functools.cache
def _agent_bits(n_agents: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 (N,): agent n's bit within its bit set; float64 (N,): its weight in an image (slot 0)."""
    bit = np.arange(n_agents) % _CHUNK
    return np.left_shift(1, bit).astype(np.int64), np.ldexp(1.0, bit)


_POWERS = np.ldexp(1.0, np.arange(_CHUNK * _PER_IMAGE))
"""float64: 2 ** k for every bit of an image."""


@functools.cache
def _chunks(n_food: int, n_agents: int) -> list[tuple[int, int, np.ndarray | int]]:
    """The bit sets: (0 food / 1 agents, first item, bits to keep: an int, or int64 (N,) for agents,
    where agent n drops its own bit, for an agent is not among the others it sees)."""
    chunks: list[tuple[int, int, np.ndarray | int]] = []
    for start in range(0, n_food, _CHUNK):
        chunks.append((0, start, (1 << min(_CHUNK, n_food - start)) - 1))
    own_bit, _ = _agent_bits(n_agents)
    for start in range(0, n_agents, _CHUNK):
        mine = (np.arange(n_agents) >= start) & (np.arange(n_agents) < start + _CHUNK)
        chunks.append((1, start, ((1 << min(_CHUNK, n_agents - start)) - 1) & ~np.where(mine, own_bit, 0)))
    return chunks


@functools.lru_cache(maxsize=64)
def _tiled_weights(n_agents: int, num_envs: int, start: int, slot: int) -> np.ndarray:
    """float64 (E * agents in the set,): the image weights of agents start .. start + 11 of every copy."""
    part = _agent_bits(n_agents)[1][start : start + _CHUNK] * 2.0 ** (_CHUNK * slot)
    return np.tile(part, num_envs)


def observe(
    field: np.ndarray, pos: np.ndarray, levels: np.ndarray, *, sight: int, n_food: int, observe_levels: bool
) -> np.ndarray:
    """float32 (E, N, 3 F + k N): the vector lbforaging's ``make_obs_array`` builds for every agent.

    Coordinates are relative to the corner of the agent's view (see :func:`_geometry`). Food is
    listed in row-major order of the view (the field's row-major order); agents, the observer
    first, then the others it sees in index order; unused slots are ``-1, -1(, 0)``.
    ``field`` int (E, R, C), ``pos`` int (E, N, 2), ``levels`` int (E, N); at most ``n_food`` food
    items per copy.
    """
    num_envs, n_agents = pos.shape[:2]
    rows, cols = field.shape[1:]
    per_agent = 3 if observe_levels else 2
    out = np.empty((num_envs, n_agents, 3 * n_food + per_agent * n_agents), dtype=np.float32)
    geo = _geometry(rows, cols, sight, num_envs)
    cell = pos[..., 0] * cols + pos[..., 1]
    corner = np.take(geo.corner, cell)[..., None]

    # Food k of a copy: its k-th food in row-major order (np.nonzero order).
    where = np.flatnonzero(field > 0)
    copy_of, food_cell = np.divmod(where, rows * cols)
    counts = np.bincount(copy_of, minlength=num_envs)
    rank = np.arange(where.size) - (np.cumsum(counts) - counts)[copy_of]
    at = copy_of * (n_food + 1) + rank  # item n_food of every copy: the empty slot
    food_key = np.full(num_envs * (n_food + 1), geo.none, dtype=np.intp)
    food_key[at] = np.take(geo.key, food_cell)
    food_level = np.zeros(num_envs * (n_food + 1), dtype=np.float32)
    food_level[at] = field.reshape(-1)[where]
    food_sets, agent_sets = _seen_sets(geo, (copy_of, food_cell, rank), cell, (rows, cols), n_food)

    listed = np.empty((num_envs, n_agents, n_food), dtype=np.intp)
    _listed(food_sets, n_food, listed)
    key = np.take(food_key, listed) - corner
    food = out[..., : 3 * n_food].reshape(num_envs, n_agents, n_food, 3)
    food[..., 0] = np.take(geo.rel_row, key)
    food[..., 1] = np.take(geo.rel_col, key)
    food[..., 2] = np.take(food_level, listed)

    # Agents: the observer first (its own key minus its corner: min(sight, position)), then the others.
    listed = np.empty((num_envs, n_agents, n_agents), dtype=np.intp)
    listed[..., 0] = np.arange(num_envs * (n_agents + 1)).reshape(num_envs, -1)[:, :n_agents]
    _listed(agent_sets, n_agents, listed[..., 1:])
    agent_key = np.full((num_envs, n_agents + 1), geo.none, dtype=np.intp)
    agent_key[:, :n_agents] = np.take(geo.key, cell)
    key = np.take(agent_key, listed) - corner
    if per_agent == 2:  # whole (row, col) pairs: one take into contiguous memory, one copy
        out[..., 3 * n_food :] = np.take(geo.rel, key, axis=0).reshape(num_envs, n_agents, -1)
    else:
        agents = out[..., 3 * n_food :].reshape(num_envs, n_agents, n_agents, per_agent)
        agents[..., 0] = np.take(geo.rel_row, key)
        agents[..., 1] = np.take(geo.rel_col, key)
        agent_level = np.zeros((num_envs, n_agents + 1), dtype=np.float32)
        agent_level[:, :n_agents] = levels
        agents[..., 2] = np.take(agent_level, listed)
    return out


def _seen_sets(
    geo: _Geometry,
    food: tuple[np.ndarray, np.ndarray, np.ndarray],
    agent_cell: np.ndarray,
    grid: tuple[int, int],
    n_food: int,
) -> tuple[list[tuple[np.ndarray, int]], list[tuple[np.ndarray, int]]]:
    """The bit sets (int64 (E, N) code, first item) of the food and the other agents each agent sees.

    ``food``: copy, cell and rank in its copy of every food (int (K,) each); ``agent_cell`` int
    (E, N). The integral image of a group of bit sets is (R + 1, E, C + 1): entry (r, e, c) sums
    the weights of copy e's items above row r and left of column c. It is two products with 0/1
    matrices and the view sums one more (exact: every partial sum is an integer below 2 ** 49).
    """
    num_envs, n_agents = agent_cell.shape
    rows, cols = grid
    food_copy, food_cell, food_rank = food
    food_at = np.take(geo.image_at, food_cell) + food_copy * cols
    agent_at = np.take(geo.image_at, agent_cell) + (np.arange(num_envs) * cols)[:, None]
    windows = np.take(geo.windows, agent_cell, axis=0) + geo.copy_offset
    chunks = _chunks(n_food, n_agents)
    down, right = geo.prefix
    sets: tuple[list[tuple[np.ndarray, int]], list[tuple[np.ndarray, int]]] = ([], [])
    for first in range(0, len(chunks), _PER_IMAGE):  # one round per 4 bit sets (one for <= 24 agents and food)
        group = chunks[first : first + _PER_IMAGE]
        where, weight = [], []
        for slot, (kind, start, _) in enumerate(group):
            if kind == 0:
                chosen = (food_rank >= start) & (food_rank < start + _CHUNK) if n_food > _CHUNK else slice(None)
                where.append(food_at[chosen])
                weight.append(np.take(_POWERS, food_rank[chosen] + (_CHUNK * slot - start)))
            else:
                where.append(agent_at[:, start : start + _CHUNK].ravel())
                weight.append(_tiled_weights(n_agents, num_envs, start, slot))
        counts = np.bincount(np.concatenate(where), weights=np.concatenate(weight), minlength=rows * num_envs * cols)
        image = down @ (counts.reshape(rows * num_envs, cols) @ right).reshape(rows, -1)
        inside = (np.take(image, windows) @ _SIGNS).astype(np.int64)  # (E, N, 2)
        for slot, (kind, start, keep) in enumerate(group):
            sets[kind].append(((inside[..., kind] >> (_CHUNK * slot)) & keep, start))
    return sets


def _listed(sets: list[tuple[np.ndarray, int]], n_items: int, out: np.ndarray) -> None:
    """Write to ``out`` (E, N, slots) the index (copy * (n_items + 1) + item) of the items in ``sets``, in
    increasing order, then of each copy's empty slot (item ``n_items``)."""
    num_envs, n_agents, n_slots = out.shape
    base = (np.arange(num_envs) * (n_items + 1))[:, None, None]
    if len(sets) == 1:
        table, _ = _members(n_items)
        np.add(np.take(table, sets[0][0], axis=0)[..., :n_slots], base, out=out)
        return
    listed = np.full((num_envs * n_agents, n_slots + 1), n_items, dtype=np.intp)  # column n_slots: unused
    filled = np.zeros(num_envs * n_agents, dtype=np.intp)
    line = np.arange(num_envs * n_agents)[:, None]
    for code, start in sets:  # each set's members go after those of the sets before it (groups of 12 items)
        width = min(_CHUNK, n_items - start)
        table, count = _members(width)
        members, many = np.take(table, code.ravel(), axis=0), count[code.ravel()]
        used = np.arange(width) < many[:, None]
        place = np.where(used, filled[:, None] + np.arange(width), n_slots)
        listed[line, place] = np.where(used, members + start, n_items)
        filled += many
    np.add(listed[:, :n_slots].reshape(num_envs, n_agents, n_slots), base, out=out)


def valid_actions(field: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """bool (E, N, 6): ``ForagingEnv._is_valid_action`` for every agent of every copy.

    A move is valid when it stays on the grid and its cell holds no food (agents do not block
    it); LOAD when ``adjacent_food`` is positive. lbforaging clamps the neighbour indices at the
    border, where they land on the agent's own (food-free) cell, so a zero border is the same.
    """
    num_envs, rows, cols = field.shape
    padded = np.zeros((num_envs, rows + 2, cols + 2), dtype=field.dtype)
    padded[:, 1:-1, 1:-1] = field
    at = np.arange(num_envs)[:, None]
    row, col = pos[..., 0] + 1, pos[..., 1] + 1
    north, south = padded[at, row - 1, col], padded[at, row + 1, col]
    west, east = padded[at, row, col - 1], padded[at, row, col + 1]
    mask = np.empty((*pos.shape[:2], 6), dtype=bool)
    mask[..., 0] = True
    mask[..., 1] = (row > 1) & (north == 0)
    mask[..., 2] = (row < rows) & (south == 0)
    mask[..., 3] = (col > 1) & (west == 0)
    mask[..., 4] = (col < cols) & (east == 0)
    mask[..., 5] = (north + south + west + east) > 0
    return mask
