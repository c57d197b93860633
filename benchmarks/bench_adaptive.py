"""Training throughput of adaptive SePS (re-partition checks every M env steps) against static SePS on bps-1.

    python benchmarks/bench_adaptive.py [--every 100000] [--checks 3] [--rounds 1] [--env bps-1]

Each round trains static SePS and then adaptive SePS (``repartition_every=--every``) for
``--checks`` x ``--every`` env steps from the same seed, and times the training loop only (from
``on_train_start`` to ``on_train_end``: rollouts, updates, the evaluations at the start and end,
and for the adaptive run the recording windows, the warm-started encoder fits, the clustering
and any regroup). Pre-training is not timed: both runs do the same one. The pre-training is made
small (50 collection steps, at most 2,000 encoder updates) to keep the benchmark short; the checks
use the defaults of ``RepartitionConfig``. Prints steps/s of both and the ratio adaptive / static;
both run in this one process, alternately, so machine noise hits both alike.
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
from seps.collect import CollectConfig  # noqa: E402
from seps.run_dir import RunDir  # noqa: E402


class LoopTimer(TrainerCallback):
    """Wall-clock seconds of the training loop."""

    def __init__(self) -> None:
        self.start = self.seconds = 0.0

    def on_train_start(self, trainer: Any) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, trainer: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def timed_run(env: str, steps: int, every: int | None, root: str) -> tuple[float, int]:
    """Steps/s of one training loop and the number of partition changes it made."""
    timer = LoopTimer()
    result = build(
        "seps",
        env=env,
        total_steps=steps,
        eval_interval=steps,
        checkpoint_interval=steps,
        collect=CollectConfig(steps=50),
        encoder_options={"updates": 2000, "min_updates": 500},
        repartition_every=every,
        run_root=root,
    ).run(callbacks=[timer])
    changes = sum(r["event"] == "change" for r in RunDir(result.run_dir).read_partitions())
    return steps / timer.seconds, changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="bps-1")
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    steps = args.every * args.checks
    static, adaptive, changes = [], [], []
    with tempfile.TemporaryDirectory() as root:
        for _ in range(args.rounds):
            static.append(timed_run(args.env, steps, None, root)[0])
            speed, changed = timed_run(args.env, steps, args.every, root)
            adaptive.append(speed)
            changes.append(changed)
    result = {
        "env": args.env,
        "steps": steps,
        "repartition_every": args.every,
        "static_steps_per_s": [round(s) for s in static],
        "adaptive_steps_per_s": [round(s) for s in adaptive],
        "partition_changes": changes,
        "ratio_adaptive_over_static": round(statistics.median(adaptive) / statistics.median(static), 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
