"""Level-based foraging in numpy: E copies x N agents stepped at once, equal to lbforaging 2.0.0.

Every rule follows ``lbforaging/foraging/environment.py`` (``ForagingEnv``, lbforaging 2.0.0);
the comments name the function each piece re-implements. ``tests/test_foraging_equivalence.py``
drives lbforaging and this env from the same states with the same actions and asserts identical
observations, rewards, flags and masks (docs/foraging.md).

Two kinds of task:

* fixed hidden levels (``lbf-12ag-3lvl``, ``lbf:10x10-12ag-3lvl-8f``): agent i has level
  ``i mod L + 1`` in every episode and no observation shows agent levels, as
  :class:`seps.envs.lbf.FixedLevelForaging` (the lbforaging-backed reference);
* lbforaging's own registered tasks (``lbf:Foraging-15x15-9p-4f-v3``): the registered keyword
  arguments, levels drawn every episode and observed; there is no ground truth, so
  ``agent_types`` is None.

lbforaging pops its loaders from a ``set`` of ``Player`` objects (an order fixed by memory
addresses); here they go by agent index. The order cannot matter: ``spawn_food`` keeps foods
apart, so every loader touches exactly one food and the groups are disjoint (the equivalence test
counts loaders next to two foods: none). Deviations, documented in docs/foraging.md: food
placement draws uniformly among the cells lbforaging accepts but has no 1000-attempt cap; agents
are placed on distinct uniform cells, without lbforaging's habit of also avoiding the
previous episode's cells of agents not yet placed. The step limit is a truncation.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult
from seps.envs.foraging_obs import observe, valid_actions
from seps.errors import ConfigError, EnvError

N_ACTIONS = 6
"""lbforaging ``Action``: NONE, NORTH, SOUTH, WEST, EAST, LOAD."""
LOAD = 5
# Row/column change of each action (``ForagingEnv.step``: NORTH is row - 1, WEST is col - 1).
_MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], dtype=np.int64)
# ``spawn_food`` rejects a cell with food in its 3x3 neighbourhood or within 2 cells in its row
# or column (``neighborhood(row, col)`` and ``neighborhood(row, col, distance=2, ignore_diag=True)``).
_FOOTPRINT = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)] + [(-2, 0), (2, 0), (0, -2), (0, 2)]
_FOOT_ROWS = np.array([dr for dr, _ in _FOOTPRINT]) + 2  # in the spawn grid padded by 2
_FOOT_COLS = np.array([dc for _, dc in _FOOTPRINT]) + 2


@functools.cache
def _spawn_area(rows: int, cols: int) -> np.ndarray:
    """float64 ((R + 4) * (C + 4),): 1.0 on the cells ``spawn_food`` may use (rows 1 .. R-2, columns
    1 .. C-2) of the grid padded by 2, else 0.0."""
    area = np.zeros((rows + 4, cols + 4))
    area[3 : rows + 1, 3 : cols + 1] = 1.0
    area.flags.writeable = False
    return area.reshape(-1)


@functools.cache
def _inner_cells(rows: int, cols: int) -> np.ndarray:
    """intp (R * C,): the flat index of each grid cell in the grid padded by 2, row-major."""
    row, col = np.divmod(np.arange(rows * cols), cols)
    return (row + 2) * (cols + 4) + col + 2


class VectorForaging(MultiAgentEnv):
    """``num_envs`` copies of lbforaging's ``ForagingEnv`` (vector observations), stepped with numpy.

    State (public, tests write it): ``field`` int32 (E, R, C) food levels, ``pos`` int64 (E, N, 2)
    agent (row, col), ``levels`` int64 (E, N), ``t`` int64 (E,) steps in the episode and
    ``food_spawned`` int64 (E,) the food levels placed at the reset (the reward normaliser).
    Copies reset on their own when their food is gone or their step limit is reached.
    """

    def __init__(
        self,
        *,
        n_agents: int,
        field_size: int,
        max_num_food: int,
        sight: int,
        max_episode_steps: int = 50,
        min_player_level: int = 1,
        max_player_level: int = 2,
        fixed_levels: np.ndarray | None = None,
        min_food_level: int = 1,
        max_food_level: int | None = None,
        force_coop: bool = False,
        normalize_reward: bool = True,
        observe_agent_levels: bool = True,
        penalty: float = 0.0,
        num_envs: int = 1,
        name: str = "lbf",
    ) -> None:
        for key, value in (("num_envs", num_envs), ("n_agents", n_agents), ("max_num_food", max_num_food)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name}: {key!r} must be a positive integer, got {value!r}")
        if field_size < 3 or sight < 1 or max_episode_steps < 1:
            raise ConfigError(f"{name}: field_size >= 3, sight >= 1 and max_episode_steps >= 1 are needed")
        self.num_envs, self.name = int(num_envs), name
        self.rows = self.cols = int(field_size)
        self.max_num_food, self.sight, self.max_episode_steps = int(max_num_food), int(sight), int(max_episode_steps)
        self.fixed_levels = None if fixed_levels is None else np.asarray(fixed_levels, dtype=np.int64)
        if self.fixed_levels is not None:
            min_player_level, max_player_level = int(self.fixed_levels.min()), int(self.fixed_levels.max())
        self.min_player_level, self.max_player_level = int(min_player_level), int(max_player_level)
        self.min_food_level, self.max_food_level = int(min_food_level), max_food_level
        self.force_coop, self.normalize_reward = bool(force_coop), bool(normalize_reward)
        self.observe_agent_levels, self.penalty = bool(observe_agent_levels), float(penalty)
        self.agent_types = None if self.fixed_levels is None else self.fixed_levels - 1
        self.team_reward = False
        self.observation_spaces = (self._observation_space(n_agents),) * n_agents
        self.action_spaces = (spaces.Discrete(N_ACTIONS),) * n_agents

        shape = (self.num_envs, n_agents)
        self.field = np.zeros((self.num_envs, self.rows, self.cols), dtype=np.int32)
        self.pos = np.zeros((*shape, 2), dtype=np.int64)
        self.levels = np.zeros(shape, dtype=np.int64)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self.food_spawned = np.zeros(self.num_envs, dtype=np.int64)
        self._mask = np.ones((*shape, N_ACTIONS), dtype=bool)
        self._rng = np.random.default_rng()
        self._started = False
        self._copy_index = np.arange(self.num_envs)[:, None]
        self._cell_base = self._copy_index * (self.rows * self.cols)
        self._mask_base = np.arange(self.num_envs * n_agents).reshape(shape) * N_ACTIONS
        self._steps = _MOVES @ np.array([self.cols, 1])  # flat cell change of each action
        self._true = np.ones(shape, dtype=bool)
        self._true.flags.writeable = False

    def _observation_space(self, n_agents: int) -> spaces.Box:
        """``ForagingEnv._get_observation_space`` (vector observations)."""
        if self.max_food_level is not None:
            food_high = self.max_food_level
        elif self.fixed_levels is not None:
            food_high = int(np.sort(self.fixed_levels)[:3].sum())
        else:
            food_high = self.max_player_level * min(3, n_agents)
        per_agent = 3 if self.observe_agent_levels else 2
        low = [-1, -1, 0] * self.max_num_food + [-1, -1, 0][:per_agent] * n_agents
        high = [self.cols - 1, self.rows - 1, food_high] * self.max_num_food
        high += [self.cols - 1, self.rows - 1, self.max_player_level][:per_agent] * n_agents
        return spaces.Box(np.array(low, np.float32), np.array(high, np.float32), dtype=np.float32)

    # -- MultiAgentEnv -----------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> StepResult:
        """Start new episodes in every copy; a seed re-seeds the one generator all copies draw from."""
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise EnvError(f"{self.name}: reset(seed) needs a non-negative integer or None, got {seed!r}")
            self._rng = np.random.default_rng(int(seed))
        self._spawn(np.arange(self.num_envs))
        self._mask = valid_actions(self.field, self.pos)
        self._started = True
        return self._current()

    def step(self, actions: np.ndarray) -> StepResult:
        """``ForagingEnv.step`` in every copy; invalid actions become NONE, as in lbforaging."""
        actions = self.check_step_actions(actions, N_ACTIONS, started=self._started)
        num_envs, n_agents = actions.shape
        self.t += 1
        # "Action(a) if Action(a) in self._valid_actions[p] else Action.NONE"
        actions = actions * np.take(self._mask, self._mask_base + actions)
        # Movement ("collisions" in step): every agent claims a cell (NONE and LOAD their own); a
        # cell claimed more than once stops all its claimants, everyone else moves, even into a
        # cell a stopped agent stays on (lbforaging then stacks two agents on one cell).
        cells = self._cell_base + self.pos[..., 0] * self.cols + self.pos[..., 1] + np.take(self._steps, actions)
        moves = np.take(np.bincount(cells.ravel(), minlength=self.field.size), cells) == 1
        self.pos = self.pos + np.take(_MOVES, actions * moves, axis=0)
        rewards = np.zeros((num_envs, n_agents), dtype=np.float64)
        loading = actions == LOAD
        if loading.any():
            self._load(loading, rewards)
        # "self._game_over = self.field.sum() == 0 or self._max_episode_steps <= self.current_step"
        eaten = self.field.reshape(num_envs, -1).max(axis=1) == 0
        out_of_time = (self.t >= self.max_episode_steps) & ~eaten
        ended = np.flatnonzero(eaten | out_of_time)
        final_state = self.global_state() if self.global_state_enabled else None
        if ended.size == 0:
            self._mask = valid_actions(self.field, self.pos)
            obs = final_obs = self._observe(self.field, self.pos, self.levels)
        else:
            # One observation pass over the new state of every copy and the last one of the ended copies.
            last = (self.field[ended], self.pos[ended], self.levels[ended])
            self._spawn(ended)
            self._mask = valid_actions(self.field, self.pos)
            both = self._observe(
                np.concatenate([self.field, last[0]]),
                np.concatenate([self.pos, last[1]]),
                np.concatenate([self.levels, last[2]]),
            )
            obs, final_obs = both[:num_envs], both[:num_envs].copy()
            final_obs[ended] = both[num_envs:]
        state = self.global_state() if ended.size and self.global_state_enabled else final_state
        return StepResult(
            obs=obs,
            rewards=rewards.astype(np.float32),
            terminated=np.repeat(eaten[:, None], n_agents, axis=1),
            truncated=np.repeat(out_of_time[:, None], n_agents, axis=1),
            final_obs=final_obs,
            action_mask=self._mask.copy(),
            active=self._true,
            state=state,
            final_state=final_state,
        )

    def _load(self, loading: np.ndarray, rewards: np.ndarray) -> None:
        """The loading loop of ``ForagingEnv.step`` for every loader of every copy at once.

        A loader's food is the one ``adjacent_food_location`` picks (north, south, west, east;
        lbforaging tests ``row > 1`` and ``col > 1``). The loaders next to a food form its group
        (``adjacent_players``); the food is loaded when their levels sum to at least its level.
        lbforaging pops one loader at a time, but ``spawn_food`` never lets a cell touch two
        foods, so the groups are disjoint and all of them can be resolved at once.
        """
        rows, cols = self.rows, self.cols
        copy_of, agent = np.nonzero(loading)
        row, col = self.pos[copy_of, agent, 0], self.pos[copy_of, agent, 1]
        field = self.field
        north = (row > 1) & (field[copy_of, np.maximum(row - 1, 0), col] > 0)
        south = ~north & (row < rows - 1) & (field[copy_of, np.minimum(row + 1, rows - 1), col] > 0)
        west = ~(north | south) & (col > 1) & (field[copy_of, row, np.maximum(col - 1, 0)] > 0)
        east = ~(north | south | west) & (col < cols - 1) & (field[copy_of, row, np.minimum(col + 1, cols - 1)] > 0)
        frow = row - north + south
        fcol = col - west + east
        cell = (copy_of * rows + frow) * cols + fcol
        level = self.levels[copy_of, agent]
        level_sum = np.bincount(cell, weights=level, minlength=field.size).astype(np.int64)[cell]
        food = field.reshape(-1)[cell].astype(np.int64)
        found: np.ndarray = north | south | west | east  # always: a valid LOAD has a food next to it
        loaded = found & (level_sum >= food)
        share = (level * food).astype(np.float64)
        if self.normalize_reward:
            # "a.reward = a.reward / float(adj_player_level * self._food_spawned)"
            share /= (level_sum * self.food_spawned[copy_of]).astype(np.float64)
        # Rewards start at 0 every step: success sets the share, failure subtracts the penalty.
        rewards[copy_of, agent] = np.where(loaded, share, -self.penalty)
        field.reshape(-1)[cell[loaded]] = 0

    def _spawn(self, copies: np.ndarray) -> None:
        """``ForagingEnv.reset`` for ``copies``: ``spawn_players`` then ``spawn_food``."""
        count, n_agents = copies.size, self.n_agents
        rows, cols, rng = self.rows, self.cols, self._rng
        if self.fixed_levels is not None:
            levels = np.broadcast_to(self.fixed_levels, (count, n_agents)).copy()
        else:
            levels = rng.integers(self.min_player_level, self.max_player_level + 1, size=(count, n_agents))
        cells = np.argsort(rng.random((count, rows * cols)), axis=1)[:, :n_agents]
        pos = np.stack([cells // cols, cells % cols], axis=2)
        # spawn_food: levels 1 .. sum of the three lowest agent levels unless max_food_level is set.
        if self.max_food_level is not None:
            high = np.full(count, self.max_food_level, dtype=np.int64)
        else:
            high = np.sort(levels, axis=1)[:, :3].sum(axis=1)
        low = high if self.force_coop else np.full(count, self.min_food_level, dtype=np.int64)
        # Free cells as 1.0 in a grid padded by 2 (flat): rows 1 .. R-2 and columns 1 .. C-2, no agent.
        width = cols + 4
        free = np.repeat(_spawn_area(rows, cols)[None], count, axis=0)
        at = np.arange(count)
        free[at[:, None], (pos[..., 0] + 2) * width + pos[..., 1] + 2] = 0.0  # "_is_empty_location"
        keys = np.zeros((self.max_num_food, count, free.shape[1]))
        keys[:, :, _inner_cells(rows, cols)] = rng.random((self.max_num_food, count, rows * cols))
        if np.all(low == low[0]) and np.all(high == high[0]):  # the same draws as with per-copy bounds
            food_levels = rng.integers(low[0], high[0] + 1, size=(self.max_num_food, count))
        else:
            food_levels = rng.integers(low, high + 1, size=(self.max_num_food, count))
        footprint = _FOOT_ROWS * width + _FOOT_COLS - 2 * width - 2
        picks = np.empty((self.max_num_food, count), dtype=np.intp)
        placed = np.empty((self.max_num_food, count), dtype=bool)
        for k in range(self.max_num_food):  # one round per food, over all copies at once
            # The free cell of highest key (none free: the best "key" is 0 on a blocked cell).
            value = keys[k] * free
            picks[k] = np.argmax(value, axis=1)
            placed[k] = value[at, picks[k]] > 0
            # Block the food's footprint (harmless when nothing was placed: nothing is free then).
            free[at[:, None], picks[k][:, None] + footprint] = 0.0
        field = np.zeros((count, rows, cols), dtype=np.int32)
        food, copy_of = np.nonzero(placed)
        frow, fcol = np.divmod(picks[food, copy_of], width)
        field[copy_of, frow - 2, fcol - 2] = food_levels[food, copy_of]
        self.field[copies], self.pos[copies], self.levels[copies] = field, pos, levels
        self.t[copies] = 0
        self.food_spawned[copies] = field.reshape(count, -1).sum(axis=1)

    # -- snapshots ---------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Field, agents, step counters and generator state: enough for a bit-exact resume."""
        state: dict[str, Any] = {key: getattr(self, key).copy() for key in ("field", "pos", "levels", "t")}
        state["food_spawned"] = self.food_spawned.copy()
        state["rng"] = json.dumps(self._rng.bit_generator.state)
        return state

    def set_state(self, state: dict[str, Any]) -> StepResult:
        """Restore :meth:`get_state` output (or a state written by hand) and return its observations."""
        for key in ("field", "pos", "levels", "t", "food_spawned"):
            current = getattr(self, key)
            value = np.asarray(state[key], dtype=current.dtype)
            if value.shape != current.shape:
                raise EnvError(f"{self.name}: state {key!r} must have shape {current.shape}, got {value.shape}")
            setattr(self, key, value.copy())
        if "rng" in state:
            self._rng = np.random.default_rng()
            self._rng.bit_generator.state = json.loads(state["rng"])
        self._mask = valid_actions(self.field, self.pos)
        self._started = True
        return self._current()

    def _observe(self, field: np.ndarray, pos: np.ndarray, levels: np.ndarray) -> np.ndarray:
        return observe(
            field, pos, levels, sight=self.sight, n_food=self.max_num_food, observe_levels=self.observe_agent_levels
        )

    # -- global state (centralised critics only) -----------------------------------------------
    @property
    def state_dim(self) -> int:
        return self.rows * self.cols + 3 * self.n_agents

    def global_state(self) -> np.ndarray:
        """float32 (E, R * C + 3 N): the food level of every cell, then every agent's (row, col, level).

        The whole simulator state but the step counter. Agent levels are in it even when the
        observations hide them (``lbf-12ag-3lvl``): the state is the env's, and only critics read it.
        """
        agents = np.concatenate([self.pos, self.levels[..., None]], axis=2).reshape(self.num_envs, -1)
        return np.concatenate([self.field.reshape(self.num_envs, -1), agents], axis=1, dtype=np.float32)

    def _current(self) -> StepResult:
        obs = self._observe(self.field, self.pos, self.levels)
        false = np.zeros((self.num_envs, self.n_agents), dtype=bool)
        state = self.global_state() if self.global_state_enabled else None
        return StepResult(
            obs=obs,
            rewards=np.zeros(false.shape, dtype=np.float32),
            terminated=false,
            truncated=false.copy(),
            final_obs=obs,
            action_mask=self._mask.copy(),
            active=self._true,
            state=state,
            final_state=state,
        )


