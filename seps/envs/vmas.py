"""The ``vmas:<scenario>`` family: VMAS scenarios through VMAS's own batched torch simulator.

VMAS (``vmas.make_env``) simulates all E copies as one batch of torch tensors: one
``Environment.step`` moves every copy (``vmas/simulator/environment/environment.py``
``Environment.step`` takes one ``(E, action_size)`` tensor per agent and returns one ``(E, d)``
observation tensor per agent). This adapter pads those tensors into seps's ``(E, N, D)`` arrays
and never loops over copies while stepping. VMAS does not reset copies by itself: copies that end
together (the usual case, a ``max_steps`` horizon) are reset in one batched ``Environment.reset``;
a copy that ends alone (a scenario's own ``done``) is reset with ``Environment.reset_at``.

Agents keep VMAS's names (``adversary_0``, ``agent_0``, ...; see ``agent_names``) and their
ground-truth type is the name without ``_<index>``, as for PettingZoo, so ``simple_tag``'s
adversaries and good agents are two types; a scenario whose agents are all ``agent_<i>`` has one
type. Discrete actions are VMAS's ``continuous_actions=False`` (each agent a ``Discrete``: no-op
and the four directions, or the product of its discrete action parts); ``continuous_actions=True``
gives each agent VMAS's Box (forces in ``[-u_range, u_range]``), padded to the widest agent.

VMAS keeps its own random state (``vmas_random_state``, swapped in by ``local_seed``) so seeding
the env never touches the global torch / numpy generators.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult
from seps.envs.looped import REWARD_MODES
from seps.envs.pettingzoo_adapter import types_from_names
from seps.errors import ConfigError, EnvError, MissingDependencyError, UnknownComponentError

DEFAULT_MAX_STEPS = 100
"""Episode horizon when none is given: BenchMARL's VMAS task configs use 100 (``benchmarl/conf/task/vmas``)."""


def _import_vmas() -> Any:
    try:
        return importlib.import_module("vmas")
    except ImportError as error:
        raise MissingDependencyError(
            f"vmas: cannot import vmas ({error}); install it with 'pip install vmas' or 'pip install seps[interop]'"
        ) from None


def scenario_names() -> list[str]:
    """Every scenario VMAS ships (``vmas.scenarios``, ``vmas.mpe_scenarios``, ``vmas.debug_scenarios``)."""
    vmas = _import_vmas()
    return sorted({*vmas.scenarios, *vmas.mpe_scenarios, *vmas.debug_scenarios})


def check_scenario(scenario: str) -> None:
    """Raise :class:`~seps.errors.UnknownComponentError` naming the closest scenario unless VMAS has ``scenario``."""
    names = scenario_names()
    if scenario in names:
        return
    close = difflib.get_close_matches(scenario, names, n=1)
    hint = f" Did you mean 'vmas:{close[0]}'?" if close else ""
    raise UnknownComponentError(f"unknown VMAS scenario {scenario!r}.{hint} VMAS has: {', '.join(names)}")


