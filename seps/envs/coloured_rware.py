"""Coloured multi-robot warehouse (C-RWARE, paper Sec. 4.1) on top of the ``rware`` package.

Agents are coloured in contiguous blocks by index (agent i has colour ``i * C // N``). Every
shelf gets a random colour at each reset, drawn from the env's seeded generator. An agent is
rewarded 1.0 only for bringing a requested shelf of its own colour to a goal; a requested shelf
of another colour gives nothing and stays requested. Each colour acts through its own fixed
permutation of rware's 5 actions, so agent types differ in action semantics. Agents do not
observe their own colour; the observation is rware's flat 3x3 view extended with a one-hot
colour for the shelf (if any) in each of the 9 cells. A time limit is reported as truncation.

``ColouredWarehouse`` subclasses rware's ``Warehouse`` and wraps its ``step``: rware's delivery
bookkeeping runs unchanged, and deliveries of the wrong colour are undone right after.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from rware.warehouse import Action, RewardType, Warehouse

from seps.envs.gymnasium_adapter import GymnasiumEnv
from seps.errors import ConfigError

# rware's grid layers (rware.warehouse._LAYER_AGENTS / _LAYER_SHELFS); private there, so named here.
_AGENTS, _SHELVES = 0, 1
N_ACTIONS = len(Action)
SIZES: dict[str, tuple[int, int]] = {"tiny": (1, 3), "small": (2, 3), "medium": (2, 5), "large": (3, 5)}
"""Warehouse size -> (shelf_rows, shelf_columns), as in rware's registered tasks."""


def action_permutations(n_colours: int) -> np.ndarray:
    """int64 (C, 5): row c maps an agent's action to the rware action its colour performs.

    The first five colours use cyclic shifts, so any two of them disagree on every action;
    further colours take the remaining permutations in lexicographic order.
    """
    shifts = [tuple(np.roll(np.arange(N_ACTIONS), -c).tolist()) for c in range(N_ACTIONS)]
    others = [p for p in itertools.permutations(range(N_ACTIONS)) if p not in shifts]
    table = (shifts + others)[:n_colours]
    if len(table) < n_colours:
        raise ConfigError(f"crware supports at most {len(shifts) + len(others)} colours, got {n_colours}")
    return np.array(table, dtype=np.int64)


def agent_colours(n_agents: int, n_colours: int) -> np.ndarray:
    """int64 (N,): colours in contiguous blocks by agent index."""
    if n_colours < 1 or n_colours > n_agents:
        raise ConfigError(
            f"crware: {n_colours} colours need between 1 and n_agents={n_agents}; use at most {n_agents} colours"
        )
    return np.arange(n_agents, dtype=np.int64) * n_colours // n_agents


