"""StarCraft Multi-Agent Challenge over smacv2: ``smac-mmm2``, ``smacv2:<map>`` and ``smacv2:<scenario>``.

smacv2 and StarCraft II are optional: they are imported only when an env is built. ``env_cls``
replaces smacv2's class (the tests use :mod:`seps.testing.smac`). What the adapter relies on
(see the table in docs/environments.md):

* Built with ``continuing_episode=True`` so smacv2's ``step`` sets ``info["episode_limit"]`` at a
  time-out (starcraft2.py ``step``); that step is a truncation, a win or loss a termination.
* ``info["battle_won"]`` of an episode's last step is its win flag: ``episode_wins`` (E,) holds
  1/0 for copies whose episode ended at the last step and NaN elsewhere.
* ``smacv2:protoss_5_vs_5`` etc. build ``StarCraftCapabilityEnvWrapper`` on ``10gen_<race>`` with
  smacv2's published capability config (:mod:`seps.envs.smac_scenarios`). Every reset draws a new
  team and re-sorts the allies by (unit_type, x, y), so ``agent_types`` is None there and
  ``episode_types`` (E, N) gives each copy's current types (``get_unit_type_id``), refreshed at
  every reset. On those maps ``n_episode_types`` is the map's ``unit_type_bits`` and every
  ``StepResult`` carries ``episode_types``: seps then partitions unit types, not agent slots
  (:mod:`seps.envs.base`), and each agent uses its unit type's group in each episode.
* One StarCraft II process per copy for the whole run: smacv2 launches it on the first reset
  and later resets kill the units in the same process. Seeds are fixed per copy at build
  (``seed + index``); ``reset(seed)`` does not relaunch. The capability wrapper's team and
  position generators (unseeded in smacv2) are seeded from the copy's seed.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import zlib
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
from gymnasium import spaces

from seps.envs.base import StepResult
from seps.envs.gymnasium_adapter import CopyStep, LoopedEnv
from seps.envs.smac_scenarios import scenario
from seps.errors import MissingDependencyError
from seps.registry import import_string

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "pip install git+https://github.com/oxwhirl/smacv2.git, install StarCraft II with the SMAC maps "
    "(see https://github.com/oxwhirl/smacv2#installing-starcraft-ii) and set SC2PATH to its folder"
)
GENERATED_TYPES = 3
"""``unit_type_bits`` of smacv2's ``10gen_*`` maps (smac_maps.py): the unit types a partition labels there."""
COLLECT_COPIES = 4
"""Default copies for ``seps partition`` on SMAC: each copy is one StarCraft II process."""


def check_sc2path() -> None:
    """Raise a one-line error unless SC2PATH (or ~/StarCraftII) holds StarCraft II's ``Versions`` folder."""
    root = os.environ.get("SC2PATH") or os.path.expanduser("~/StarCraftII")
    if not os.path.isdir(os.path.join(root, "Versions")):
        where = "SC2PATH" if os.environ.get("SC2PATH") else "SC2PATH is unset and the default"
        raise MissingDependencyError(f"StarCraft II not found: {where} {root} has no Versions folder: {INSTALL_HINT}")


def load_smacv2(wrapper: bool) -> Callable[..., Any]:
    """smacv2's ``StarCraft2Env`` (or its capability wrapper), or a one-line error saying how to install it."""
    try:
        module = importlib.import_module("smacv2.env")
    except ImportError:
        raise MissingDependencyError(f"SMAC envs need smacv2, which is not installed: {INSTALL_HINT}") from None
    check_sc2path()
    return module.StarCraftCapabilityEnvWrapper if wrapper else module.StarCraft2Env  # type: ignore[no-any-return]


def _seed_generators(obj: Any, seed: int, depth: int = 0) -> None:
    """Replace every numpy Generator attribute ``rng`` in a smacv2 distribution tree with a seeded one."""
    if depth > 3 or not hasattr(obj, "__dict__"):
        return
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            setattr(
                obj, name, np.random.default_rng([seed, depth, zlib.crc32(name.encode())])
            )  # not hash(): per process
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            _seed_generators(value, seed, depth + 1)


