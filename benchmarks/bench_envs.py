"""Throughput of the env adapters: agent-steps per second under uniformly random valid actions.

Usage::

    python benchmarks/bench_envs.py                       # every registered env, 8 copies, 200 steps
    python benchmarks/bench_envs.py crware-1 lbf-12ag-3lvl --num-envs 4 --steps 500
    taskset -c 0 python benchmarks/bench_envs.py --pairs --num-envs 64 --repeats 5   # vectorised vs reference
    python benchmarks/bench_envs.py crware-3 --state   # with the global state centralised critics read

Every rate is given by wall clock and by the process's CPU time (``time.process_time``), the
median of ``--repeats`` runs. ``--pairs`` runs every vectorised env next to its reference
simulator (``crware-3`` next to ``crware-ref-3``, ``lbf-12ag-3lvl`` next to
``lbf-12ag-3lvl-lbforaging``, ...) in one run and prints the speed-up. On a shared machine the
CPU-time rate is the steadier one: it leaves out the time other jobs hold the core, though not
their pressure on caches and on a shared physical core.

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
from seps.allocator import keep_freed_memory
from seps.errors import MissingDependencyError, UnknownComponentError
from seps.registry import ENVS

EXTRA = ("gymnasium:rware-tiny-4ag-v2", "gymnasium:Foraging-8x8-4p-2f-v3", "pettingzoo:mpe2.simple_spread_v3")


def bench(
    name: str, num_envs: int, steps: int, seed: int = 0, repeats: int = 1, state: bool = False
) -> tuple[float, int, float]:
    """(agent-steps per wall second, agents, agent-steps per CPU second) of ``num_envs`` copies under random actions.

    ``repeats`` runs of ``steps`` steps each, one env stepped on; each rate is the median over the runs.
    ``state``: build the global state too, as for a centralised critic (off, as the trainer runs A2C/PPO).
    """
    kwargs: dict[str, Any] = {}
    if name.startswith("smac") and not os.environ.get("SC2PATH"):
        from seps.testing.smac import SmacStandIn as MMM2StandIn

        kwargs["env_cls"] = MMM2StandIn
    env = ENVS.get(name)(num_envs=num_envs, **kwargs)
    env.global_state_enabled = state
    rng = np.random.default_rng(seed)
    result = env.reset(seed=seed)
    wall_rates, cpu_rates = [], []
    for _ in range(repeats):
        agent_steps = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(steps):
            actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
            result = env.step(actions)
            agent_steps += int(result.active.sum())
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        wall_rates.append(agent_steps / elapsed)
        cpu_rates.append(agent_steps / cpu)
    env.close()
    return float(np.median(wall_rates)), env.n_agents, float(np.median(cpu_rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="env names (default: every registered env and a few family members)")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1, help="runs of --steps steps; rates are their medians")
    parser.add_argument("--pairs", action="store_true", help="vectorised envs next to their reference simulators")
    parser.add_argument("--state", action="store_true", help="also build the global state (centralised critics)")
    args = parser.parse_args()
    keep_freed_memory()  # as every seps entry point does (seps/allocator.py)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.pairs:
        pairs(args.num_envs, args.steps, args.repeats, args.state)
        return
    names = args.envs or [*ENVS.list(), *EXTRA]
    print(
        f"agent-steps/s, {args.num_envs} copies, median of {args.repeats} x {args.steps} steps, "
        f"global state {args.state}"
    )
    print("| env | agents | wall clock | CPU time |")
    print("| --- | ---: | ---: | ---: |")
    for name in names:
        try:
            rate, n_agents, cpu_rate = bench(name, args.num_envs, args.steps, repeats=args.repeats, state=args.state)
        except (MissingDependencyError, UnknownComponentError) as error:
            print(f"| {name} | - | skipped: {error} | |")
            continue
        print(f"| {name} | {n_agents} | {rate:,.0f} | {cpu_rate:,.0f} |")


PAIRS = (
    ("crware-1", "crware-ref-1"),
    ("crware-2", "crware-ref-2"),
    ("crware-3", "crware-ref-3"),
    ("crware-9ag-3c", "crware-ref-9ag-3c"),
    ("lbf-12ag-3lvl", "lbf-12ag-3lvl-lbforaging"),
)


def pairs(num_envs: int, steps: int, repeats: int = 1, state: bool = False) -> None:
    """Agent-steps/s of each vectorised env and its reference, same copies, one run."""
    print(
        f"agent-steps/s, {num_envs} copies, median of {repeats} x {steps} steps (reference {max(1, steps // 10)}), "
        f"global state {state}; "
        "wall clock, then CPU time"
    )
    print("| task | agents | vectorised | reference | speed-up | vectorised (CPU) | reference (CPU) | speed-up (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fast, reference in PAIRS:
        if fast not in ENVS or reference not in ENVS:
            continue
        fast_rate, n_agents, fast_cpu = bench(fast, num_envs, steps, repeats=repeats, state=state)
        ref_rate, _, ref_cpu = bench(reference, num_envs, max(1, steps // 10), repeats=repeats, state=state)
        print(
            f"| {fast} | {n_agents} | {fast_rate:,.0f} | {ref_rate:,.0f} | {fast_rate / ref_rate:.0f}x "
            f"| {fast_cpu:,.0f} | {ref_cpu:,.0f} | {fast_cpu / ref_cpu:.0f}x |"
        )


if __name__ == "__main__":
    main()