class ColouredWarehouse(Warehouse):
    """rware's ``Warehouse`` with coloured agents and shelves (see the module docstring)."""

    def __init__(self, *, n_colours: int, **warehouse_kwargs: Any) -> None:
        warehouse_kwargs.setdefault("msg_bits", 0)
        warehouse_kwargs.setdefault("sensor_range", 1)
        warehouse_kwargs.setdefault("max_inactivity_steps", None)
        warehouse_kwargs["reward_type"] = RewardType.INDIVIDUAL
        super().__init__(**warehouse_kwargs)
        if self.msg_bits:
            raise ConfigError("crware does not support msg_bits; leave it at 0")
        self.n_colours = n_colours
        self.agent_colours = agent_colours(self.n_agents, n_colours)
        self.action_table = action_permutations(n_colours)
        self.shelf_colours = np.zeros(0, dtype=np.int64)
        rware_space: Any = self.observation_space  # type: ignore[has-type]  # rware leaves it unannotated
        self._base_obs_dim = int(rware_space.spaces[0].shape[0])
        self._view = (2 * self.sensor_range + 1) ** 2
        dim = self._base_obs_dim + self._view * n_colours
        box = spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float32)
        self.observation_space = spaces.Tuple((box,) * self.n_agents)
        self._colour_rows: np.ndarray | None = None
        self._padded_shelves = np.zeros((1, 1), dtype=np.int64)

    def _recalc_grid(self) -> None:
        super()._recalc_grid()
        self._padded_shelves = np.pad(self.grid[_SHELVES], self.sensor_range)

    def _make_obs(self, agent: Any) -> np.ndarray:
        base = np.asarray(super()._make_obs(agent), dtype=np.float32)[: self._base_obs_dim]
        colours = np.zeros(self._view * self.n_colours, dtype=np.float32)
        if self._colour_rows is not None:
            # agent.x/y index the unpadded grid, so they are the window's corner in the padded one.
            width = 2 * self.sensor_range + 1
            ids = self._padded_shelves[agent.y : agent.y + width, agent.x : agent.x + width].reshape(-1)
            colours = self._colour_rows[ids].reshape(-1)
        return np.concatenate([base, colours])

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._colour_rows = None
        _, info = super().reset(seed=seed, options=options)
        self.shelf_colours = self.np_random.integers(self.n_colours, size=len(self.shelfs))
        # Row 0 is "no shelf"; row s is the one-hot colour of shelf id s.
        rows = np.zeros((len(self.shelfs) + 1, self.n_colours), dtype=np.float32)
        rows[np.arange(1, len(self.shelfs) + 1), self.shelf_colours] = 1.0
        self._colour_rows = rows
        return tuple(self._make_obs(agent) for agent in self.agents), info

    def step(self, actions: Sequence[int]) -> tuple[Any, list[float], bool, bool, dict[str, Any]]:
        chosen = self.action_table[self.agent_colours, np.asarray(actions, dtype=np.int64)]
        queue_before = list(self.request_queue)
        obs, rewards, done, _, info = super().step(chosen.tolist())
        if self._undo_wrong_deliveries(queue_before, rewards):
            obs = tuple(self._make_obs(agent) for agent in self.agents)
        # rware reports its step limit as done; here it is a truncation.
        truncated = bool(self.max_steps and self._cur_steps >= self.max_steps)
        return obs, rewards, bool(done) and not truncated, truncated, info

    def _undo_wrong_deliveries(self, queue_before: list[Any], rewards: list[float]) -> bool:
        """Put back requests rware fulfilled with a shelf of the carrier's wrong colour; True if any."""
        undone = False
        for slot, (old, new) in enumerate(zip(queue_before, self.request_queue, strict=True)):
            if old is new:
                continue
            carrier = int(self.grid[_AGENTS, old.y, old.x]) - 1
            if self.shelf_colours[old.id - 1] == self.agent_colours[carrier]:
                continue
            rewards[carrier] -= 1.0
            self.request_queue[slot] = old
            undone = True
            # A later delivery in the same step may have drawn ``old`` as its replacement.
            for other, shelf in enumerate(self.request_queue):
                if shelf is old and other != slot:
                    candidates = [s for s in self.shelfs if s not in self.request_queue]
                    self.request_queue[other] = candidates[self.np_random.integers(len(candidates))]
        return undone


def make_crware(
    num_envs: int = 1,
    *,
    n_agents: int,
    n_colours: int,
    size: str = "tiny",
    max_steps: int = 500,
    column_height: int = 8,
    request_queue_size: int | None = None,
) -> GymnasiumEnv:
    """Build E copies of a coloured warehouse; ``request_queue_size`` defaults to ``n_agents``."""
    if size not in SIZES:
        raise ConfigError(f"crware: unknown size {size!r}; use one of {sorted(SIZES)}")
    colours = agent_colours(n_agents, n_colours)
    if max_steps < 1:
        raise ConfigError(f"crware: max_steps must be >= 1, got {max_steps}")
    rows, columns = SIZES[size]
    make = functools.partial(
        ColouredWarehouse,
        n_colours=n_colours,
        shelf_columns=columns,
        shelf_rows=rows,
        column_height=column_height,
        n_agents=n_agents,
        request_queue_size=n_agents if request_queue_size is None else request_queue_size,
        max_steps=max_steps,
    )
    name = f"crware:{size}-{n_agents}ag-{n_colours}c"
    return GymnasiumEnv(make, num_envs=num_envs, name=name, agent_types=colours)


crware_1 = functools.partial(make_crware, n_agents=4, n_colours=2, size="tiny")
crware_2 = functools.partial(make_crware, n_agents=8, n_colours=2, size="small")
crware_3 = functools.partial(make_crware, n_agents=16, n_colours=2, size="medium")
# 9 agents in the small warehouse: the same layout as crware-2 with one more agent, so the K ablation
# differs from crware-2 only in the number of colours (see docs/environments.md).
crware_9ag_3c = functools.partial(make_crware, n_agents=9, n_colours=3, size="small")

_SPEC = re.compile(r"(?P<size>[a-z]+)-(?P<agents>\d+)ag-(?P<colours>\d+)c")


def crware_family(spec: str) -> Callable[..., GymnasiumEnv]:
    """Factory of ``crware:<size>-<N>ag-<C>c`` (e.g. ``crware:small-6ag-3c``); checked before building."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ConfigError(f"crware:{spec} is not of the form 'crware:<size>-<N>ag-<C>c', e.g. 'crware:tiny-4ag-2c'")
    n_agents, n_colours = int(match["agents"]), int(match["colours"])
    agent_colours(n_agents, n_colours)
    if match["size"] not in SIZES:
        raise ConfigError(f"crware:{spec}: unknown size {match['size']!r}; use one of {sorted(SIZES)}")
    return functools.partial(make_crware, n_agents=n_agents, n_colours=n_colours, size=match["size"])
