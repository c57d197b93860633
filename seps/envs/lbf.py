"""Level-based foraging with fixed, hidden agent levels (paper Sec. 4.1), on the ``lbforaging`` package.

This is the reference implementation, registered as ``lbf-12ag-3lvl-lbforaging``: one
lbforaging ``ForagingEnv`` per copy, stepped in Python. The task ``lbf-12ag-3lvl`` and the
``lbf:`` family run :mod:`seps.envs.foraging` instead, a numpy re-implementation proven equal to
this one step by step (tests/test_foraging_equivalence.py, docs/foraging.md).

lbforaging draws agent levels at every reset (shuffling them across agents) and shows every
agent's level in the observations. Here agent i always has level ``i mod L + 1`` and no
observation contains a level: :class:`FixedLevelForaging` overrides ``spawn_players`` to put
the fixed levels back after lbforaging has placed the agents, and builds the env with
``observe_agent_levels=False``. Food levels stay visible. lbforaging's valid actions become
action masks, and its step limit is reported as a truncation instead of a termination.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from lbforaging.foraging.environment import Action, ForagingEnv

from seps.envs.foraging import check_lbf_options, fixed_levels
from seps.envs.gymnasium_adapter import GymnasiumEnv
from seps.envs.lbf_masks import lbf_action_mask

N_ACTIONS = len(Action)

__all__ = ["N_ACTIONS", "lbf_12ag_3lvl_lbforaging", "lbf_action_mask", "make_lbf"]


class FixedLevelForaging(ForagingEnv):
    """lbforaging's ``ForagingEnv`` whose agent levels are fixed per agent and never observed."""

    def __init__(self, *, levels: np.ndarray, **foraging_kwargs: Any) -> None:
        self.levels = np.asarray(levels, dtype=np.int64)
        foraging_kwargs["observe_agent_levels"] = False
        foraging_kwargs["grid_observation"] = False
        super().__init__(
            players=len(self.levels),
            min_player_level=self.levels,
            max_player_level=self.levels,
            **foraging_kwargs,
        )

    def spawn_players(self, min_player_levels: np.ndarray, max_player_levels: np.ndarray) -> None:
        # lbforaging keeps last episode's positions while placing agents, so the same seed would
        # give different starts; forget them first. It also permutes the levels across players:
        # restore each agent's own level afterwards.
        for player in self.players:
            player.position = None
        super().spawn_players(min_player_levels, max_player_levels)
        for player, level in zip(self.players, self.levels.tolist(), strict=True):
            player.level = level

    def step(self, actions: Any) -> tuple[Any, list[float], bool, bool, dict[str, Any]]:
        obs, rewards, done, _, info = super().step(actions)
        # All food eaten ends the episode; reaching the step limit first is a truncation.
        terminated = bool(self.field.sum() == 0)
        return obs, rewards, terminated, bool(done) and not terminated, info


def make_lbf(
    num_envs: int = 1,
    *,
    n_agents: int = 12,
    n_levels: int = 3,
    field_size: int = 10,
    n_food: int = 8,
    sight: int = 2,
    max_food_level: int = 3,
    max_episode_steps: int = 50,
) -> GymnasiumEnv:
    """Build E copies of level-based foraging with fixed hidden levels on lbforaging (the reference)."""
    check_lbf_options(n_agents, n_levels, field_size, n_food, sight, max_food_level, max_episode_steps)
    levels = fixed_levels(n_agents, n_levels)
    make = functools.partial(
        FixedLevelForaging,
        levels=levels,
        min_food_level=1,
        max_food_level=max_food_level,
        field_size=(field_size, field_size),
        max_num_food=n_food,
        sight=sight,
        max_episode_steps=max_episode_steps,
        force_coop=False,
    )
    name = f"lbf:{field_size}x{field_size}-{n_agents}ag-{n_levels}lvl-{n_food}f"
    return GymnasiumEnv(make, num_envs=num_envs, name=name, agent_types=levels - 1, mask_fn=lbf_action_mask)


def lbf_12ag_3lvl_lbforaging(num_envs: int = 1, **kwargs: Any) -> GymnasiumEnv:
    """Task lbf-12ag-3lvl on lbforaging itself (the reference of the vectorised ``lbf-12ag-3lvl``)."""
    env = make_lbf(num_envs, **kwargs)
    if not kwargs:
        env.name = "lbf-12ag-3lvl-lbforaging"
    return env