class VmasEnv(MultiAgentEnv):
    """E copies of a VMAS scenario, batched by VMAS itself; discrete (default) or continuous actions."""

    def __init__(
        self,
        scenario: str,
        *,
        num_envs: int = 1,
        max_steps: int = DEFAULT_MAX_STEPS,
        reward_mode: str = "individual",
        agent_types: Sequence[int] | None = None,
        device: str = "cpu",
        **scenario_kwargs: Any,
    ) -> None:
        name = f"vmas:{scenario}"
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"{name}: num_envs must be an int >= 1, got {num_envs!r}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ConfigError(f"{name}: max_steps must be an int >= 1, got {max_steps!r}")
        if reward_mode not in REWARD_MODES:
            raise ConfigError(f"{name}: reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        continuous = bool(scenario_kwargs.pop("continuous_actions", False))
        vmas = _import_vmas()
        check_scenario(scenario)
        self.env = vmas.make_env(
            scenario,
            num_envs=num_envs,
            device=device,
            continuous_actions=continuous,
            max_steps=max_steps,
            seed=0,
            terminated_truncated=True,
            **scenario_kwargs,
        )
        self.name = name
        self.num_envs = num_envs
        self.max_steps = max_steps
        self.reward_mode = reward_mode
        self.team_reward = reward_mode != "individual"
        self.agent_names: tuple[str, ...] = tuple(agent.name for agent in self.env.agents)
        obs_space, action_space = self.env.observation_space, self.env.action_space
        if continuous:  # VMAS's gym Boxes (``Environment.get_agent_action_space``) as gymnasium Boxes
            self.action_spaces = tuple(
                spaces.Box(np.asarray(space.low, np.float32), np.asarray(space.high, np.float32), dtype=np.float32)
                for space in action_space.spaces
            )
        else:
            for index, space in enumerate(action_space.spaces):
                if not hasattr(space, "n"):
                    raise EnvError(f"{name}: agent {self.agent_names[index]!r} has action space {space}, not Discrete")
            self.action_spaces = tuple(spaces.Discrete(int(space.n)) for space in action_space.spaces)
        for index, space in enumerate(obs_space.spaces):
            if len(getattr(space, "shape", ()) or ()) != 1:
                raise EnvError(f"{name}: agent {self.agent_names[index]!r} observes {space}; seps needs flat vectors")
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(int(space.shape[0]),), dtype=np.float32) for space in obs_space.spaces
        )
        if agent_types is not None and len(agent_types) != self.n_agents:
            raise EnvError(f"{name}: agent_types has {len(agent_types)} entries for {self.n_agents} agents")
        self.agent_types = (
            np.asarray(agent_types, dtype=np.int64) if agent_types is not None else types_from_names(self.agent_names)
        )
        self._mask = np.broadcast_to(self.static_action_mask(), (num_envs, self.n_agents, self.max_n_actions))
        self._active = np.ones((num_envs, self.n_agents), dtype=bool)

    def _pack(self, observations: Sequence[torch.Tensor]) -> np.ndarray:
        out = torch.zeros(self.num_envs, self.n_agents, self.max_obs_dim)
        for index, obs in enumerate(observations):  # a loop over agents; each row holds every copy
            out[:, index, : obs.shape[-1]] = obs
        return out.numpy()

    def _result(
        self, obs: np.ndarray, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, final_obs: np.ndarray
    ) -> StepResult:
        return StepResult(
            obs=obs,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            action_mask=self._mask.copy(),
            active=self._active.copy(),
        )

    def reset(self, seed: int | None = None) -> StepResult:
        """Reset every copy; a seed reseeds VMAS's own generator first."""
        obs = self._pack(self.env.reset(seed=seed))
        zeros = np.zeros((self.num_envs, self.n_agents), dtype=bool)
        return self._result(obs, np.zeros(zeros.shape, dtype=np.float32), zeros, zeros.copy(), obs.copy())

    def step(self, actions: np.ndarray) -> StepResult:
        """One batched VMAS step of every copy; copies that ended come back reset."""
        actions = self.check_actions(actions)
        batch = torch.as_tensor(actions)
        if self.continuous_actions:  # each agent's real dimensions, (E, n_actions[i])
            per_agent = [batch[:, index, :size] for index, size in enumerate(self.n_actions.tolist())]
        else:
            if (actions < 0).any() or (actions >= self.n_actions[None, :]).any():
                raise EnvError(f"{self.name}: actions must lie in 0 .. n_actions-1 per agent ({self.n_actions})")
            per_agent = [batch[:, index].unsqueeze(-1) for index in range(self.n_agents)]
        observations, rewards, terminated, truncated, _ = self.env.step(per_agent)
        final_obs = self._pack(observations)
        reward = torch.stack([r.reshape(self.num_envs) for r in rewards], dim=1).to(torch.float32).numpy()
        if self.reward_mode == "sum":
            reward[:] = reward.sum(axis=1, keepdims=True)
        elif self.reward_mode == "mean":
            reward[:] = reward.mean(axis=1, keepdims=True)
        term = terminated.reshape(self.num_envs).numpy().astype(bool)
        trunc = truncated.reshape(self.num_envs).numpy().astype(bool) & ~term
        ended = term | trunc
        obs = final_obs
        if ended.all():
            obs = self._pack(self.env.reset())
        elif ended.any():
            for index in np.flatnonzero(ended).tolist():  # only copies that ended alone
                latest = self.env.reset_at(index)
            obs = self._pack(latest)  # the batch after the last reset: the other copies are unchanged
        shape = (self.num_envs, self.n_agents)
        return self._result(
            obs,
            np.ascontiguousarray(reward),
            np.broadcast_to(term[:, None], shape).copy(),
            np.broadcast_to(trunc[:, None], shape).copy(),
            final_obs,
        )


def make_vmas(scenario: str, num_envs: int = 1, **options: Any) -> VmasEnv:
    """Build E copies of VMAS scenario ``scenario``; other options go to the scenario (``num_adversaries=2``)."""
    return VmasEnv(scenario, num_envs=num_envs, **options)


def vmas_family(scenario: str) -> Callable[..., VmasEnv]:
    """Factory of the ``vmas:<scenario>`` family; VMAS is imported and the scenario name checked now."""
    check_scenario(scenario)
    return functools.partial(make_vmas, scenario)
