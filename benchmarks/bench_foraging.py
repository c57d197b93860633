"""Level-based foraging: lbforaging (the reference) and the numpy VectorForaging side by side.

Usage (one core, as in the issue)::

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_foraging.py --num-envs 64

Agent-steps per second under uniformly random valid actions (one agent-step is one agent acting
once in one copy), the loop of ``benchmarks/bench_envs.py:bench``, for both envs of each pair in
the same run. Two rates: per second of wall time, and per second of this process's CPU time
(``time.process_time``), which stays meaningful when other jobs share the core. The reference is
slow, so it runs fewer steps (``--ref-steps``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import seps.envs  # noqa: F401  (registers the envs)
from seps.allocator import keep_freed_memory
from seps.registry import ENVS

PAIRS = (
    ("lbf-12ag-3lvl-lbforaging", "lbf-12ag-3lvl"),
    ("gymnasium:Foraging-15x15-9p-4f-v3", "lbf:Foraging-15x15-9p-4f-v3"),
)
"""(reference on lbforaging, vectorised) task pairs."""


def bench(name: str, num_envs: int, steps: int, seed: int = 0) -> tuple[float, float, int]:
    """(agent-steps per wall second, per CPU second, agents) of ``steps`` random steps of ``num_envs`` copies."""
    env = ENVS.get(name)(num_envs=num_envs)
    env.global_state_enabled = False  # as the trainer runs A2C/PPO (only centralised critics read it)
    rng = np.random.default_rng(seed)
    result = env.reset(seed=seed)
    agent_steps = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
        result = env.step(actions)
        agent_steps += int(result.active.sum())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    env.close()
    return agent_steps / wall, agent_steps / cpu, env.n_agents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000, help="steps of the vectorised env")
    parser.add_argument("--ref-steps", type=int, default=30, help="steps of the lbforaging reference")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per env")
    args = parser.parse_args()
    keep_freed_memory()  # as every seps entry point does (seps/allocator.py)
    print(f"agent-steps/s, {args.num_envs} copies, best of {args.repeats}: wall time (CPU time)")
    print("| task | agents | lbforaging | vectorised | speed-up (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for reference, vector in PAIRS:
        ref = [bench(reference, args.num_envs, args.ref_steps) for _ in range(args.repeats)]
        vec = [bench(vector, args.num_envs, args.steps) for _ in range(args.repeats)]
        ref_wall, ref_cpu = max(r[0] for r in ref), max(r[1] for r in ref)
        vec_wall, vec_cpu = max(r[0] for r in vec), max(r[1] for r in vec)
        print(
            f"| {vector} | {vec[0][2]} | {ref_wall:,.0f} ({ref_cpu:,.0f}) | {vec_wall:,.0f} ({vec_cpu:,.0f}) "
            f"| {vec_cpu / ref_cpu:.0f}x |"
        )


if __name__ == "__main__":
    main()
