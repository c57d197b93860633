"""``check_env_adapter``: checks users run on their own :class:`~seps.envs.base.MultiAgentEnv`.

In the spirit of scikit-learn's ``check_estimator`` and PettingZoo's ``parallel_api_test``:
every problem raises one :class:`~seps.errors.EnvError` whose message names the check.
"""

from __future__ import annotations

import itertools

import numpy as np
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult
from seps.errors import EnvError

_FIELDS = ("obs", "rewards", "terminated", "truncated", "final_obs", "action_mask", "active")


def _fail(env: MultiAgentEnv, message: str) -> EnvError:
    return EnvError(f"check_env_adapter({getattr(env, 'name', type(env).__name__)}): {message}")


def _check_spaces(env: MultiAgentEnv) -> None:
    if not isinstance(env.num_envs, int) or env.num_envs < 1:
        raise _fail(env, f"num_envs must be an int >= 1, got {env.num_envs!r}")
    if len(env.action_spaces) == 0 or len(env.observation_spaces) != len(env.action_spaces):
        raise _fail(env, "observation_spaces and action_spaces must have one (and the same number of) entry per agent")
    for index, (obs_space, act_space) in enumerate(zip(env.observation_spaces, env.action_spaces, strict=True)):
        if not isinstance(obs_space, spaces.Box):
            raise _fail(env, f"agent {index}'s observation space must be a gymnasium Box, got {obs_space}")
        discrete = isinstance(act_space, spaces.Discrete) and act_space.n >= 1
        box = isinstance(act_space, spaces.Box) and len(act_space.shape) == 1 and env.continuous_actions
        if not (discrete or box) or isinstance(act_space, spaces.Box) != env.continuous_actions:
            raise _fail(
                env,
                f"agent {index}'s action space must be Discrete with n >= 1 (or a flat Box for all), got {act_space}",
            )
    if env.agent_types is None:
        return
    types = np.asarray(env.agent_types)
    if types.shape != (env.n_agents,) or not np.issubdtype(types.dtype, np.integer):
        raise _fail(
            env, f"agent_types must be an int array of shape ({env.n_agents},), got {types.dtype} {types.shape}"
        )


def _check_result(env: MultiAgentEnv, result: StepResult, where: str) -> None:
    e, n, d, a = env.num_envs, env.n_agents, env.max_obs_dim, env.max_n_actions
    expected = {
        "obs": ((e, n, d), np.float32),
        "rewards": ((e, n), np.float32),
        "terminated": ((e, n), np.bool_),
        "truncated": ((e, n), np.bool_),
        "final_obs": ((e, n, d), np.float32),
        "action_mask": ((e, n, a), np.bool_),
        "active": ((e, n), np.bool_),
    }
    for field in _FIELDS:
        value = getattr(result, field)
        shape, dtype = expected[field]
        if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
            got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise _fail(env, f"{where}: {field} must be {np.dtype(dtype)} {shape}, got {got}")
    for field in ("obs", "final_obs", "rewards"):
        if not np.isfinite(getattr(result, field)).all():
            raise _fail(env, f"{where}: {field} has NaN or inf values")
    padding = np.arange(d)[None, :] >= env.obs_dims[:, None]  # (N, D)
    for field in ("obs", "final_obs"):
        if (getattr(result, field)[:, padding] != 0).any():
            raise _fail(env, f"{where}: {field} must be zero beyond each agent's obs_dims (padding)")
    if (result.action_mask & ~env.static_action_mask()).any():
        raise _fail(env, f"{where}: action_mask allows actions beyond an agent's n_actions")
    if not result.action_mask.any(axis=-1).all():
        raise _fail(env, f"{where}: every agent needs at least one allowed action in action_mask")
    _check_state(env, result, where)
    if env.team_reward:
        rewards = np.where(result.active, result.rewards, np.nan)
        spread = np.nanmax(rewards, axis=1) - np.nanmin(rewards, axis=1)
        if (spread[result.active.any(axis=1)] > 1e-6).any():
            raise _fail(env, f"{where}: team_reward is True but active agents of a copy got different rewards")