def fixed_levels(n_agents: int, n_levels: int) -> np.ndarray:
    """int64 (N,): agent i has level ``i mod n_levels + 1``."""
    return np.arange(n_agents, dtype=np.int64) % n_levels + 1


def check_lbf_options(
    n_agents: int, n_levels: int, field_size: int, n_food: int, sight: int, max_food_level: int, max_episode_steps: int
) -> None:
    """One-line errors for options no fixed-level foraging task can have."""
    if n_levels < 1 or n_levels > n_agents:
        raise ConfigError(f"lbf: n_levels must be between 1 and n_agents={n_agents}, got {n_levels}")
    if field_size < 3 or n_food < 1 or sight < 1 or max_episode_steps < 1 or max_food_level < 1:
        raise ConfigError(
            "lbf: field_size >= 3, n_food >= 1, sight >= 1, max_food_level >= 1 and max_episode_steps >= 1 are needed"
        )
    if n_agents + n_food > field_size * field_size // 2:
        raise ConfigError(f"lbf: {n_agents} agents and {n_food} food do not fit a {field_size}x{field_size} grid")


def make_foraging(
    num_envs: int = 1,
    *,
    n_agents: int = 12,
    n_levels: int = 3,
    field_size: int = 10,
    n_food: int = 8,
    sight: int = 2,
    max_food_level: int = 3,
    max_episode_steps: int = 50,
) -> VectorForaging:
    """E copies of foraging with fixed hidden levels ``i mod n_levels + 1`` (defaults: task lbf-12ag-3lvl).

    The same task as :func:`seps.envs.lbf.make_lbf` (the lbforaging-backed reference).
    """
    check_lbf_options(n_agents, n_levels, field_size, n_food, sight, max_food_level, max_episode_steps)
    return VectorForaging(
        n_agents=n_agents,
        field_size=field_size,
        max_num_food=n_food,
        sight=sight,
        max_episode_steps=max_episode_steps,
        fixed_levels=fixed_levels(n_agents, n_levels),
        min_food_level=1,
        max_food_level=max_food_level,
        observe_agent_levels=False,
        num_envs=num_envs,
        name=f"lbf:{field_size}x{field_size}-{n_agents}ag-{n_levels}lvl-{n_food}f",
    )