class SmacEnv(LoopedEnv):
    """E copies of a smacv2 StarCraft II env (see the module docstring)."""

    def __init__(
        self,
        map_name: str,
        *,
        num_envs: int = 1,
        env_cls: Callable[..., Any] | str | None = None,
        seed: int = 0,
        **env_kwargs: Any,
    ) -> None:
        found = scenario(map_name)
        self.scenario = map_name if found else None
        if found is not None:
            map_name, defaults = found
            env_kwargs = {**defaults, **env_kwargs}
        self.generated = "team_gen" in env_kwargs.get("capability_config", {})
        factory: Callable[..., Any] | None = import_string(env_cls) if isinstance(env_cls, str) else env_cls
        self._env_cls = load_smacv2("capability_config" in env_kwargs) if factory is None else factory
        self.map_name = map_name
        self._env_kwargs = {**env_kwargs, "continuing_episode": True}
        self.envs = [self._make(seed + index) for index in range(num_envs)]
        info = self.envs[0].get_env_info()
        n_agents, n_actions, obs_shape = int(info["n_agents"]), int(info["n_actions"]), int(info["obs_shape"])
        self.episode_limit = int(info["episode_limit"])
        self.state_shape = int(info["state_shape"])
        box = spaces.Box(-np.inf, np.inf, shape=(obs_shape,), dtype=np.float32)
        # Unit types exist once the units do: reset every copy now (this launches its StarCraft II) and
        # keep that episode for the first reset(seed), so no copy is launched twice.
        self.episode_types = np.zeros((num_envs, n_agents), dtype=np.int64)
        self._fresh = [True] * num_envs
        for index, env in enumerate(self.envs):
            env.reset()
            self._read_types(index, env, n_agents)
        unit_types = np.array([self.envs[0].get_unit_by_id(i).unit_type for i in range(n_agents)])
        super().__init__(
            num_envs=num_envs,
            observation_spaces=[box] * n_agents,
            action_spaces=[spaces.Discrete(n_actions)] * n_agents,
            # On a generated map an agent slot holds a different unit type each episode: no fixed truth.
            agent_types=None if self.generated else np.unique(unit_types, return_inverse=True)[1].reshape(-1),
            name=f"smacv2:{self.scenario or map_name}",
            reward_mode="individual",
        )
        self.team_reward = True
        self.episode_wins = np.full(num_envs, np.nan)
        if self.generated:
            # starcraft2.py get_unit_type_id on the *_gen map types returns 0 .. unit_type_bits - 1.
            self.n_episode_types = int(self.envs[0].unit_type_bits)

    def _make(self, seed: int) -> Any:
        env = self._env_cls(map_name=self.map_name, seed=seed, **self._env_kwargs)
        for distribution in getattr(env, "__dict__", {}).get("env_key_to_distribution_map", {}).values():
            _seed_generators(distribution, seed)
        return env

    def _read_types(self, index: int, env: Any, n_agents: int) -> None:
        self.episode_types[index] = [env.get_unit_type_id(env.get_unit_by_id(i), True) for i in range(n_agents)]

    def _observe(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        obs = np.asarray(env.get_obs(), dtype=np.float32).reshape(self.n_agents, -1)
        mask = np.asarray(env.get_avail_actions(), dtype=bool).reshape(self.n_agents, -1)
        return obs, mask

    @property
    def state_dim(self) -> int:
        return self.state_shape

    def _copy_state(self, index: int) -> np.ndarray:
        """smacv2's ``get_state()`` of copy ``index`` (starcraft2.py ``get_state``; centralised critics only)."""
        return np.asarray(self.envs[index].get_state(), dtype=np.float32).reshape(self.state_shape)

    def global_state(self) -> np.ndarray:
        """float32 (E, state_shape): each copy's global state now (as ``StepResult.state`` reports it)."""
        return np.stack([self._copy_state(index) for index in range(self.num_envs)])

    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        env = self.envs[index]
        if not self._fresh[index]:
            env.reset()  # the same StarCraft II process: smacv2 restarts by killing the units
            self._read_types(index, env, self.n_agents)
        self._fresh[index] = False
        obs, mask = self._observe(env)
        zeros = np.zeros(self.n_agents, dtype=bool)
        return CopyStep(obs, mask, np.zeros(self.n_agents, dtype=np.float32), zeros, zeros, ~zeros)

    def reset(self, seed: int | None = None) -> StepResult:
        """As LoopedEnv.reset; on generated maps the result carries the new episodes' ``episode_types``."""
        return self._with_types(super().reset(seed))

    def step(self, actions: np.ndarray) -> StepResult:
        """As LoopedEnv.step; ``episode_wins`` then holds the win flag of copies whose episode ended.

        On generated maps ``episode_types`` are those of the episode ``obs`` belongs to (the next one in
        copies that reset at this step).
        """
        self.episode_wins = np.full(self.num_envs, np.nan)
        return self._with_types(super().step(actions))

    def _with_types(self, result: StepResult) -> StepResult:
        if self.n_episode_types is None:
            return result
        return attrs.evolve(result, episode_types=self.episode_types.copy())

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        env = self.envs[index]
        self._fresh[index] = False
        reward, terminated, info = env.step(actions.tolist())
        truncated = bool(info.get("episode_limit", False))
        ended = bool(terminated) or truncated
        if ended:
            self.episode_wins[index] = float(bool(info.get("battle_won", False)))
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
    """Build E copies of the smacv2 map or scenario ``map_name`` (``env_cls`` replaces smacv2's class)."""
    return SmacEnv(map_name, num_envs=num_envs, env_cls=env_cls, seed=seed, **env_kwargs)


make_mmm2 = functools.partial(make_smac, "MMM2")
make_mmm2.agent_count = lambda **_: 10  # type: ignore[attr-defined]  # smac_maps.py MMM2: n_agents 10


def smacv2_family(map_name: str) -> Callable[..., SmacEnv]:
    """Factory of the ``smacv2:<map or scenario name>`` family (a scenario's knows its ``agent_count``)."""
    factory = functools.partial(make_smac, map_name)
    found = scenario(map_name)
    if found is not None:
        default = found[1]["capability_config"]
        # starcraft2.py __init__: with a capability config the team has capability_config["n_units"] agents.
        factory.agent_count = lambda **options: int(  # type: ignore[attr-defined]
            options.get("capability_config", default)["n_units"]
        )
        # A partition labels the unit types: smac_maps.py gives every 10gen_* map unit_type_bits 3.
        factory.identity_count = lambda **_: GENERATED_TYPES  # type: ignore[attr-defined]
    return factory