def _check_state(env: MultiAgentEnv, result: StepResult, where: str) -> None:
    """The global state: both fields or neither, float32 (E, state_dim), finite, equal where no copy ended."""
    if (result.state is None) != (result.final_state is None):
        raise _fail(env, f"{where}: state and final_state must both be given or both be None")
    if result.state is None or result.final_state is None:
        # No state of its own: centralised critics read the concatenated observations (global_state()).
        if env.state_dim != env.n_agents * env.max_obs_dim:
            raise _fail(env, f"{where}: state is None but state_dim is {env.state_dim}, not N * max_obs_dim")
        return
    shape = (env.num_envs, env.state_dim)
    for field in ("state", "final_state"):
        value = getattr(result, field)
        if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != np.float32:
            got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise _fail(env, f"{where}: {field} must be float32 {shape} (num_envs, state_dim), got {got}")
        if not np.isfinite(value).all():
            raise _fail(env, f"{where}: {field} has NaN or inf values")
    ended = MultiAgentEnv.episode_ended(result)
    if not np.array_equal(result.final_state[~ended], result.state[~ended]):
        raise _fail(env, f"{where}: final_state must equal state in copies whose episode did not end")


def _random_actions(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One allowed action per agent, uniformly among the allowed ones."""
    return np.argmax(rng.random(mask.shape) * mask, axis=-1)


def _rollout(env: MultiAgentEnv, seed: int, n_steps: int) -> list[StepResult]:
    rng = np.random.default_rng(seed)
    results = [env.reset(seed=seed)]
    _check_result(env, results[0], "reset")
    if not results[0].active.all():
        raise _fail(env, "reset: every agent must be active at the start of an episode")
    if results[0].terminated.any() or results[0].truncated.any():
        raise _fail(env, "reset: terminated and truncated must be all False")
    for step in range(n_steps):
        if env.continuous_actions:
            low, high = env.action_bounds()
            actions = rng.uniform(low, high, size=(env.num_envs, *low.shape)).astype(np.float32)
        else:
            actions = _random_actions(results[-1].action_mask, rng)
        result = env.step(actions)
        _check_result(env, result, f"step {step}")
        results.append(result)
    return results


def _check_episode_logic(env: MultiAgentEnv, results: list[StepResult]) -> None:
    """Agents that left do not come back within an episode; ended copies restart with everyone active."""
    for step, (before, after) in enumerate(itertools.pairwise(results[1:])):
        done = before.terminated | before.truncated | ~before.active
        ended = done.all(axis=1)
        if not after.active[ended].all():
            raise _fail(env, f"step {step + 1}: a copy whose agents were all done must reset with every agent active")
        returning = ~before.active & after.active & ~ended[:, None]
        if returning.any():
            raise _fail(env, f"step {step + 1}: an agent that left its episode became active again before the reset")
        if not np.array_equal(before.final_obs[~ended], before.obs[~ended]):
            raise _fail(env, f"step {step}: final_obs must equal obs in copies whose episode did not end")


def check_env_adapter(env: MultiAgentEnv, *, n_steps: int = 20, seed: int = 0) -> None:
    """Check spaces, shapes, dtypes, padding, masks, global state, seeding and episode logic of ``env``.

    Runs two seeded rollouts of ``n_steps`` random allowed actions; raises one
    :class:`~seps.errors.EnvError` naming the first problem found. Episode ends are only
    checked if an episode ends within ``n_steps`` (build the env with a short limit to cover them).
    """
    if not isinstance(env, MultiAgentEnv):
        raise EnvError(f"check_env_adapter needs a seps.envs.base.MultiAgentEnv, got {type(env).__name__}")
    _check_spaces(env)
    first = _rollout(env, seed, n_steps)
    second = _rollout(env, seed, n_steps)
    for step, (a, b) in enumerate(zip(first, second, strict=True)):
        for field in ("obs", "rewards", "action_mask", "terminated", "truncated", "state"):
            if not np.array_equal(getattr(a, field), getattr(b, field)):
                where = "reset" if step == 0 else f"step {step - 1}"
                raise _fail(env, f"seeding: same seed and actions gave different {field} at {where}")
    _check_episode_logic(env, first)