def lbf_12ag_3lvl(num_envs: int = 1, **kwargs: Any) -> VectorForaging:
    """Task lbf-12ag-3lvl: 10x10, 12 agents of fixed hidden levels 1-2-3, 8 food, sight 2, 50 steps."""
    env = make_foraging(num_envs, **kwargs)
    if not kwargs:
        env.name = "lbf-12ag-3lvl"
    return env


def registered_task(env_id: str, num_envs: int = 1) -> VectorForaging:
    """lbforaging's registered task ``env_id`` (e.g. ``Foraging-15x15-9p-4f-v3``) with its registered rules."""
    import gymnasium
    import lbforaging  # noqa: F401  (registers the Foraging-* ids)

    try:
        spec = gymnasium.spec(env_id)
    except gymnasium.error.Error:
        spec = None
    if spec is None or not str(spec.entry_point).startswith("lbforaging"):
        raise ConfigError(
            f"lbf:{env_id}: not an lbforaging task id; use e.g. 'lbf:Foraging-15x15-9p-4f-v3' "
            "or 'lbf:10x10-12ag-3lvl-8f'"
        )
    kw = dict(spec.kwargs)
    if kw.get("grid_observation"):
        raise ConfigError(f"lbf:{env_id}: grid observations are not vectorised; use 'gymnasium:{env_id}'")
    levels = [kw["min_player_level"], kw["max_player_level"], kw["min_food_level"], kw["max_food_level"]]
    if any(isinstance(value, (list, tuple, np.ndarray)) for value in levels):
        raise ConfigError(f"lbf:{env_id}: per-agent or per-food level ranges are not vectorised")
    rows, cols = kw["field_size"]
    if rows != cols:
        raise ConfigError(f"lbf:{env_id}: only square fields are vectorised")
    return VectorForaging(
        n_agents=kw["players"],
        field_size=rows,
        max_num_food=kw["max_num_food"],
        sight=kw["sight"],
        max_episode_steps=kw["max_episode_steps"],
        min_player_level=kw["min_player_level"],
        max_player_level=kw["max_player_level"],
        min_food_level=kw["min_food_level"],
        max_food_level=kw["max_food_level"],
        force_coop=kw["force_coop"],
        normalize_reward=kw.get("normalize_reward", True),
        observe_agent_levels=kw.get("observe_agent_levels", True),
        penalty=kw.get("penalty", 0.0),
        num_envs=num_envs,
        name=f"lbf:{env_id}",
    )


