"""The ``gymnasium:<id>`` family: Gymnasium multi-agent envs with ``Tuple`` spaces, over :class:`LoopedEnv`.

:class:`GymnasiumEnv` wraps Gymnasium multi-agent envs whose observation and action spaces
are ``Tuple`` spaces with one entry per agent (``rware``, ``lbforaging``, ma-gym style).
:class:`LoopedEnv`, :class:`CopyStep` and :func:`flat_box` live in :mod:`seps.envs.looped`
(re-exported here for code that imported them from this module).
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any, cast

import gymnasium
import numpy as np
from gymnasium import spaces

from seps.envs.lbf_masks import is_lbforaging, lbf_action_mask
from seps.envs.looped import REWARD_MODES, CopyStep, LoopedEnv, flat_box
from seps.errors import ConfigError, EnvError, UnknownComponentError

__all__ = ["REWARD_MODES", "CopyStep", "GymnasiumEnv", "LoopedEnv", "flat_box", "gymnasium_family", "make_gymnasium"]

# Packages whose import registers Gymnasium ids that seps documents as working.
_KNOWN_ID_PACKAGES = ("rware", "lbforaging")


def _per_agent(value: Any, n_agents: int, dtype: type) -> np.ndarray:
    """A scalar (team-wide) or per-agent sequence as an (N,) array."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), (n_agents,)).copy()


class GymnasiumEnv(LoopedEnv):
    """E copies of a Gymnasium multi-agent env with ``Tuple`` observation and action spaces.

    A scalar ``terminated``/``truncated`` ends the episode for all agents; per-agent sequences
    let agents leave early. A scalar reward is a team reward given to every agent. Action
    masks come from ``mask_fn(env)`` if given, else from ``info["action_mask"]``, else from
    lbforaging's valid actions when the env is an lbforaging env, else every action is allowed.
    """

    def __init__(
        self,
        make_env: Callable[[], gymnasium.Env],
        *,
        num_envs: int = 1,
        name: str = "gymnasium",
        agent_types: Sequence[int] | np.ndarray | None = None,
        mask_fn: Callable[[gymnasium.Env], np.ndarray] | None = None,
        reward_mode: str = "individual",
    ) -> None:
        envs = [make_env() for _ in range(num_envs)] if isinstance(num_envs, int) and num_envs >= 1 else []
        if not envs:
            raise ConfigError(f"{name}: num_envs must be an int >= 1, got {num_envs!r}")
        first = envs[0]
        obs_space, action_space = first.observation_space, first.action_space
        for kind, space in (("observation", obs_space), ("action", action_space)):
            if not isinstance(space, spaces.Tuple):
                raise EnvError(
                    f"{name}: {kind} space is {space}, not a Tuple with one entry per agent; "
                    "wrap single-agent or dict-keyed envs with the pettingzoo adapter or your own MultiAgentEnv"
                )
        self._raw_obs_spaces = tuple(cast(spaces.Tuple, obs_space).spaces)
        self._flatten = not all(isinstance(s, spaces.Box) and len(s.shape) == 1 for s in self._raw_obs_spaces)
        super().__init__(
            num_envs=num_envs,
            observation_spaces=[flat_box(s) for s in self._raw_obs_spaces],
            action_spaces=tuple(cast(spaces.Tuple, action_space).spaces),
            agent_types=None if agent_types is None else np.asarray(agent_types),
            name=name,
            reward_mode=reward_mode,
        )
        self.envs = envs
        self._mask_fn = mask_fn if mask_fn is not None else _default_mask_fn(first)

    def _obs(self, raw: Sequence[Any]) -> np.ndarray:
        if self._flatten:
            raw = [spaces.flatten(space, o) for space, o in zip(self._raw_obs_spaces, raw, strict=True)]
        return self.pad_obs(raw)

    def _mask(self, env: gymnasium.Env, info: dict[str, Any]) -> np.ndarray:
        if self._mask_fn is not None:
            return np.asarray(self._mask_fn(env), dtype=bool)
        if isinstance(info, dict) and "action_mask" in info:
            mask = np.zeros((self.n_agents, self.max_n_actions), dtype=bool)
            for index, row in enumerate(info["action_mask"]):
                row = np.asarray(row, dtype=bool)
                mask[index, : row.size] = row
            return mask
        return self.full_mask()

    def _reset_copy(self, index: int, seed: int | None) -> CopyStep:
        env = self.envs[index]
        raw, info = env.reset(seed=seed)
        zeros = np.zeros(self.n_agents, dtype=bool)
        alive = np.ones(self.n_agents, dtype=bool)
        rewards = np.zeros(self.n_agents, dtype=np.float32)
        return CopyStep(self._obs(raw), self._mask(env, info), rewards, zeros, zeros, alive)

    def _step_copy(self, index: int, actions: np.ndarray) -> CopyStep:
        env = self.envs[index]
        raw, reward, terminated, truncated, info = env.step(tuple(actions.tolist()))
        n = self.n_agents
        term, trunc = _per_agent(terminated, n, bool), _per_agent(truncated, n, bool)
        alive = self._alive[index] & ~(term | trunc)
        return CopyStep(self._obs(raw), self._mask(env, info), _per_agent(reward, n, np.float32), term, trunc, alive)

    def close(self) -> None:
        """Close every copy."""
        for env in self.envs:
            env.close()


def _default_mask_fn(env: gymnasium.Env) -> Callable[[gymnasium.Env], np.ndarray] | None:
    """lbforaging envs expose their valid actions; use them as masks."""
    if is_lbforaging(env):
        return lbf_action_mask
    return None


def _check_gymnasium_id(env_id: str) -> None:
    """Raise a one-line error naming the fix when ``env_id`` is not a registered Gymnasium id."""
    module, sep, plain_id = env_id.rpartition(":")
    if sep:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise UnknownComponentError(
                f"gymnasium:{env_id}: cannot import {module!r} ({error}); install it or fix the module name"
            ) from None
    if plain_id not in gymnasium.registry:
        for package in _KNOWN_ID_PACKAGES:
            try:
                importlib.import_module(package)
            except ImportError:
                continue
    if plain_id not in gymnasium.registry:
        match = difflib.get_close_matches(plain_id, list(gymnasium.registry), n=1)
        hint = f" Did you mean {match[0]!r}?" if match else ""
        raise UnknownComponentError(
            f"unknown Gymnasium id {plain_id!r}.{hint} Register it, or name the module that registers it: "
            f"'gymnasium:my_package:{plain_id}'"
        )


def make_gymnasium(
    env_id: str,
    num_envs: int = 1,
    *,
    agent_types: Sequence[int] | None = None,
    reward_mode: str = "individual",
    mask_fn: Callable[[gymnasium.Env], np.ndarray] | None = None,
    **env_kwargs: Any,
) -> GymnasiumEnv:
    """Build E copies of the Gymnasium env ``env_id`` (``"pkg.module:Id"`` imports the module first)."""
    _check_gymnasium_id(env_id)
    make = functools.partial(gymnasium.make, env_id, disable_env_checker=True, **env_kwargs)
    return GymnasiumEnv(
        make,
        num_envs=num_envs,
        name=f"gymnasium:{env_id}",
        agent_types=agent_types,
        mask_fn=mask_fn,
        reward_mode=reward_mode,
    )


def gymnasium_family(env_id: str) -> Callable[..., GymnasiumEnv]:
    """Factory of the ``gymnasium:<id>`` family; the id is checked now, before any env is built."""
    _check_gymnasium_id(env_id)
    return functools.partial(make_gymnasium, env_id)
