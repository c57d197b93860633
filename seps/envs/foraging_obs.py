"""Observations and valid actions of :class:`seps.envs.foraging.VectorForaging`, for all copies and agents at once.

``observe`` is lbforaging 2.0.0's ``ForagingEnv._make_obs`` + ``_make_gym_obs.make_obs_array``
(vector observations); ``valid_actions`` is ``_gen_valid_moves`` / ``_is_valid_action``.
"""

from __future__ import annotations

import numpy as np


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


def observe(
    field: np.ndarray, pos: np.ndarray, levels: np.ndarray, *, sight: int, n_food: int, observe_levels: bool
) -> np.ndarray:
    """float32 (E, N, 3 F + k N): the vector lbforaging's ``make_obs_array`` builds for every agent.

    Coordinates are relative to the corner of the agent's view, ``_transform_to_neighborhood``:
    ``position - center + min(sight, center)``. Food is listed in row-major order of the view
    ``neighborhood(row, col, sight)``; agents are visible when both transformed coordinates lie in
    ``0 .. 2 sight`` (lbforaging's test, wider than the food view near the top/left border), the
    observer first, then the others in index order; unused slots are ``-1, -1(, 0)``.
    ``field`` int (E, R, C), ``pos`` int (E, N, 2), ``levels`` int (E, N).
    """
    num_envs, n_agents = pos.shape[:2]
    per_agent = 3 if observe_levels else 2
    width = 3 * n_food + per_agent * n_agents
    template = np.zeros(width, dtype=np.float32)
    template[0 : 3 * n_food : 3] = template[1 : 3 * n_food : 3] = -1
    template[3 * n_food : width : per_agent] = template[3 * n_food + 1 : width : per_agent] = -1
    out = np.empty((num_envs, n_agents, width), dtype=np.float32)
    out[...] = template
    flat = out.reshape(-1)
    row, col = pos[..., 0].astype(np.int32), pos[..., 1].astype(np.int32)  # int32: half the memory traffic
    reach_row, reach_col = np.minimum(sight, row), np.minimum(sight, col)
    top, left = row - reach_row, col - reach_col  # corner of each agent's view
    start = np.arange(num_envs * n_agents, dtype=np.int64).reshape(num_envs, n_agents) * width

    # Food, in row-major order of the field (np.nonzero order) within each copy.
    copy_of, food_row, food_col = np.nonzero(field)
    counts = np.bincount(copy_of, minlength=num_envs)
    rank = np.arange(copy_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
    food_at = copy_of * n_food + rank
    food_row_of = np.full(num_envs * n_food, -(2**30), dtype=np.int32)  # missing food: never seen
    food_row_of[food_at] = food_row
    food_col_of = np.full(num_envs * n_food, -(2**30), dtype=np.int32)
    food_col_of[food_at] = food_col
    food_level_of = np.zeros(num_envs * n_food, dtype=np.int32)
    food_level_of[food_at] = field[copy_of, food_row, food_col]
    # The view is rows top .. row + sight: 0 <= rel <= reach + sight, one unsigned comparison.
    rel_row = food_row_of.reshape(num_envs, 1, n_food) - top[:, :, None]
    rel_col = food_col_of.reshape(num_envs, 1, n_food) - left[:, :, None]
    seen = (rel_row.view(np.uint32) <= (reach_row + sight).view(np.uint32)[..., None]) & (
        rel_col.view(np.uint32) <= (reach_col + sight).view(np.uint32)[..., None]
    )
    slot = np.cumsum(seen, axis=2, dtype=np.int32)
    e, n, f = np.nonzero(seen)  # only the food each agent sees is written
    at = start[e, n] + 3 * (slot[e, n, f] - 1)
    flat[at] = rel_row[e, n, f]
    flat[at + 1] = rel_col[e, n, f]
    flat[at + 2] = food_level_of[e * n_food + f]

    # Agents: visible ones, the observer first (always seen: its own slot 0), then the others in index order.
    out[..., 3 * n_food] = reach_row
    out[..., 3 * n_food + 1] = reach_col
    if per_agent == 3:
        out[..., 3 * n_food + 2] = levels
    span = np.uint32(2 * sight)
    rel_row = row[:, None, :] - top[:, :, None]  # (E, N, N): agent m as seen by agent n
    rel_col = col[:, None, :] - left[:, :, None]
    seen = (rel_row.view(np.uint32) <= span) & (rel_col.view(np.uint32) <= span) & ~np.eye(n_agents, dtype=bool)
    slot = np.cumsum(seen, axis=2, dtype=np.int32)
    e, n, m = np.nonzero(seen)
    at = start[e, n] + 3 * n_food + per_agent * slot[e, n, m]
    flat[at] = rel_row[e, n, m]
    flat[at + 1] = rel_col[e, n, m]
    if per_agent == 3:
        flat[at + 2] = levels[e, m]
    return out
