"""The coloured warehouse of :mod:`seps.envs.coloured_rware`, vectorised in numpy over E copies and N agents.

Same rules, observations, colours, action permutations, rewards, request queue and 500-step
truncation as ``ColouredWarehouse`` (which subclasses rware 2.0.0's ``Warehouse``), proven equal
to it step by step in tests/test_warehouse_equivalence.py. ``step`` has no Python loop over
copies or agents: collisions are resolved with pointer walks over (E, N) arrays (a loop over
chain-following rounds), deliveries with a loop over the two goals.

rware's ``Warehouse.step`` (rware/warehouse.py) resolves movement with networkx: one directed
edge start -> target per agent (a self-loop for an agent that does not move forward), then per
weakly connected component: a cycle (``nx.find_cycle``) commits the agents on it unless it has
length 2 (a swap, which fails); a component without a cycle commits the agents on
``nx.dag_longest_path``. Every agent has one out-edge, so a component is a tree feeding a sink
(an empty cell) or a cycle (a stationary agent is a self-loop). ``dag_longest_path`` walks back
from the sink through the predecessor with the longest chain behind it; ties go to the
predecessor that comes first in the component subgraph's node order. That order is the
insertion order of the full graph (first appearance of a cell as start or target, agents in
index order) when the component holds at least half the graph's nodes, and otherwise the
iteration order of the Python ``set`` networkx builds for the component
(``weakly_connected_components`` -> ``_plain_bfs``, then ``show_nodes(set(...))`` in
``G.subgraph``, iterated by ``FilterAtlas.__iter__``). That set order depends on CPython's
hashing of ``(x, y)`` tuples, so ties in small components are broken by rebuilding that set in
Python (:func:`_set_order`): a loop over tied components only, not over copies or agents.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult
from seps.envs.coloured_rware import _SPEC, SIZES, action_permutations, agent_colours
from seps.errors import ConfigError, EnvError

N_ACTIONS = 5
NOOP, FORWARD, LEFT, RIGHT, TOGGLE_LOAD = range(5)  # rware.warehouse.Action
UP, DOWN, LEFT_DIR, RIGHT_DIR = range(4)  # rware.warehouse.Direction
# Agent.req_direction: wraplist [UP, RIGHT, DOWN, LEFT]; RIGHT turns to the next entry, LEFT to the previous.
_TURN_RIGHT = np.array([RIGHT_DIR, LEFT_DIR, UP, DOWN], dtype=np.int64)
_TURN_LEFT = np.array([LEFT_DIR, RIGHT_DIR, DOWN, UP], dtype=np.int64)
_DX = np.array([0, 0, -1, 1], dtype=np.int64)
_DY = np.array([-1, 1, 0, 0], dtype=np.int64)
_CELL_FEATURES = 7  # has_agent, direction one-hot (4), has_shelf, shelf_requested (rware _get_default_obs)


def rware_layout(shelf_columns: int, shelf_rows: int, column_height: int) -> tuple[tuple[int, int], np.ndarray, list]:
    """Grid size (H, W), highway map uint8 (H, W) and goals [(x, y)], as rware's ``_make_layout_from_params``."""
    if shelf_columns % 2 != 1:
        raise ConfigError("crware: only an odd number of shelf columns is supported (as in rware)")
    height, width = (column_height + 1) * shelf_rows + 2, 3 * shelf_columns + 1
    y, x = np.indices((height, width))
    queue = (y > height - (column_height + 3)) & ((x == width // 2 - 1) | (x == width // 2))
    highways = (x % 3 == 0) | (y % (column_height + 1) == 0) | (y == height - 1) | queue
    goals = [(width // 2 - 1, height - 1), (width // 2, height - 1)]
    return (height, width), highways.astype(np.uint8), goals


class VectorWarehouse(MultiAgentEnv):
    """``num_envs`` copies of the coloured warehouse stepped together (see the module docstring).

    State (public, (E, ...) arrays): ``agent_x``, ``agent_y``, ``agent_dir`` (E, N);
    ``carrying`` (E, N) shelf index or -1; ``shelf_x``, ``shelf_y``, ``shelf_colours`` (E, S);
    ``queue`` (E, Q) requested shelf indices in rware's slot order; ``steps`` (E,).
    Shelf index s is rware's shelf id s + 1; agent index i is rware's agent id i + 1.
    """

    team_reward = False

    def __init__(
        self,
        *,
        n_agents: int,
        n_colours: int,
        size: str = "tiny",
        num_envs: int = 1,
        max_steps: int = 500,
        column_height: int = 8,
        request_queue_size: int | None = None,
        name: str | None = None,
    ) -> None:
        if size not in SIZES:
            raise ConfigError(f"crware: unknown size {size!r}; use one of {sorted(SIZES)}")
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"crware: num_envs must be an int >= 1, got {num_envs!r}")
        if max_steps < 1:
            raise ConfigError(f"crware: max_steps must be >= 1, got {max_steps}")
        self.colours: np.ndarray = agent_colours(n_agents, n_colours)
        self.agent_types = self.colours
        self.action_table = action_permutations(n_colours)
        self.n_colours = n_colours
        self.num_envs = num_envs
        self.max_steps = max_steps
        self.name = name or f"crware:{size}-{n_agents}ag-{n_colours}c"
        rows, columns = SIZES[size]
        (self.height, self.width), self.highways, self.goals = rware_layout(columns, rows, column_height)
        # rware reset: shelves on every non-highway cell, ids in row-major (y, then x) order.
        sy, sx = np.nonzero(self.highways == 0)
        self._home_x, self._home_y = sx.astype(np.int64), sy.astype(np.int64)
        self.n_shelves = len(sx)
        self.queue_size = n_agents if request_queue_size is None else request_queue_size
        if not 1 <= self.queue_size <= self.n_shelves:
            raise ConfigError(f"crware: request_queue_size must be in 1..{self.n_shelves}, got {self.queue_size}")
        self.obs_dim = 8 + 9 * _CELL_FEATURES + 9 * n_colours
        box = spaces.Box(-np.inf, np.inf, shape=(self.obs_dim,), dtype=np.float32)
        self.observation_spaces = (box,) * n_agents
        self.action_spaces = (spaces.Discrete(N_ACTIONS),) * n_agents
        self._cell_hash_keys = [(x, y) for y in range(self.height) for x in range(self.width)]

        e, n, s = num_envs, n_agents, self.n_shelves
        self.agent_x = np.zeros((e, n), dtype=np.int64)
        self.agent_y = np.zeros((e, n), dtype=np.int64)
        self.agent_dir = np.zeros((e, n), dtype=np.int64)
        self.carrying = np.full((e, n), -1, dtype=np.int64)
        self.shelf_x = np.zeros((e, s), dtype=np.int64)
        self.shelf_y = np.zeros((e, s), dtype=np.int64)
        self.shelf_colours = np.zeros((e, s), dtype=np.int64)
        self.queue = np.zeros((e, self.queue_size), dtype=np.int64)
        self.steps = np.zeros(e, dtype=np.int64)
        self._rng = np.random.default_rng()
        self._started = False
        self.events: dict[str, int] | None = None
        """Counts of collision and delivery cases when set to a dict (the equivalence test reads them)."""
        self._rows = np.arange(e)[:, None]
        self._agent_offset = self._rows * n
        self._cell_offset = self._rows * (self.height * self.width)
        # Feature rows of a cell: an agent facing d -> [1, one-hot d]; a shelf (requested r, colour k) ->
        # [1, r, one-hot k], indexed by r * C + k.
        self._agent_rows = np.concatenate([np.ones((4, 1)), np.eye(4)], axis=1).astype(np.float32)
        shelf_rows = np.zeros((2 * n_colours, 2 + n_colours), dtype=np.float32)
        shelf_rows[:, 0] = 1.0
        shelf_rows[n_colours:, 1] = 1.0
        shelf_rows[np.arange(2 * n_colours), 2 + np.arange(2 * n_colours) % n_colours] = 1.0
        self._shelf_rows = shelf_rows
        # The global state's features of a cell, indexed by (1 + agent dir, or 0) * (1 + 2 C) + (1 + shelf row, or 0).
        cell_rows = np.zeros((5, 1 + 2 * n_colours, _CELL_FEATURES + n_colours), dtype=np.float32)
        cell_rows[1:, :, :5] = self._agent_rows[:, None]
        cell_rows[:, 1:, 5:] = shelf_rows
        self._state_rows = cell_rows.reshape(-1, _CELL_FEATURES + n_colours)
        self._doublings = int(np.ceil(np.log2(n + 1))) + 1
        self._agent_index = np.broadcast_to(np.arange(n), (e, n))
        self._mask = np.ones((e, n, N_ACTIONS), dtype=bool)
        self._mask.flags.writeable = False
        self._false = np.zeros((e, n), dtype=bool)
        self._false.flags.writeable = False
        # Window offsets of the 3x3 view in the grid padded by 1 (rware pads by sensor_range).
        wy, wx = np.divmod(np.arange(9), 3)
        self._window = wy * (self.width + 2) + wx
        self.highway_flat = self.highways.reshape(-1).astype(bool)
        # The cell ahead of each cell in each direction, clipped at the walls (Warehouse.step's target).
        cy, cx = np.divmod(np.arange(self.height * self.width), self.width)
        ahead_x = np.clip(cx[:, None] + _DX[None, :], 0, self.width - 1)
        ahead_y = np.clip(cy[:, None] + _DY[None, :], 0, self.height - 1)
        self._ahead = ahead_y * self.width + ahead_x
        self._padded_of = (cy + 1) * (self.width + 2) + cx + 1  # cell -> index in the padded grids
        self._cell_tables = _cell_tables(n_colours)
        self._self_table = _self_table(self.height, self.width, self.highway_flat)

    # -- random draws (a hook: the equivalence test replays rware's own generator here) --------
    def _draw(self, copies: np.ndarray, n: np.ndarray) -> np.ndarray:
        """One uniform index in 0..n-1 per entry; rware draws ``np_random.choice(candidates)`` the same way."""
        return self._rng.integers(0, n)

    # -- reset ---------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> StepResult:
        """Start new episodes in every copy; ``seed`` re-seeds the one generator all copies draw from."""
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise EnvError(f"{self.name}: reset(seed) needs a non-negative integer or None, got {seed!r}")
            self._rng = np.random.default_rng(int(seed))
        self._respawn(np.ones(self.num_envs, dtype=bool))
        self._started = True
        return self._result_now()

    def _respawn(self, which: np.ndarray) -> None:
        """New episodes in copies ``which`` (bool (E,)), distributed as rware's ``Warehouse.reset``."""
        m = int(which.sum())
        n, cells = self.n_agents, self.height * self.width
        # rware: agents on distinct cells of the whole grid, uniform directions, Q distinct requested shelves.
        locs = np.argsort(self._rng.random((m, cells)), axis=1)[:, :n]
        self.agent_y[which], self.agent_x[which] = np.divmod(locs, self.width)
        self.agent_dir[which] = self._rng.integers(0, 4, size=(m, n))
        self.carrying[which] = -1
        self.shelf_x[which], self.shelf_y[which] = self._home_x, self._home_y
        self.queue[which] = np.argsort(self._rng.random((m, self.n_shelves)), axis=1)[:, : self.queue_size]
        self.shelf_colours[which] = self._rng.integers(0, self.n_colours, size=(m, self.n_shelves))
        self.steps[which] = 0

    # -- step ------------------------------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> StepResult:
        """Apply ``actions`` (int (E, N), 0-4, in each agent's colour's action order) in every copy."""
        actions = self.check_step_actions(actions, N_ACTIONS, started=self._started)
        act = self.action_table[self.colours[None, :], actions]
        grid_agents, grid_shelves = self._move(act)
        rewards = self._deliver(grid_agents, grid_shelves)
        self.steps += 1
        # ColouredWarehouse.step reports rware's step limit as truncation (never termination).
        ended = self.steps >= self.max_steps
        obs = self._observe(grid_agents, grid_shelves)
        truncated = np.repeat(ended[:, None], self.n_agents, axis=1)
        final_obs = obs
        state = final_state = self.global_state() if self.global_state_enabled else None
        if ended.any():
            final_obs = obs.copy()
            self._respawn(ended)
            obs = self._observe()
            state = self.global_state() if self.global_state_enabled else None
        return StepResult(
            obs=obs,
            rewards=rewards,
            terminated=self._false,
            truncated=truncated,
            final_obs=final_obs,
            action_mask=self._mask,
            active=np.ones_like(truncated),
            state=state,
            final_state=final_state,
        )

    def _grids(self) -> tuple[np.ndarray, np.ndarray]:
        """Agent ids and shelf ids (0 = none) as rware's ``_recalc_grid``, (E, (H+2)*(W+2)) padded by one cell.

        Cell (x, y) is at ``(y + 1) * (W + 2) + x + 1`` (``_padded_of``); the border stays empty, as rware's
        observation padding (sensor_range 1).
        """
        e, pw = self.num_envs, self.width + 2
        shelves = np.zeros((e, (self.height + 2) * pw), dtype=np.int32)
        shelves[self._rows, self.shelf_y * pw + self.shelf_x + pw + 1] = np.arange(1, self.n_shelves + 1)
        agents = np.zeros_like(shelves)
        agents[self._rows, self.agent_y * pw + self.agent_x + pw + 1] = np.arange(1, self.n_agents + 1)
        return agents, shelves

    def _move(self, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Movement, turns and loading of rware's ``Warehouse.step`` for all copies at once.

        Returns the grids of the new positions (as ``_grids`` would rebuild them, updated in place).
        """
        n, rows = self.n_agents, self._rows
        grid_agents, grid_shelves = self._grids()
        start = self.agent_y * self.width + self.agent_x
        forward = act == FORWARD
        target = np.where(forward, self._ahead[start, self.agent_dir], start)
        padded_start, padded_target = self._padded_of[start], self._padded_of[target]
        loaded = self.carrying >= 0
        occupant = grid_agents[rows, padded_target] - 1  # agent index at the target or -1
        occupant_loaded = np.where(occupant >= 0, loaded[rows, np.maximum(occupant, 0)], False)
        # Warehouse.step: a loaded agent heading for a standing shelf is cancelled (NOOP, self-loop).
        cancel = loaded & (target != start) & (grid_shelves[rows, padded_target] > 0) & ~occupant_loaded
        act = np.where(cancel, NOOP, act)
        target = np.where(cancel, start, target)
        padded_target = np.where(cancel, padded_start, padded_target)
        moving = target != start
        nxt = np.where(moving, occupant, self._agent_index)  # successor agent, -1 for an empty cell

        # Flat successor pointers over all copies; index E*N is a sentinel standing for every empty cell.
        size = self.num_envs * n
        flat_nxt = np.where(nxt >= 0, nxt + self._agent_offset, size).reshape(-1)
        succ = np.append(flat_nxt, size)
        far = succ
        for _ in range(self._doublings):  # pointer doubling: far = succ applied >= N times
            far = far[far]
        # After N steps every walk sits on its component's cycle, or at the sink.
        cycle_mark = np.zeros(size + 1, dtype=bool)
        cycle_mark[far] = True
        on_cycle = cycle_mark[:size].reshape(nxt.shape)
        reaches_sink = moving & (far[:size] == size).reshape(nxt.shape)
        swap = moving & on_cycle & (succ[flat_nxt] == np.arange(size)).reshape(nxt.shape)
        # find_cycle commits the agents of a cycle unless it is a swap of two.
        commit_cycle = moving & on_cycle & ~swap

        # dag_longest_path: dist = longest chain into an agent's start cell (sink trees only).
        sink_flat = reaches_sink.reshape(-1)
        src = np.nonzero(sink_flat & (flat_nxt < size))[0]
        dst = flat_nxt[src]
        dist_flat = np.zeros(size + 1, dtype=np.int64)
        while len(src):  # rounds along the chains
            new = np.zeros(size + 1, dtype=np.int64)
            np.maximum.at(new, dst, dist_flat[src] + 1)
            if np.array_equal(new, dist_flat):
                break
            dist_flat = new
        dist = dist_flat[:size].reshape(nxt.shape)
        # The predecessor kept at each cell: the longest chain, ties to the earliest node (rank).
        cell = (target + self._cell_offset).reshape(-1)
        longest = np.full(self.num_envs * self.height * self.width, -1, dtype=np.int64)
        np.maximum.at(longest, cell[sink_flat], dist.reshape(-1)[sink_flat])
        at_max = reaches_sink & (dist == longest[cell].reshape(nxt.shape))
        # Cells with two or more predecessors at the longest chain (duplicates among sorted cells).
        at_cells = np.sort(cell[at_max.reshape(-1)])
        tied_cells = at_cells[1:][at_cells[1:] == at_cells[:-1]]
        rank = np.zeros_like(dist)  # read only where tied: an untied cell has a single candidate
        tied = self._false
        if len(tied_cells):
            tied = at_max & np.isin(cell, tied_cells).reshape(nxt.shape)
            rank = self._fix_ties(self._node_rank(tied, start, target), tied, start, target, reaches_sink, flat_nxt)
        key = np.where(at_max, -rank, np.iinfo(np.int64).min).reshape(-1)
        best = np.full(len(longest), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(best, cell[sink_flat], key[sink_flat])
        chosen = sink_flat & (key == best[cell]) & at_max.reshape(-1)
        path = np.append(chosen & (flat_nxt == size), True)
        while True:  # rounds back along the chosen chains from the sinks
            new = chosen & path[flat_nxt]
            if np.array_equal(new, path[:size]):
                break
            path[:size] = new
        on_path = path[:size].reshape(nxt.shape)
        failed = moving & ~(commit_cycle | on_path)
        if self.events is not None:
            counts = {
                "blocked": failed.sum(),
                "contest": tied.sum(),
                "chain": (on_path & (nxt >= 0)).sum(),
                "swap": swap.sum(),
                "cycle": commit_cycle.sum(),
                "cancelled": cancel.sum(),
            }
            for event, value in counts.items():
                self.events[event] = self.events.get(event, 0) + int(value)
        act = np.where(failed, NOOP, act)
        go = act == FORWARD
        # Execute (Warehouse.step, second agent loop).
        self.agent_x = np.where(go, target % self.width, self.agent_x)
        self.agent_y = np.where(go, target // self.width, self.agent_y)
        ce, ca = np.nonzero(go & loaded)  # carried shelves move with their robots
        carried = self.carrying[ce, ca]
        self.shelf_x[ce, carried] = self.agent_x[ce, ca]
        self.shelf_y[ce, carried] = self.agent_y[ce, ca]
        self.agent_dir = np.where(act == RIGHT, _TURN_RIGHT[self.agent_dir], self.agent_dir)
        self.agent_dir = np.where(act == LEFT, _TURN_LEFT[self.agent_dir], self.agent_dir)
        toggle = act == TOGGLE_LOAD
        under = grid_shelves[rows, padded_start] - 1  # the shelf under an unloaded agent (stale grid, as rware)
        pick = toggle & ~loaded & (under >= 0)
        drop = toggle & loaded & ~self.highway_flat[start]
        self.carrying = np.where(pick, under, np.where(drop, -1, self.carrying))
        # rware's _recalc_grid, as an update: clear the cells left, then write the cells entered (every cell
        # holds at most one agent and one shelf, so this equals a rebuild, cycles included).
        flat_agents, flat_shelves = grid_agents.reshape(-1), grid_shelves.reshape(-1)
        ge, gi = np.nonzero(go)
        cols = grid_agents.shape[1]
        flat_agents[ge * cols + padded_start[ge, gi]] = 0
        flat_agents[ge * cols + padded_target[ge, gi]] = gi + 1
        flat_shelves[ce * cols + padded_start[ce, ca]] = 0
        flat_shelves[ce * cols + padded_target[ce, ca]] = carried + 1
        return grid_agents, grid_shelves

    def _node_rank(self, tied: np.ndarray, start: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Position of each tied agent's start cell in the graph's node insertion order (add_edge per agent).

        Agent i adds its start as node 2i (unless it appeared earlier) and its target as 2i + 1;
        entries of agents that are not ``tied`` are 0.
        """
        n = self.n_agents
        te, ti = np.nonzero(tied)
        first_as_target = np.where(target[te] == start[te, ti][:, None], 2 * np.arange(n)[None, :] + 1, 2 * n + 1).min(
            axis=1
        )
        rank = np.zeros(tied.shape, dtype=np.int64)
        rank[te, ti] = np.minimum(2 * ti, first_as_target)
        return rank

    def _fix_ties(
        self,
        rank: np.ndarray,
        tied: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        reaches_sink: np.ndarray,
        flat_nxt: np.ndarray,
    ) -> np.ndarray:
        """Ranks by networkx's set order for agents of small components with a tie (module docstring)."""
        rank = rank.copy()
        size = len(flat_nxt)
        # The last agent of each sink chain (its target is the sink cell that names the component).
        last = np.where(flat_nxt < size, flat_nxt, np.arange(size))
        for _ in range(self._doublings):
            last = last[last]
        sink = target.reshape(-1)[last].reshape(target.shape)
        done: set[tuple[int, int]] = set()
        copies, agents = np.nonzero(tied)
        for e, i in zip(copies.tolist(), agents.tolist(), strict=True):  # tied components only
            key = (e, int(sink[e, i]))
            if key in done:
                continue
            done.add(key)
            members = np.nonzero(reaches_sink[e] & (sink[e] == key[1]))[0]
            order = _set_order(self, members, start[e], target[e])
            if order is None:  # a large component: the graph's insertion order (already in rank) applies
                continue
            if self.events is not None:
                self.events["set_order_tie"] = self.events.get("set_order_tie", 0) + 1
            w = self.width
            rank[e, members] = [order[(int(start[e, j]) % w, int(start[e, j]) // w)] for j in members]
        return rank

    # -- rewards ---------------------------------------------------------------------------------------
    def _deliver(self, grid_agents: np.ndarray, grid_shelves: np.ndarray) -> np.ndarray:
        """rware's goal loop (request replacement) and ColouredWarehouse._undo_wrong_deliveries."""
        e_all = self.num_envs
        rewards = np.zeros((e_all, self.n_agents), dtype=np.float64)
        before = self.queue.copy()
        for gx, gy in self.goals:  # Warehouse.step: ``for y, x in self.goals`` reads grid[:, x, y] = (gy, gx)
            cell = self._padded_of[gy * self.width + gx]
            shelf = grid_shelves[:, cell] - 1
            slot_hit = (self.queue == shelf[:, None]) & (shelf[:, None] >= 0)
            copies = np.nonzero(slot_hit.any(axis=1))[0]
            if len(copies) == 0:
                continue
            slots = slot_hit[copies].argmax(axis=1)
            self.queue[copies, slots] = self._replacement(copies)
            carrier = grid_agents[copies, cell] - 1
            rewards[copies, carrier] += 1.0
            if self.events is not None:
                self.events["delivery"] = self.events.get("delivery", 0) + len(copies)
        changed = before != self.queue
        if changed.any():
            self._undo(before, changed, rewards, grid_agents)
        return rewards.astype(np.float32)

    def _replacement(self, copies: np.ndarray) -> np.ndarray:
        """``np_random.choice([s for s in shelfs if s not in request_queue])`` for each copy in ``copies``."""
        requested = np.zeros((len(copies), self.n_shelves), dtype=bool)
        requested[np.arange(len(copies))[:, None], self.queue[copies]] = True
        free = ~requested
        pick = self._draw(copies, free.sum(axis=1))
        # The pick-th free shelf in id order.
        return (np.cumsum(free, axis=1) > pick[:, None]).argmax(axis=1)

    def _undo(self, before: np.ndarray, changed: np.ndarray, rewards: np.ndarray, grid_agents: np.ndarray) -> None:
        """ColouredWarehouse._undo_wrong_deliveries over changed slots in slot order (at most two per copy)."""
        order = np.argsort(~changed, axis=1, kind="stable")  # changed slots first, ascending
        for k in range(min(2, self.queue_size)):
            slot = order[:, k]
            old = before[np.arange(self.num_envs), slot]
            live = changed[np.arange(self.num_envs), slot] & (self.queue[np.arange(self.num_envs), slot] != old)
            copies = np.nonzero(live)[0]
            if len(copies) == 0:
                continue
            old, slot = old[copies], slot[copies]
            cells = self._padded_of[self.shelf_y[copies, old] * self.width + self.shelf_x[copies, old]]
            carrier = grid_agents[copies, cells] - 1
            wrong = self.shelf_colours[copies, old] != self.colours[carrier]
            copies, old, slot, carrier = copies[wrong], old[wrong], slot[wrong], carrier[wrong]
            if len(copies) == 0:
                continue
            rewards[copies, carrier] -= 1.0
            if self.events is not None:
                self.events["wrong_delivery"] = self.events.get("wrong_delivery", 0) + len(copies)
            self.queue[copies, slot] = old
            # A later delivery may have drawn ``old`` as its replacement: draw that slot again.
            dup = (self.queue[copies] == old[:, None]) & (np.arange(self.queue_size)[None, :] != slot[:, None])
            again = np.nonzero(dup.any(axis=1))[0]
            if len(again):
                redo = copies[again]
                other = dup[again].argmax(axis=1)
                self.queue[redo, other] = self._replacement(redo)

    # -- observations ----------------------------------------------------------------------------------
    def _observe(self, grid_agents: np.ndarray | None = None, grid_shelves: np.ndarray | None = None) -> np.ndarray:
        """float32 (E, N, obs_dim): rware's flattened ``_get_default_obs`` + shelf colours per view cell.

        ``grid_agents``, ``grid_shelves``: the current ``_grids()`` if the caller has them.
        """
        if grid_agents is None or grid_shelves is None:
            grid_agents, grid_shelves = self._grids()
        e, n, w, c, s = self.num_envs, self.n_agents, self.width, self.n_colours, self.n_shelves
        # The 3x3 view of each agent in the padded grids: ids of the agent and the shelf in each cell.
        corner = self._rows * grid_agents.shape[1] + self.agent_y * (w + 2) + self.agent_x  # window's top-left
        window = corner[:, :, None] + self._window
        # One code per view cell: agent part 0 (none) or 1 + direction, shelf part 0 (none) or
        # 1 + requested * C + colour; code = agent * (2C + 1) + shelf.
        agent_code = np.zeros((e, n + 1), dtype=np.intp)
        agent_code[:, 1:] = (self.agent_dir + 1) * (2 * c + 1)
        shelf_code = np.zeros((e, s + 1), dtype=np.intp)
        shelf_code[:, 1:] = 1 + self.shelf_colours
        shelf_code[self._rows, self.queue + 1] += c
        view = agent_code.reshape(-1)[grid_agents.reshape(-1)[window] + self._rows[:, :, None] * (n + 1)]
        view += shelf_code.reshape(-1)[grid_shelves.reshape(-1)[window] + self._rows[:, :, None] * (s + 1)]
        features, colours = self._cell_tables
        loaded = self.carrying >= 0
        obs = np.empty((e, n, self.obs_dim), dtype=np.float32)
        obs[..., :8] = self._self_table[((self.agent_y * w + self.agent_x) * 4 + self.agent_dir) * 2 + loaded]
        obs[..., 8 : 8 + 9 * _CELL_FEATURES] = np.take(features, view, axis=0).reshape(e, n, -1)
        # ColouredWarehouse._make_obs: one-hot shelf colour per view cell, after rware's features.
        obs[..., 8 + 9 * _CELL_FEATURES :] = np.take(colours, view, axis=0).reshape(e, n, -1)
        return obs

    # -- global state (centralised critics only) -------------------------------------------------------
    @property
    def state_dim(self) -> int:
        return self.height * self.width * (_CELL_FEATURES + self.n_colours) + 3 * self.n_agents

    def global_state(self) -> np.ndarray:
        """float32 (E, state_dim): the whole grid, then every agent's ``(x, y, carrying)`` in agent order.

        Per cell, the features an observation gives for the cells in view (``_observe``): has_agent,
        the agent's direction one-hot (zeros where no agent), has_shelf, requested, the shelf's colour
        one-hot. The agents' list says which agent stands where (the grid does not).
        """
        e, n, c, cells = self.num_envs, self.n_agents, self.n_colours, self.height * self.width
        requested = np.zeros((e, self.n_shelves), dtype=np.int64)
        requested[self._rows, self.queue] = 1
        code = np.zeros((e, cells), dtype=np.intp)  # one look-up per cell (rware has one agent / shelf per cell)
        code[self._rows, self.shelf_y * self.width + self.shelf_x] = 1 + requested * c + self.shelf_colours
        code[self._rows, self.agent_y * self.width + self.agent_x] += (1 + self.agent_dir) * (1 + 2 * c)
        state = np.empty((e, self.state_dim), dtype=np.float32)
        state[:, : cells * (_CELL_FEATURES + c)] = np.take(self._state_rows, code, axis=0).reshape(e, -1)
        agents = state[:, cells * (_CELL_FEATURES + c) :].reshape(e, n, 3)
        agents[..., 0], agents[..., 1], agents[..., 2] = self.agent_x, self.agent_y, self.carrying >= 0
        return state

    def _result_now(self) -> StepResult:
        obs = self._observe()
        zeros = np.zeros((self.num_envs, self.n_agents), dtype=np.float32)
        false = np.zeros((self.num_envs, self.n_agents), dtype=bool)
        state = self.global_state() if self.global_state_enabled else None
        return StepResult(
            obs=obs,
            rewards=zeros,
            terminated=false,
            truncated=false.copy(),
            final_obs=obs,
            action_mask=self._mask,
            active=~false,
            state=state,
            final_state=state,
        )

    # -- snapshots -------------------------------------------------------------------------------------
    _STATE = ("agent_x", "agent_y", "agent_dir", "carrying", "shelf_x", "shelf_y", "shelf_colours", "queue", "steps")

    def get_state(self) -> dict[str, Any]:
        """Every state array and the generator state: enough for a bit-exact resume."""
        state: dict[str, Any] = {key: getattr(self, key).copy() for key in self._STATE}
        state["rng"] = json.dumps(self._rng.bit_generator.state)
        return state

    def set_state(self, state: dict[str, Any]) -> StepResult:
        """Restore :meth:`get_state` output and return the observations of that moment."""
        for key in self._STATE:
            value = np.asarray(state[key], dtype=np.int64)
            if value.shape != getattr(self, key).shape:
                raise EnvError(
                    f"{self.name}: snapshot {key!r} has shape {value.shape}, expected {getattr(self, key).shape}"
                )
            setattr(self, key, value.copy())
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = json.loads(state["rng"])
        self._started = True
        return self._result_now()


def _set_order(env: VectorWarehouse, members: np.ndarray, start: np.ndarray, target: np.ndarray) -> dict | None:
    """Node order of networkx's subgraph for the component of ``members`` in one copy, or None if large.

    Rebuilds the component's part of rware's DiGraph adjacency in plain dicts (edges in agent order),
    runs ``_plain_bfs`` from the component's first node in graph order, and iterates
    ``set(iter(component))`` as ``show_nodes`` + ``FilterAtlas.__iter__`` do. Only the members' edges
    touch the component's nodes (every agent has one out-edge; any other agent whose edge reached them
    would be a member), so their adjacency lists, and the component's nodes' order of first appearance
    in rware's ``add_edge`` loop, are those of the whole graph.
    """
    w = env.width
    total_nodes = len(set(start.tolist()) | set(target.tolist()))  # nodes of the whole graph
    if not 2 * (len(members) + 1) < total_nodes:  # a sink tree: its members' cells and the sink
        return None
    node_of = lambda cell: (int(cell) % w, int(cell) // w)  # noqa: E731 - rware's (x, y) node keys
    succ: dict[tuple[int, int], list] = {}
    pred: dict[tuple[int, int], list] = {}
    for i in members.tolist():  # the component's add_edge calls, in agent order
        u, v = node_of(start[i]), node_of(target[i])
        for node in (u, v):
            succ.setdefault(node, [])
            pred.setdefault(node, [])
        succ[u].append(v)
        pred[v].append(u)
    source = next(iter(succ))
    seen = {source}
    level = [source]
    while level:
        this, level = level, []
        for v in this:
            for w2 in succ[v] + pred[v]:
                if w2 not in seen:
                    seen.add(w2)
                    level.append(w2)
    nodes = set(n for n in seen if n in succ)  # set(generator), as nbunch_iter; not set(seen)
    return {node: k for k, node in enumerate(nodes)}


def _cell_tables(n_colours: int) -> tuple[np.ndarray, np.ndarray]:
    """Features of a view cell by its code (see ``_observe``): rware's 7 and the colour one-hot.

    rware's ``_get_default_obs``: has_agent, agent direction one-hot (UP where no agent, as rware writes),
    has_shelf, shelf_requested; then ColouredWarehouse's colour one-hot of the shelf (zeros where none).
    """
    shelf_codes = 2 * n_colours + 1
    agent_part, shelf_part = np.divmod(np.arange(5 * shelf_codes), shelf_codes)
    features = np.zeros((5 * shelf_codes, _CELL_FEATURES), dtype=np.float32)
    features[:, 0] = agent_part > 0
    features[np.arange(len(agent_part)), 1 + np.maximum(agent_part - 1, 0)] = 1.0
    requested, colour = np.divmod(shelf_part - 1, n_colours)
    features[:, 5] = shelf_part > 0
    features[:, 6] = (shelf_part > 0) & (requested == 1)
    colours = np.zeros((5 * shelf_codes, n_colours), dtype=np.float32)
    has_shelf = np.nonzero(shelf_part > 0)[0]
    colours[has_shelf, colour[has_shelf]] = 1.0
    return features, colours


def _self_table(height: int, width: int, highway_flat: np.ndarray) -> np.ndarray:
    """rware's first 8 features (x, y, carrying, direction one-hot, on highway) by (cell * 4 + dir) * 2 + loaded."""
    cell, direction, loaded = np.unravel_index(np.arange(height * width * 8), (height * width, 4, 2))
    table = np.zeros((len(cell), 8), dtype=np.float32)
    table[:, 0], table[:, 1] = cell % width, cell // width
    table[:, 2] = loaded
    table[np.arange(len(cell)), 3 + direction] = 1.0
    table[:, 7] = highway_flat[cell]
    return table


def make_warehouse(
    num_envs: int = 1, *, n_agents: int, n_colours: int, size: str = "tiny", **kwargs: Any
) -> VectorWarehouse:
    """Build E copies of the vectorised coloured warehouse."""
    return VectorWarehouse(n_agents=n_agents, n_colours=n_colours, size=size, num_envs=num_envs, **kwargs)


crware_1 = functools.partial(make_warehouse, n_agents=4, n_colours=2, size="tiny", name="crware-1")
crware_2 = functools.partial(make_warehouse, n_agents=8, n_colours=2, size="small", name="crware-2")
crware_3 = functools.partial(make_warehouse, n_agents=16, n_colours=2, size="medium", name="crware-3")
crware_9ag_3c = functools.partial(make_warehouse, n_agents=9, n_colours=3, size="small", name="crware-9ag-3c")


def crware_family(spec: str) -> Callable[..., VectorWarehouse]:
    """Factory of ``crware:<size>-<N>ag-<C>c`` on the vectorised warehouse; checked before building."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ConfigError(f"crware:{spec} is not of the form 'crware:<size>-<N>ag-<C>c', e.g. 'crware:tiny-4ag-2c'")
    n_agents, n_colours = int(match["agents"]), int(match["colours"])
    agent_colours(n_agents, n_colours)
    if match["size"] not in SIZES:
        raise ConfigError(f"crware:{spec}: unknown size {match['size']!r}; use one of {sorted(SIZES)}")
    return functools.partial(make_warehouse, n_agents=n_agents, n_colours=n_colours, size=match["size"])
