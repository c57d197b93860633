"""Checking every cell before any runs, without building an env: no simulator starts to validate a sweep.

Each distinct training configuration is checked by constructing its :class:`Experiment` (which
validates and builds nothing); env options are bound to the env factory's signature; a
partitioner's fit to the number of agents (``check_agents``) is checked where the env can say
how many agents it has without being built (``factory.agent_count``), else when the cell starts.
"""

from __future__ import annotations

import json
from typing import Any

from seps.errors import ConfigError, SepsError
from seps.experiment import Experiment
from seps.pipeline import check_env, env_agent_count
from seps.registry import PARTITIONERS, resolve
from seps.sweep.components import Component
from seps.sweep.grid import Cell


def validate_cells(cells: list[Cell], source: str = "<sweep>") -> None:
    """Raise a one-line :class:`ConfigError` naming the entry at fault if any cell cannot be built."""
    if not cells:
        raise ConfigError(f"{source}: the grid has no cells; give at least one env, seed and method")
    names = [cell.name for cell in cells]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: two cells have the same definition; remove the repeated grid values")
    n_agents: dict[str, int | None] = {}
    checked: set[str] = set()
    for cell in cells:
        env_key = cell.env.key
        if env_key not in n_agents:
            n_agents[env_key] = _check_env(cell.env)
        count = n_agents[env_key]
        if cell.partitioner is not None and count is not None:
            _check_agents(cell.partitioner, cell.env, count)
        if cell.mode != "train":
            continue
        plain = cell.to_plain()
        plain.pop("seed")  # the seed never makes a configuration invalid
        key = json.dumps(plain, sort_keys=True, default=str)
        if key in checked:
            continue
        checked.add(key)
        try:
            Experiment(cell.experiment_config(run_root="."))
        except (SepsError, TypeError, ValueError) as error:
            raise ConfigError(f"{source}: cell {cell.name}: {error}") from None


def _check_env(env: Component) -> int | None:
    """Check the env's options against its factory; return its agent count when known without building it."""
    try:
        check_env(env.name, 1, **env.options)
        return env_agent_count(env.name, **env.options)
    except (SepsError, TypeError, ValueError) as error:
        raise ConfigError(f"{env.where or 'envs'}: {error}") from None


def _check_agents(partitioner: Component, env: Component, n_agents: int) -> None:
    built = resolve(PARTITIONERS, partitioner.name, **partitioner.options)
    check = getattr(built, "check_agents", None)
    if not callable(check):
        return
    try:
        check(n_agents)
    except SepsError as error:
        k: Any = getattr(built, "k", None)
        hint = f"asks for {k} groups but" if isinstance(k, int) and not isinstance(k, bool) else "does not fit:"
        advice = f"; use k <= {n_agents}" if isinstance(k, int) and k > n_agents else f" ({error})"
        raise ConfigError(
            f"{partitioner.where or 'partitioners'}: {partitioner.label} {hint} env {env.label} "
            f"has {n_agents} agents{advice}"
        ) from None
