"""Throughput of Blind-particle Spread: agent-steps per second of ``env.step`` on one core.

Run pinned to one core, e.g.::

    taskset -c 0 python benchmarks/bench_bps.py --tasks bps-2 bps-h-2 --copies 64

Thread pools are limited to one thread before numpy is imported. Actions are drawn
up front, so the timing covers ``step`` only (dynamics, rewards, observations, resets).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy loads)
import time  # noqa: E402

import numpy as np  # noqa: E402

import seps.envs  # noqa: E402, F401  (registers the bps tasks)
from seps.registry import ENVS  # noqa: E402


def measure(task: str, copies: int, steps: int, repeats: int, seed: int) -> float:
    """Best agent-steps per second over ``repeats`` runs of ``steps`` steps."""
    env = ENVS.get(task)(num_envs=copies)
    env.reset(seed=seed)
    pool = np.random.default_rng(seed).integers(0, 5, size=(64, copies, env.n_agents))
    for index in range(min(steps, 100)):  # warm-up
        env.step(pool[index % len(pool)])
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for index in range(steps):
            env.step(pool[index % len(pool)])
        elapsed = time.perf_counter() - start
        best = max(best, steps * copies * env.n_agents / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["bps-2"], help="registered env names, e.g. bps-2 bps:5-5-5")
    parser.add_argument("--copies", type=int, nargs="+", default=[64], help="parallel copies per env object")
    parser.add_argument("--steps", type=int, default=2000, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU (Linux)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    print(f"{'task':<14} {'copies':>6} {'agents':>6} {'us/step':>9} {'agent-steps/s':>14}")
    for task in args.tasks:
        for copies in args.copies:
            rate = measure(task, copies, args.steps, args.repeats, args.seed)
            n_agents = ENVS.get(task)(num_envs=1).n_agents
            print(f"{task:<14} {copies:>6} {n_agents:>6} {copies * n_agents / rate * 1e6:>9.1f} {rate:>14,.0f}")


if __name__ == "__main__":
    main()
