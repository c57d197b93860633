"""Checks that need no env built and no heavy import: seeds, and the env's agent count from its factory.

They run before any work (and, in the CLI, before torch is imported), so a bad seed or a K larger
than the number of agents fails in well under a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seps.envs.base import MultiAgentEnv
from seps.errors import ConfigError
from seps.registry import ENVS


def env_factory(env: Any) -> Any:
    """The factory a registered env name (or import string) stands for, a factory as it is; builds nothing."""
    return ENVS.get(env) if isinstance(env, str) else env


def check_seed(seed: object) -> int:
    """Refuse a seed numpy and torch would not take (they need an integer in [0, 2**32))."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def env_agent_count(env: Any, **options: Any) -> int | None:
    """How many things a partition of the env labels, when its factory can tell without building, else None.

    That is its agents (``factory.agent_count``), or the agent types of an env whose agents change type
    between episodes (``factory.identity_count``; ``n_identities`` in :mod:`seps.envs.base`).
    """
    if isinstance(env, MultiAgentEnv):
        return env.n_identities
    factory = env_factory(env)
    count = getattr(factory, "identity_count", None) or getattr(factory, "agent_count", None)
    return int(count(**options)) if callable(count) else None


def check_partitioner_fits(partitioner: Any, env: Any, **env_options: Any) -> None:
    """Call the partitioner's ``check_agents(N)`` when the env's factory knows N without a build."""
    check_agents = getattr(partitioner, "check_agents", None)
    n_agents = env_agent_count(env, **env_options)
    if callable(check_agents) and n_agents is not None:
        check_agents(n_agents)
