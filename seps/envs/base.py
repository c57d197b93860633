"""The batched multi-agent environment interface every seps adapter implements.

One object holds E parallel copies of an N-agent environment. Arrays are laid out
``(E, N, ...)``. Agents may have different observation and action spaces, so the
batched arrays are padded:

* observations are ``float32 (E, N, max_obs_dim)``; agent i's features are the first
  ``obs_dims[i]`` columns and the rest are zeros;
* actions are ``int64 (E, N)``; agent i's valid actions are ``0 .. n_actions[i]-1``;
* ``action_mask`` is ``bool (E, N, max_n_actions)``: False for actions an agent does
  not have, and for actions the env forbids right now (SMAC, LBF).

An env whose agents all have flat ``Box`` action spaces (``continuous_actions``) takes
``float32 (E, N, max_n_actions)`` actions instead: ``n_actions[i]`` is agent i's number of action
dimensions, its actions are the first ``n_actions[i]`` entries (the rest is padding), and
``action_mask`` marks those real dimensions.

Copies reset themselves: when every agent of a copy is done, ``step`` returns the
first observation of the next episode in ``obs`` and the last one of the finished
episode in ``final_obs`` (so learners can bootstrap from it at a truncation).

``agent_types`` is ground truth for evaluation only: it never enters observations
and is never given to an encoder or a partitioner. An env that has no ground truth
(a Gymnasium id, a PettingZoo env whose agent names carry no role) sets it to None,
and then no adjusted Rand index is reported anywhere: seps never scores a partition
against invented types.

Agent i is the same agent in every episode on most envs. An env whose agent slots hold a
different kind of agent each episode (smacv2's generated maps draw a new team at every reset)
sets ``n_episode_types`` and reports each copy's current types in ``StepResult.episode_types``.
seps then partitions *types*, not agent slots: the encoder's one-hot "agent" id is the type, a
partition maps type -> group, and agent n of copy e uses group ``labels[episode_types[e, n]]`` for
that episode. Every agent of such an env has the same observation and action space (a slot can
hold any type).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, cast

import attrs
import numpy as np
from gymnasium import spaces

from seps.errors import EnvError


@attrs.frozen(kw_only=True)
class StepResult:
    """What ``reset`` and ``step`` return for all E copies and N agents."""

    obs: np.ndarray
    """float32 (E, N, max_obs_dim): observations after the step (the new episode's first ones where a copy reset)."""
    rewards: np.ndarray
    """float32 (E, N): reward of each agent (team-reward envs give every agent the team reward)."""
    terminated: np.ndarray
    """bool (E, N): the agent reached a terminal state (no bootstrapping)."""
    truncated: np.ndarray
    """bool (E, N): the episode was cut off by a time limit (bootstrap from ``final_obs``)."""
    final_obs: np.ndarray
    """float32 (E, N, max_obs_dim): equals ``obs`` except in copies that just ended: there, the last observation."""
    action_mask: np.ndarray
    """bool (E, N, max_n_actions): actions each agent may take on the next step."""
    active: np.ndarray
    """bool (E, N): the agent acted in this step (False for agents that left their episode early)."""
    state: np.ndarray | None = None
    """float32 (E, state_dim): each copy's global state after the step, for centralised critics (never the actors).

    None means the env gives none; :func:`global_state` then concatenates the observations."""
    final_state: np.ndarray | None = None
    """float32 (E, state_dim): equals ``state`` except in copies that just ended: there, the last state."""
    episode_types: np.ndarray | None = None
    """int64 (E, N): type (0 .. n_episode_types - 1) of each agent in the episode ``obs`` belongs to, for envs
    that set ``MultiAgentEnv.n_episode_types``; None for envs whose agents keep their identity."""


class MultiAgentEnv(ABC):
    """Batched, auto-resetting environment of ``num_envs`` copies of ``n_agents`` agents."""

    num_envs: int
    observation_spaces: tuple[spaces.Box, ...]
    action_spaces: tuple[spaces.Discrete, ...] | tuple[spaces.Box, ...]
    agent_types: np.ndarray | None
    """int (N,): ground-truth type of each agent, for evaluation only; None when the env has none."""
    n_episode_types: int | None = None
    """Number of agent types of an env whose agent slots change type between episodes (it then fills
    ``StepResult.episode_types``); None: agent i is the same agent in every episode."""
    team_reward: bool = False
    """True when all agents receive one shared reward (an episode's return is then counted once)."""
    global_state_enabled: bool = True
    """Whether ``reset`` and ``step`` fill ``StepResult.state`` / ``final_state``. Envs whose own global state
    costs time to build (the vectorised warehouse and foraging, looped envs with a state of their own, SMAC)
    skip it when False and leave both None; the trainer sets it to ``policy.uses_state`` (only centralised
    critics read the state), the collect stage to False."""
    name: str = "env"

    @property
    def n_agents(self) -> int:
        return len(self.action_spaces)

    @property
    def n_identities(self) -> int:
        """What a partition labels and the encoder tells apart: the types (``n_episode_types``), else the agents."""
        return self.n_agents if self.n_episode_types is None else self.n_episode_types

    @property
    def types_known(self) -> bool:
        """Whether the env knows its agents' true types (and so a partition can be scored against them)."""
        return self.agent_types is not None

    @property
    def obs_dims(self) -> np.ndarray:
        return np.array([int(np.prod(s.shape)) for s in self.observation_spaces], dtype=np.int64)

    @property
    def continuous_actions(self) -> bool:
        """Whether actions are float vectors in Box spaces (else Discrete indices)."""
        return isinstance(self.action_spaces[0], spaces.Box)

    @property
    def n_actions(self) -> np.ndarray:
        """int64 (N,): each agent's number of actions (Discrete) or of action dimensions (Box)."""
        if self.continuous_actions:
            return np.array([int(np.prod(cast(spaces.Box, s).shape)) for s in self.action_spaces], dtype=np.int64)
        return np.array([int(cast(spaces.Discrete, s).n) for s in self.action_spaces], dtype=np.int64)

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """float32 (N, max_n_actions) low and high of each agent's Box (padding 0); continuous envs only."""
        low = np.zeros((self.n_agents, self.max_n_actions), dtype=np.float32)
        high = np.zeros_like(low)
        for index, space in enumerate(self.action_spaces):
            if not isinstance(space, spaces.Box):
                raise EnvError(f"{self.name}: action_bounds needs Box action spaces, agent {index} has {space}")
            low[index, : space.low.size] = space.low.reshape(-1)
            high[index, : space.high.size] = space.high.reshape(-1)
        return low, high

    @property
    def max_obs_dim(self) -> int:
        return int(self.obs_dims.max())

    @property
    def max_n_actions(self) -> int:
        return int(self.n_actions.max())

    @property
    def state_dim(self) -> int:
        """Width of the global state in ``StepResult.state``; the default is the concatenated observations."""
        return self.n_agents * self.max_obs_dim

    def static_action_mask(self) -> np.ndarray:
        """bool (N, max_n_actions): True where the action exists in the agent's action space."""
        return np.arange(self.max_n_actions)[None, :] < self.n_actions[:, None]

    @abstractmethod
    def reset(self, seed: int | None = None) -> StepResult:
        """Start new episodes in every copy; a seed makes everything after it reproducible (copies differ)."""

    @abstractmethod
    def step(self, actions: np.ndarray) -> StepResult:
        """Apply ``actions`` (int (E, N)) in every copy."""

    def get_state(self) -> dict[str, Any]:
        """Tensors/arrays and plain data that restore the exact simulator state (for bit-exact resumes).

        Optional: envs that cannot snapshot themselves raise ``NotImplementedError`` and a
        resumed run restarts their episodes instead.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot snapshot its state")

    def set_state(self, state: dict[str, Any]) -> StepResult:
        """Restore a state from :meth:`get_state` and return the current observations."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a snapshot")

    def close(self) -> None:  # noqa: B027 - optional hook, most envs hold nothing to release
        """Release resources (processes, simulators)."""

    @staticmethod
    def episode_ended(result: StepResult) -> np.ndarray:
        """bool (E,): copies whose episode ended at this step (every agent done or already gone)."""
        return np.all(result.terminated | result.truncated | ~result.active, axis=1)

    def check_actions(self, actions: np.ndarray) -> np.ndarray:
        """Validate the shape of ``actions`` and return it as int64 (Discrete) or float32 (Box)."""
        actions = np.asarray(actions)
        if self.continuous_actions:
            shape = (self.num_envs, self.n_agents, self.max_n_actions)
            if actions.shape != shape:
                raise EnvError(
                    f"actions must have shape (num_envs, n_agents, max_n_actions) = {shape}, got {actions.shape}"
                )
            return actions.astype(np.float32, copy=False)
        if actions.shape != (self.num_envs, self.n_agents):
            raise EnvError(
                f"actions must have shape (num_envs, n_agents) = {(self.num_envs, self.n_agents)}, got {actions.shape}"
            )
        return actions.astype(np.int64, copy=False)

    def check_step_actions(self, actions: np.ndarray, n_actions: int, *, started: bool) -> np.ndarray:
        """``check_actions`` for a step: refuse a step before ``reset()`` and values outside ``0..n_actions-1``."""
        if not started:
            raise EnvError(f"{self.name}: step() was called before reset(); call env.reset(seed) first")
        actions = self.check_actions(actions)
        low, high = actions.min(), actions.max()
        if low < 0 or high >= n_actions:
            raise EnvError(f"{self.name}: actions must lie in 0..{n_actions - 1}, got values {low}..{high}")
        return actions


