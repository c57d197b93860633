"""Level-based foraging: lbforaging (the reference) and the numpy VectorForaging side by side.

Usage (one core, as in the issue)::

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_foraging.py --num-envs 64

Agent-steps per second under uniformly random valid actions (one agent-step is one agent acting
once in one copy), measured by ``benchmarks/bench_envs.py:bench`` for both envs of each pair in
the same run. The reference is slow, so it runs fewer steps (``--ref-steps``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_envs import bench

PAIRS = (
    ("lbf-12ag-3lvl-lbforaging", "lbf-12ag-3lvl"),
    ("gymnasium:Foraging-15x15-9p-4f-v3", "lbf:Foraging-15x15-9p-4f-v3"),
)
"""(reference on lbforaging, vectorised) task pairs."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000, help="steps of the vectorised env")
    parser.add_argument("--ref-steps", type=int, default=30, help="steps of the lbforaging reference")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per env")
    args = parser.parse_args()
    print(f"| task | agents | lbforaging agent-steps/s | vectorised agent-steps/s | speed-up | ({args.num_envs} copies)")
    print("| --- | ---: | ---: | ---: | ---: |")
    for reference, vector in PAIRS:
        ref_rate = max(bench(reference, args.num_envs, args.ref_steps)[0] for _ in range(args.repeats))
        vec_rate, n_agents = 0.0, 0
        for _ in range(args.repeats):
            rate, n_agents = bench(vector, args.num_envs, args.steps)
            vec_rate = max(vec_rate, rate)
        print(f"| {vector} | {n_agents} | {ref_rate:,.0f} | {vec_rate:,.0f} | {vec_rate / ref_rate:.0f}x |")


if __name__ == "__main__":
    main()
