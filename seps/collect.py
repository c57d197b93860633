"""Stage 1 of SePS: collect transitions of every agent under uniformly random actions.

The paper pre-trains its encoder on experience gathered with actions "sampled from
A_i" (Section 3.1): here each agent draws uniformly among the actions its
``action_mask`` allows at that step, for all E copies and N agents at once.

Every active agent's transition ``(agent id, obs, action, reward, next obs)`` goes
into one shared :class:`~seps.records.Transitions` buffer. On an env with per-episode types
(``StepResult.episode_types``) the "agent id" is the agent's type in that episode, so the
encoder embeds, and the partitioner groups, types. The next observation is
``StepResult.final_obs``: where a copy has just reset, ``obs`` already holds the next
episode's first observation, and ``final_obs`` holds the real successor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import numpy as np

from seps.envs.base import MultiAgentEnv
from seps.errors import ConfigError
from seps.records import Transitions
from seps.validators import positive_int, require_positive_int

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class CollectConfig:
    """How much random-action experience to gather before encoding.

    The defaults give ``steps * num_envs`` = 12,800 transitions per agent from 256 BPS
    episodes. Fewer, or fewer episodes, let each agent's code absorb the quirks of its
    own sample, so two agents of one colour end up apart and Davies-Bouldin splits the
    2-agent colours of bps-4 (measured: 8 copies x 400 steps fails, 64 x 200 passes).
    """

    steps: int = attrs.field(default=200, validator=positive_int)
    """Steps of the batched env; each step records up to num_envs * n_agents transitions."""
    num_envs: int = attrs.field(default=64, validator=positive_int)
    """Parallel copies of the env to step together."""


def buffer_bytes(steps: int, num_envs: int, n_agents: int, obs_dim: int) -> int:
    """Peak memory of :func:`collect`: the per-step pieces and their concatenation exist at once (x2).

    Per transition: obs and next_obs (float32, ``obs_dim`` each), agent id and action (int64), reward.
    """
    per_transition = 2 * 4 * obs_dim + 8 + 8 + 4
    return 2 * steps * num_envs * n_agents * per_transition


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``); None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_collect_memory(config: CollectConfig, n_agents: int, obs_dim: int, available: int | None = None) -> int:
    """Refuse a collection whose buffer would not fit in memory, with the estimate and what to lower."""
    need = buffer_bytes(config.steps, config.num_envs, n_agents, obs_dim)
    free = available_memory() if available is None else available
    if free is not None and need > free:
        raise ConfigError(
            f"collecting {config.steps:,} steps x {config.num_envs} copies x {n_agents} agents with {obs_dim:,} "
            f"features each would need ~{_gigabytes(need)} of memory, {_gigabytes(free)} is available; "
            "lower collect.steps (--collect-steps) or collect.num_envs (--num-envs)"
        )
    return need


def _gigabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:,.0f} MB"


def random_actions(action_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one action per (copy, agent) uniformly among the True entries of ``action_mask``.

    A row with no allowed action (an agent that has left its episode) gets action 0.
    """
    scores = rng.random(action_mask.shape)
    scores[~action_mask] = -np.inf
    return scores.argmax(axis=-1).astype(np.int64)


def random_box_actions(low: np.ndarray, high: np.ndarray, num_envs: int, rng: np.random.Generator) -> np.ndarray:
    """float32 (E, N, A): each action dimension uniform in its Box's [low, high] (padding: low = high = 0)."""
    return rng.uniform(low, high, size=(num_envs, *low.shape)).astype(np.float32)


def collect(
    env: MultiAgentEnv, steps: int, seed: int = 0, callback: Callable[[int, int], None] | None = None
) -> Transitions:
    """Run ``steps`` steps of the batched ``env`` with uniformly random valid actions.

    ``steps`` counts steps of the whole batched env, so the buffer holds up to
    ``steps * env.num_envs * env.n_agents`` transitions (agents with ``active`` False
    on a step are skipped). The env is reset with ``seed`` and actions are drawn from
    a generator seeded with ``seed``, so a deterministic env gives identical buffers.
    ``callback(done, steps)`` is called after every step.
    """
    require_positive_int("steps", steps)
    n_agents = env.n_agents
    agent_grid = np.broadcast_to(np.arange(n_agents, dtype=np.int64), (env.num_envs, n_agents))
    rng = np.random.default_rng(seed)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("agent_id", "obs", "action", "reward", "next_obs")}
    bounds = env.action_bounds() if env.continuous_actions else None
    # The encoder reads no global state: envs that build one at a cost skip it while collecting.
    state_was_enabled, env.global_state_enabled = env.global_state_enabled, False
    try:
        result = env.reset(seed=seed)
        for step in range(1, steps + 1):
            if bounds is None:
                actions = random_actions(result.action_mask, rng)
            else:  # Box actions: uniform over the space, the continuous counterpart of "sampled from A_i"
                actions = random_box_actions(*bounds, env.num_envs, rng)
            ids = agent_grid if result.episode_types is None else result.episode_types
            following = env.step(actions)
            active = following.active
            columns["agent_id"].append(ids[active])
            columns["obs"].append(result.obs[active])
            columns["action"].append(actions[active])
            columns["reward"].append(following.rewards[active])
            columns["next_obs"].append(following.final_obs[active])
            result = following
            if callback is not None:
                callback(step, steps)
    finally:
        env.global_state_enabled = state_was_enabled
    transitions = Transitions(
        agent_id=np.concatenate(columns["agent_id"]).astype(np.int64),
        obs=np.concatenate(columns["obs"]).astype(np.float32, copy=False),
        action=np.concatenate(columns["action"]),
        reward=np.concatenate(columns["reward"]).astype(np.float32, copy=False),
        next_obs=np.concatenate(columns["next_obs"]).astype(np.float32, copy=False),
        obs_dims=env.obs_dims if env.n_episode_types is None else np.full(env.n_identities, env.max_obs_dim),
        n_actions=env.n_actions if env.n_episode_types is None else np.full(env.n_identities, env.max_n_actions),
    )
    logger.info("collected %d transitions of %d agents in %d env steps", len(transitions), n_agents, steps)
    return transitions
