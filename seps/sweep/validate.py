"""Checking every cell before any runs: each training cell's Experiment is built (not run), each env once."""

from __future__ import annotations

import json
from typing import Any

from seps.errors import ConfigError, SepsError
from seps.experiment import Experiment
from seps.pipeline import make_env
from seps.sweep.components import Component
from seps.sweep.grid import Cell


def validate_cells(cells: list[Cell], source: str = "<sweep>") -> None:
    """Raise a one-line :class:`ConfigError` naming the entry at fault if any cell cannot be built."""
    if not cells:
        raise ConfigError(f"{source}: the grid has no cells; give at least one env, seed and method")
    names = [cell.name for cell in cells]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: two cells have the same definition; remove the repeated grid values")
    n_agents: dict[str, int] = {}
    checked: set[str] = set()
    for cell in cells:
        env_key = cell.env.key
        if env_key not in n_agents:
            n_agents[env_key] = _count_agents(cell.env)
        if cell.partitioner is not None:
            _check_k(cell.partitioner, cell.env, n_agents[env_key])
        if cell.mode != "train":
            continue
        plain = cell.to_plain()
        plain.pop("seed")  # the seed never makes a configuration invalid
        key = json.dumps(plain, sort_keys=True, default=str)
        if key in checked:
            continue
        checked.add(key)
        try:
            experiment = Experiment(cell.experiment_config(run_root="."))
            experiment.env.close()
        except (SepsError, TypeError, ValueError) as error:
            raise ConfigError(f"{source}: cell {cell.name}: {error}") from None


def _count_agents(env: Component) -> int:
    try:
        built = make_env(env.name, num_envs=1, **env.options)
    except (SepsError, TypeError, ValueError) as error:
        raise ConfigError(f"{env.where or 'envs'}: {error}") from None
    try:
        return int(built.n_agents)
    finally:
        built.close()


def _check_k(partitioner: Component, env: Component, n_agents: int) -> None:
    k: Any = partitioner.options.get("k")
    if isinstance(k, int) and not isinstance(k, bool) and k > n_agents:
        raise ConfigError(
            f"{partitioner.where or 'partitioners'}: {partitioner.label} asks for {k} groups but env "
            f"{env.label} has {n_agents} agents; use k <= {n_agents}"
        )