def global_state(result: StepResult, final: bool = False) -> np.ndarray:
    """float32 (E, state_dim): ``result.state`` (``final_state`` if ``final``), else the concatenated observations.

    The fallback is what EPyMARL and MAPPO give as the state of envs that have none.
    """
    state = result.final_state if final else result.state
    if state is not None:
        return state
    obs = result.final_obs if final else result.obs
    return obs.reshape(obs.shape[0], -1)


def check_action_spaces(action_spaces: Sequence[spaces.Space], env_name: str) -> tuple[spaces.Space, ...]:
    """All Discrete, or all flat Box: return them; else raise naming the first agent that breaks it."""
    if action_spaces and all(isinstance(space, spaces.Box) for space in action_spaces):
        for index, space in enumerate(action_spaces):
            box = cast(spaces.Box, space)
            if len(box.shape) != 1 or not (np.isfinite(box.low).all() and np.isfinite(box.high).all()):
                raise EnvError(f"{env_name}: agent {index} has action space {space}; seps needs flat, bounded Boxes")
        return tuple(action_spaces)
    return check_discrete(action_spaces, env_name)


def check_discrete(action_spaces: Sequence[spaces.Space], env_name: str) -> tuple[spaces.Discrete, ...]:
    """Return the spaces as Discrete, or raise naming the agent whose space is not Discrete."""
    for index, space in enumerate(action_spaces):
        if not isinstance(space, spaces.Discrete):
            raise EnvError(
                f"{env_name}: agent {index} has action space {space}; seps needs Discrete action spaces "
                "(or flat Box spaces for every agent)"
            )
    return tuple(action_spaces)  # type: ignore[arg-type]


def pad_features(features: Sequence[np.ndarray], width: int) -> np.ndarray:
    """Stack per-agent arrays (E, d_i) into one zero-padded float32 array (E, N, width)."""
    out = np.zeros((features[0].shape[0], len(features), width), dtype=np.float32)
    for index, feature in enumerate(features):
        out[:, index, : feature.shape[-1]] = feature
    return out
