"""Throughput of the env adapters: agent-steps per second under uniformly random valid actions.

Usage::

    python benchmarks/bench_envs.py                       # every registered env, 8 copies, 200 steps
    python benchmarks/bench_envs.py crware-1 lbf-12ag-3lvl --num-envs 4 --steps 500

``smac-mmm2`` runs on the test stand-in (seps/testing/smac.py) unless StarCraft II is set up
(SC2PATH), so its number measures the adapter, not StarCraft II. One agent-step is one agent
acting once in one copy; agents that left their episode are not counted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import seps.envs
import seps.envs.registrations  # noqa: F401
from seps.errors import MissingDependencyError, UnknownComponentError
from seps.registry import ENVS

EXTRA = ("gymnasium:rware-tiny-4ag-v2", "gymnasium:Foraging-8x8-4p-2f-v3", "pettingzoo:mpe2.simple_spread_v3")


def bench(name: str, num_envs: int, steps: int, seed: int = 0) -> tuple[float, int]:
    """Return (agent-steps per second, agents) of ``steps`` random steps of ``num_envs`` copies."""
    kwargs: dict[str, Any] = {}
    if name.startswith("smac") and not os.environ.get("SC2PATH"):
        from seps.testing.smac import SmacStandIn as MMM2StandIn

        kwargs["env_cls"] = MMM2StandIn
    env = ENVS.get(name)(num_envs=num_envs, **kwargs)
    rng = np.random.default_rng(seed)
    result = env.reset(seed=seed)
    agent_steps = 0
    start = time.perf_counter()
    for _ in range(steps):
        actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
        result = env.step(actions)
        agent_steps += int(result.active.sum())
    elapsed = time.perf_counter() - start
    env.close()
    return agent_steps / elapsed, env.n_agents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="env names (default: every registered env and a few family members)")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    names = args.envs or [*ENVS.list(), *EXTRA]
    print(f"| env | agents | agent-steps/s ({args.num_envs} copies, {args.steps} steps) |")
    print("| --- | ---: | ---: |")
    for name in names:
        try:
            rate, n_agents = bench(name, args.num_envs, args.steps)
        except (MissingDependencyError, UnknownComponentError) as error:
            print(f"| {name} | - | skipped: {error} |")
            continue
        print(f"| {name} | {n_agents} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
