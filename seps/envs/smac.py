"""StarCraft Multi-Agent Challenge over smacv2's ``StarCraft2Env``: ``smac-mmm2`` and ``smacv2:<map>``.

smacv2 and StarCraft II are optional: they are imported only when an env is built. Any class
with smacv2's env API can be injected as ``env_cls`` (the tests use a stand-in):
``env_cls(map_name=..., seed=..., **kw)`` with ``reset()``, ``step(actions) -> (reward,
terminated, info)``, ``get_obs()``, ``get_state()``, ``get_avail_actions()``,
``get_env_info()``, ``get_unit_by_id(i)`` and ``close()``.

* The team reward goes to every agent (``team_reward`` True).
* Action masks are ``get_avail_actions()``; a dead unit may only take no-op (action 0), and
  from the step after its death it is reported inactive.
* ``info["episode_limit"]`` (the limit from ``get_env_info()``) marks a truncation.
* Ground-truth types rank the allies' ``unit_type`` ids after the first reset. smacv2 sorts
  allies by ``(unit_type, x, y)`` and, on the MMM maps, numbers marauder < marine < medivac,
  so on MMM2 agents 0-1 are marauders (type 0), 2-8 marines (type 1) and 9 the medivac (type 2).
* The simulator is seeded only at construction, so ``reset(seed)`` rebuilds a copy (restarting
  StarCraft II) unless it was just built with that seed; ``reset()`` without a seed does not.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from seps.envs.gymnasium_adapter import CopyStep, LoopedEnv
from seps.errors import MissingDependencyError
from seps.registry import import_string

INSTALL_HINT = (
    "pip install git+https://github.com/oxwhirl/smacv2.git, install StarCraft II with the SMAC maps "
    "(see https://github.com/oxwhirl/smacv2#installing-starcraft-ii) and set SC2PATH to its folder"
)


def load_starcraft2_env() -> Callable[..., Any]:
    """smacv2's ``StarCraft2Env`` class, or a one-line error saying how to install it."""
    try:
        module = importlib.import_module("smacv2.env")
    except ImportError:
        raise MissingDependencyError(f"SMAC envs need smacv2, which is not installed: {INSTALL_HINT}") from None
    default = os.path.expanduser("~/StarCraftII")
    if not os.environ.get("SC2PATH") and not os.path.isdir(default):
        raise MissingDependencyError(
            f"StarCraft II not found (SC2PATH is unset and {default} is missing): {INSTALL_HINT}"
        )
    return module.StarCraft2Env  # type: ignore[no-any-return]


class SmacEnv(LoopedEnv):
    """E copies of a smacv2-style StarCraft II env (see the module docstring)."""

    def __init__(
        self,
        map_name: str,
        *,
        num_envs: int = 1,
        env_cls: Callable[..., Any] | str | None = None,
        seed: int = 0,
        **env_kwargs: Any,
    ) -> None:
        factory: Callable[..., Any] | None = (
            import_string(env_cls)  # "package.module:Class" keeps run configs JSON-serialisable
            if isinstance(env_cls, str)
            else env_cls
        )
        self._env_cls: Callable[..., Any] = load_starcraft2_env() if factory is None else factory
        self.map_name = map_name
        self._env_kwargs = env_kwargs
        first = self._make(seed)
        info = first.get_env_info()
        n_agents, n_actions, obs_shape = int(info["n_agents"]), int(info["n_actions"]), int(info["obs_shape"])
        self.episode_limit = int(info["episode_limit"])
        self.state_shape = int(info["state_shape"])
        box = spaces.Box(-np.inf, np.inf, shape=(obs_shape,), dtype=np.float32)
        # Unit types are only known once the units exist, so the first copy is reset here.
        first.reset()
        unit_types = np.array([first.get_unit_by_id(i).unit_type for i in range(n_agents)])
        super().__init__(
            num_envs=num_envs,
            observation_spaces=[box] * n_agents,
            action_spaces=[spaces.Discrete(n_actions)] * n_agents,
            agent_types=np.unique(unit_types, return_inverse=True)[1].reshape(-1),
            name=f"smacv2:{map_name}",
            reward_mode="individual",
        )
        self.team_reward = True
        self.envs = [first] + [self._make(seed + index) for index in range(1, num_envs)]
        self._built_seed = seed
        # A copy whose simulator has not been reset since it was built with seed s replays s.
        self._fresh = [False] + [True] * (num_envs - 1)

    def _make(self, seed: int) -> Any:
        return self._env_cls(map_name=self.map_name, seed=seed, **self._env_kwargs)

    def _observe(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        obs = np.asarray(env.get_obs(), dtype=np.float32).reshape(self.n_agents, -1)
        mask = np.asarray(env.get_avail_actions(), dtype=bool).reshape(self.n_agents, -1)
        return obs, mask

    def global_state(self) -> np.ndarray:
        """float32 (E, state_shape): each copy's global state (for centralised critics)."""
        return np.stack([np.asarray(env.get_state(), dtype=np.float32) for env in self.envs])

    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        if seed is not None and not (self._fresh[index] and seed == self._built_seed + index):
            self.envs[index].close()
            self.envs[index] = self._make(seed)
        self._fresh[index] = False
        env = self.envs[index]
        env.reset()
        obs, mask = self._observe(env)
        zeros = np.zeros(self.n_agents, dtype=bool)
        rewards = np.zeros(self.n_agents, dtype=np.float32)
        return CopyStep(obs, mask, rewards, zeros, zeros, np.ones(self.n_agents, dtype=bool))

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        env = self.envs[index]
        reward, terminated, info = env.step(actions.tolist())
        truncated = bool(info.get("episode_limit", False))
        ended = bool(terminated) or truncated
        obs, mask = self._observe(env)
        # Alive units can always stop (action 1); dead ones only have no-op.
        alive = np.logical_and(mask[:, 1:].any(axis=1), not ended)
        died = np.logical_and(self._alive[index] & ~alive, not ended)
        n = self.n_agents
        return CopyStep(
            obs,
            mask,
            np.full(n, reward, dtype=np.float32),
            died | np.full(n, bool(terminated) and not truncated, dtype=bool),
            np.full(n, truncated, dtype=bool),
            alive,
        )

    def close(self) -> None:
        """Close every copy's StarCraft II process."""
        for env in self.envs:
            env.close()


def make_smac(
    map_name: str,
    num_envs: int = 1,
    *,
    env_cls: Callable[..., Any] | str | None = None,
    seed: int = 0,
    **env_kwargs: Any,
) -> SmacEnv:
    """Build E copies of the smacv2 map ``map_name`` (``env_cls`` replaces smacv2's class)."""
    return SmacEnv(map_name, num_envs=num_envs, env_cls=env_cls, seed=seed, **env_kwargs)


make_mmm2 = functools.partial(make_smac, "MMM2")


def smacv2_family(map_name: str) -> Callable[..., SmacEnv]:
    """Factory of the ``smacv2:<map name>`` family."""
    return functools.partial(make_smac, map_name)
