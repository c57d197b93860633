"""The ``pettingzoo:<module path>`` family: E copies of any PettingZoo ``ParallelEnv``.

Agents are ordered as ``possible_agents``. Agents may have different observation and action
spaces (observations are flattened and zero-padded, actions beyond an agent's count masked),
and may leave the episode early: an agent missing from ``env.agents`` no longer acts. An
observation space ``Dict(observation=..., action_mask=...)`` (PettingZoo's convention) gives
the mask; so does ``infos[agent]["action_mask"]``.

Ground-truth types come from the agents' names. PettingZoo names agents ``<role>_<index>``
(``adversary_0``, ``leadadversary_0``, ``agent_1``, ``pursuer_3``), so by default an agent's
type is its name without the trailing ``_<digits>``, numbered in order of first appearance.
If any name does not follow the convention the env has no ground truth (``agent_types``
None, and no ARI is reported). Override with ``agent_types=[...]`` or ``type_from=`` a
function of the agent name.

Global state (centralised critics only): ``env.state()``, flattened, where the env has one (it
declares a ``state_space``, as MPE's ``simple_spread`` does); else the concatenated padded
observations (:class:`~seps.envs.looped.LoopedEnv`'s default).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from seps.envs.looped import CopyStep, LoopedEnv, flat_box
from seps.errors import EnvError, UnknownComponentError


def _split_space(space: spaces.Space) -> tuple[spaces.Space, bool]:
    """The space of the observation proper, and whether it comes with an ``action_mask`` entry."""
    if isinstance(space, spaces.Dict) and "observation" in space.spaces and "action_mask" in space.spaces:
        return space.spaces["observation"], True
    return space, False


def _state_space(env: ParallelEnv) -> spaces.Space | None:
    """The env's ``state_space`` when it has one that flattens to a vector (then ``state()`` works), else None."""
    try:
        space = getattr(env, "state_space", None)
    except (AttributeError, NotImplementedError):  # wrappers forward attributes lazily
        return None
    if not isinstance(space, spaces.Space):
        return None
    try:
        spaces.flatdim(space)
    except (ValueError, NotImplementedError):
        return None
    return space


_ROLE_INDEX = re.compile(r"^(?P<role>.+)_\d+$")


def role_from_name(agent: str) -> str | None:
    """The role in a ``<role>_<index>`` agent name (``"leadadversary_0"`` -> ``"leadadversary"``), else None."""
    match = _ROLE_INDEX.match(agent)
    return match.group("role") if match else None


def types_from_names(
    names: Sequence[str], type_from: Callable[[str], Hashable | None] = role_from_name
) -> np.ndarray | None:
    """int64 (N,) types numbered by first appearance of ``type_from(name)``; None if any name has no type."""
    roles = [type_from(name) for name in names]
    if any(role is None for role in roles):
        return None
    first: dict[Hashable, int] = {}
    return np.array([first.setdefault(role, len(first)) for role in roles], dtype=np.int64)