_FIXED_SPEC = re.compile(r"^(\d+)x(\d+)-(\d+)ag-(\d+)lvl-(\d+)f$")


def lbf_family(spec: str) -> Callable[..., VectorForaging]:
    """``lbf:<S>x<S>-<N>ag-<L>lvl-<F>f`` (fixed hidden levels) or ``lbf:<lbforaging id>`` (its own rules)."""
    match = _FIXED_SPEC.match(spec)
    if match:
        rows, cols, n_agents, n_levels, n_food = (int(group) for group in match.groups())
        if rows != cols:
            raise ConfigError(f"lbf:{spec}: only square fields, e.g. 'lbf:10x10-12ag-3lvl-8f'")
        return functools.partial(make_foraging, n_agents=n_agents, n_levels=n_levels, field_size=rows, n_food=n_food)
    if spec.startswith("Foraging"):
        registered_task(spec)  # check the id now, before any env is built
        return functools.partial(_registered_factory, spec)
    raise ConfigError(
        f"bad lbf task {spec!r}: expected '<S>x<S>-<N>ag-<L>lvl-<F>f' (e.g. 'lbf:10x10-12ag-3lvl-8f') "
        "or an lbforaging id (e.g. 'lbf:Foraging-15x15-9p-4f-v3')"
    )


def _registered_factory(env_id: str, num_envs: int = 1) -> VectorForaging:
    return registered_task(env_id, num_envs)
