"""Level-based foraging with fixed, hidden agent levels (paper Sec. 4.1), on the ``lbforaging`` package.

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

from seps.envs.gymnasium_adapter import GymnasiumEnv
from seps.envs.lbf_masks import lbf_action_mask
from seps.errors import ConfigError

N_ACTIONS = len(Action)

__all__ = ["N_ACTIONS", "lbf_12ag_3lvl", "lbf_action_mask", "make_lbf"]


def fixed_levels(n_agents: int, n_levels: int) -> np.ndarray:
    """int64 (N,): agent i has level ``i mod n_levels + 1``."""
    return np.arange(n_agents, dtype=np.int64) % n_levels + 1


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
    """Build E copies of level-based foraging with fixed hidden levels (defaults: task lbf-12ag-3lvl)."""
    if n_levels < 1 or n_levels > n_agents:
        raise ConfigError(f"lbf: n_levels must be between 1 and n_agents={n_agents}, got {n_levels}")
    if field_size < 3 or n_food < 1 or sight < 1 or max_episode_steps < 1 or max_food_level < 1:
        raise ConfigError(
            "lbf: field_size >= 3, n_food >= 1, sight >= 1, max_food_level >= 1 and max_episode_steps >= 1 are needed"
        )
    if n_agents + n_food > field_size * field_size // 2:
        raise ConfigError(f"lbf: {n_agents} agents and {n_food} food do not fit a {field_size}x{field_size} grid")
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


lbf_12ag_3lvl = functools.partial(make_lbf)