class PettingZooEnv(LoopedEnv):
    """E copies of a PettingZoo ``ParallelEnv`` with Discrete actions, or Box actions for every agent."""

    def __init__(
        self,
        make_env: Callable[[], ParallelEnv],
        *,
        num_envs: int = 1,
        name: str = "pettingzoo",
        agent_types: Sequence[int] | None = None,
        type_from: Callable[[str], Hashable | None] | None = None,
        reward_mode: str = "individual",
    ) -> None:
        first = make_env()
        self._state_space = _state_space(first)
        self.agent_names: tuple[str, ...] = tuple(first.possible_agents)
        raw_spaces = [_split_space(first.observation_space(agent)) for agent in self.agent_names]
        self._obs_spaces = [space for space, _ in raw_spaces]
        self._dict_mask = [has_mask for _, has_mask in raw_spaces]
        self._flatten = [not (isinstance(s, spaces.Box) and len(s.shape) == 1) for s in self._obs_spaces]
        action_spaces = [first.action_space(agent) for agent in self.agent_names]
        if not (
            all(isinstance(space, spaces.Discrete) for space in action_spaces)
            or all(isinstance(space, spaces.Box) for space in action_spaces)
        ):
            first.close()
            raise EnvError(
                f"{name}: action spaces {action_spaces}; seps needs Discrete actions for every agent, or Box "
                "actions for every agent (e.g. continuous_actions=True)"
            )
        if agent_types is not None and len(agent_types) != len(self.agent_names):
            first.close()
            raise EnvError(f"{name}: agent_types has {len(agent_types)} entries for {len(self.agent_names)} agents")
        types = (
            np.asarray(agent_types, dtype=np.int64)
            if agent_types is not None
            else types_from_names(self.agent_names, type_from or role_from_name)
        )
        super().__init__(
            num_envs=num_envs,
            observation_spaces=[flat_box(s) for s in self._obs_spaces],
            action_spaces=action_spaces,
            agent_types=types,
            name=name,
            reward_mode=reward_mode,
        )
        self.envs = [first] + [make_env() for _ in range(num_envs - 1)]
        self._index = {agent: index for index, agent in enumerate(self.agent_names)}

    @property
    def state_dim(self) -> int:
        if self._state_space is None:
            return super().state_dim
        return int(spaces.flatdim(self._state_space))

    @property
    def _has_own_state(self) -> bool:
        return self._state_space is not None

    def _copy_state(self, index: int) -> np.ndarray:
        """``env.state()`` of copy ``index``, flattened to float32 (state_dim,)."""
        assert self._state_space is not None  # only called when _has_own_state
        raw = self.envs[index].state()
        return np.asarray(spaces.flatten(self._state_space, raw), dtype=np.float32).reshape(-1)

    def _pack(self, raw_obs: dict[str, Any], infos: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        obs = np.zeros((self.n_agents, self.max_obs_dim), dtype=np.float32)
        mask = self.full_mask()
        for agent, value in raw_obs.items():
            index = self._index[agent]
            if self._dict_mask[index]:
                row = np.asarray(value["action_mask"], dtype=bool)
                mask[index, : row.size] = row
                value = value["observation"]
            if self._flatten[index]:
                value = spaces.flatten(self._obs_spaces[index], value)
            flat = np.asarray(value, dtype=np.float32).reshape(-1)
            obs[index, : flat.size] = flat
            info = infos.get(agent)
            if isinstance(info, dict) and "action_mask" in info:
                row = np.asarray(info["action_mask"], dtype=bool)
                mask[index, : row.size] = row
        return obs, mask

    def _flags(self, values: dict[str, Any], dtype: type) -> np.ndarray:
        out: np.ndarray = np.zeros(self.n_agents, dtype=dtype)
        for agent, value in values.items():
            out[self._index[agent]] = value
        return out

    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        raw_obs, infos = self.envs[index].reset(seed=seed)
        obs, mask = self._pack(raw_obs, infos or {})
        zeros = np.zeros(self.n_agents, dtype=bool)
        alive = self._flags(dict.fromkeys(self.envs[index].agents, True), bool)
        return CopyStep(obs, mask, np.zeros(self.n_agents, dtype=np.float32), zeros, zeros, alive)

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        env = self.envs[index]
        if self.continuous_actions:  # each agent's real dimensions, as its Box's dtype
            spaces_ = self.action_spaces
            values = [actions[i, : self.n_actions[i]].astype(spaces_[i].dtype) for i in range(self.n_agents)]
        else:
            values = actions.tolist()
        raw_obs, rewards, terminations, truncations, infos = env.step(
            {agent: values[self._index[agent]] for agent in env.agents}
        )
        obs, mask = self._pack(raw_obs, infos or {})
        alive = self._flags(dict.fromkeys(env.agents, True), bool)
        return CopyStep(
            obs,
            mask,
            self._flags(rewards, np.float32),
            self._flags(terminations, bool),
            self._flags(truncations, bool),
            alive,
        )

    def close(self) -> None:
        """Close every copy."""
        for env in self.envs:
            env.close()


def _env_module(module_path: str) -> Any:
    try:
        module = importlib.import_module(module_path)
    except ImportError as error:
        raise UnknownComponentError(
            f"pettingzoo:{module_path}: cannot import {module_path!r} ({error}); install the package that "
            "provides it (e.g. 'pip install mpe2' for mpe2.simple_spread_v3)"
        ) from None
    if not callable(getattr(module, "parallel_env", None)):
        raise UnknownComponentError(
            f"pettingzoo:{module_path}: module has no parallel_env(); name a PettingZoo env module such as "
            "'mpe2.simple_spread_v3'"
        )
    return module


def make_pettingzoo(
    module_path: str,
    num_envs: int = 1,
    *,
    agent_types: Sequence[int] | None = None,
    type_from: Callable[[str], Hashable | None] | None = None,
    reward_mode: str = "individual",
    **env_kwargs: Any,
) -> PettingZooEnv:
    """Build E copies of ``module_path.parallel_env(**env_kwargs)``."""
    module = _env_module(module_path)
    return PettingZooEnv(
        functools.partial(module.parallel_env, **env_kwargs),
        num_envs=num_envs,
        name=f"pettingzoo:{module_path}",
        agent_types=agent_types,
        type_from=type_from,
        reward_mode=reward_mode,
    )


def pettingzoo_family(module_path: str) -> Callable[..., PettingZooEnv]:
    """Factory of the ``pettingzoo:<module path>`` family; the module is imported now."""
    _env_module(module_path)
    return functools.partial(make_pettingzoo, module_path)
