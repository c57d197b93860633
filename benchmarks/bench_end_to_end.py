"""End-to-end training speed of ``seps train`` on a vectorised env against its reference simulator.

    python benchmarks/bench_end_to_end.py [--pair crware-2 crware-ref-2] [--steps 10000] [--rounds 2]

Each round runs the same ``build("seps", env=..., total_steps=--steps)`` (the defaults of
``seps train --method seps``: random-action pre-training, A2C, 8 copies) on the vectorised env
and then on the reference, in this one process, and times the training loop (``on_train_start``
to ``on_train_end``: rollouts, updates, the evaluations at the start and the end) by wall clock
and by the process's CPU time (``time.process_time``), which leaves out the time other jobs hold
the core. Prints env steps per second of each run, the K each partition found, and the ratio of
the medians vectorised / reference. Pin it to one core (``taskset -c 0``) for steady numbers.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from seps import build  # noqa: E402
from seps.callbacks import TrainerCallback  # noqa: E402


class LoopTimer(TrainerCallback):
    """Wall-clock and CPU seconds of the training loop."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def on_train_start(self, trainer: Any) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def on_train_end(self, trainer: Any) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def timed_run(env: str, steps: int, seed: int, root: str) -> dict[str, Any]:
    """Env steps per wall and per CPU second of one training loop, and the partition's K."""
    timer = LoopTimer()
    start = time.process_time()
    result = build("seps", env=env, total_steps=steps, eval_interval=steps, seed=seed, run_root=root).run(
        callbacks=[timer]
    )
    return {
        "env": env,
        "k": result.partition.k,
        "steps_per_wall_s": round(steps / timer.wall),
        "steps_per_cpu_s": round(steps / timer.cpu),
        "whole_run_cpu_s": round(time.process_time() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", nargs=2, default=["crware-2", "crware-ref-2"], metavar=("FAST", "REFERENCE"))
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as root:
        for _ in range(args.rounds):
            for env in args.pair:
                runs.append(timed_run(env, args.steps, args.seed, root))
                print(json.dumps(runs[-1]))
    fast, reference = ([r for r in runs if r["env"] == env] for env in args.pair)
    for key in ("steps_per_cpu_s", "steps_per_wall_s"):
        ratio = statistics.median(r[key] for r in fast) / statistics.median(r[key] for r in reference)
        print(f"{key}: {args.pair[0]} / {args.pair[1]} = {ratio:.2f}x (medians of {args.rounds})")


if __name__ == "__main__":
    main()
