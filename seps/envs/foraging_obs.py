"""Observations and valid actions of :class:`seps.envs.foraging.VectorForaging`, for all copies and agents at once.

``observe`` is lbforaging 2.0.0's ``ForagingEnv._make_obs`` + ``_make_gym_obs.make_obs_array``
(vector observations); ``valid_actions`` is ``_gen_valid_moves`` / ``_is_valid_action``.
"""

from __future__ import annotations

from typing import Any

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


def observe(env: Any) -> np.ndarray:
    """float32 (E, N, 3 F + k N): the vector lbforaging's ``make_obs_array`` builds for every agent.

    Coordinates are relative to the corner of the agent's view, ``_transform_to_neighborhood``:
    ``position - center + min(sight, center)``. Food is listed in row-major order of the view
    ``neighborhood(row, col, sight)``; agents are visible when both transformed coordinates lie in
    ``0 .. 2 sight`` (lbforaging's test, wider than the food view near the top/left border), the
    observer first, then the others in index order; unused slots are ``-1, -1(, 0)``.
    """
    field, pos, sight = env.field, env.pos, env.sight
    num_envs, n_agents = pos.shape[:2]
    n_food = env.max_num_food
    per_agent = 3 if env.observe_agent_levels else 2
    width = 3 * n_food + per_agent * n_agents
    out = np.zeros((num_envs, n_agents, width + 1), dtype=np.float32)  # last column takes unused writes
    out[..., 0 : 3 * n_food : 3] = -1
    out[..., 1 : 3 * n_food : 3] = -1
    out[..., 3 * n_food :: per_agent][..., :n_agents] = -1
    out[..., 3 * n_food + 1 :: per_agent][..., :n_agents] = -1
    if per_agent == 3:
        out[..., 3 * n_food + 2 :: 3][..., :n_agents] = 0
    out[..., width] = 0
    flat = out.reshape(num_envs * n_agents, width + 1)
    rows = np.arange(num_envs * n_agents).reshape(num_envs, n_agents, 1)
    origin = pos - np.minimum(sight, pos)  # (E, N, 2): top-left corner of each agent's view

    # Food: the copy's food in row-major order (np.nonzero order), then the ones in each view.
    copy_of, food_row, food_col = np.nonzero(field)
    counts = np.bincount(copy_of, minlength=num_envs)
    rank = np.arange(copy_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
    food = np.full((num_envs, n_food, 3), -1, dtype=np.int64)  # row, col, level; row -1 = no food
    food[copy_of, rank] = np.stack([food_row, food_col, field[copy_of, food_row, food_col]], axis=1)
    rel = food[:, None, :, :2] - origin[:, :, None, :]  # (E, N, F, 2)
    far = pos[:, :, None, :] + sight  # the view ends at min(center + sight, size - 1)
    seen = (food[:, None, :, 0] >= 0) & (rel >= 0).all(axis=3) & (food[:, None, :, :2] <= far).all(axis=3)
    slot = np.cumsum(seen, axis=2) - 1
    for part in range(3):
        value = rel[..., part] if part < 2 else np.broadcast_to(food[:, None, :, 2], seen.shape)
        flat[rows, np.where(seen, 3 * slot + part, width)] = value

    # Agents: visible ones, observer first.
    rel = pos[:, None, :, :] - origin[:, :, None, :]  # (E, N, N, 2): agent m as seen by n
    seen = (rel >= 0).all(axis=3) & (rel <= 2 * sight).all(axis=3)
    others = seen & ~np.eye(n_agents, dtype=bool)
    slot = np.where(np.eye(n_agents, dtype=bool), 0, np.cumsum(others, axis=2))
    base = 3 * n_food + per_agent * slot
    for part in range(per_agent):
        value = rel[..., part] if part < 2 else np.broadcast_to(env.levels[:, None, :], seen.shape)
        flat[rows, np.where(seen, base + part, width)] = value
    return out[..., :width]
