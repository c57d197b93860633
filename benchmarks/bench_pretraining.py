"""Wall-clock cost of SePS pre-training (collect -> encode -> cluster), quiet and under CPU load.

    python benchmarks/bench_pretraining.py [--tasks bps-4 bps-h-3] [--repeats 3] [--load 2] [--threads 1]

Runs :func:`seps.pipeline.partition_agents` with its defaults (random-action collection of
``CollectConfig()``, the ``vae`` encoder, the ``kmeans_db`` partitioner) ``--repeats`` times per
task and reports the median seconds of each stage, K, the ARI against the true types and the
encoder's updates. Then the same runs again while ``--load`` busy-loop processes (one per core by
default) compete for the CPU, and the ratio of the two medians: pinned threads keep it small.
Both measurements run in this one process, side by side, so machine noise hits both alike.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from seps.pipeline import partition_agents  # noqa: E402


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound busy loops for the duration of the block."""
    workers = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def measure(task: str, repeats: int, threads: int, seed: int) -> dict[str, float]:
    """Median stage seconds over ``repeats`` runs (seeds ``seed``, ``seed+1``, ...)."""
    runs = []
    for repeat in range(repeats):
        result = partition_agents(task, seed=seed + repeat, threads=threads)
        runs.append(
            {
                **result.seconds,
                "total": sum(result.seconds.values()),
                "k": result.partition.k,
                "ari": result.ari if result.ari is not None else float("nan"),
                "updates": result.embeddings.updates or 0,
            }
        )
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["bps-4", "bps-h-3"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, help="busy processes in the loaded run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    header = f"{'task':<10} {'load':>4} {'collect s':>9} {'encode s':>9} {'cluster s':>9} {'total s':>8}"
    print(header + f" {'K':>3} {'ARI':>5} {'updates':>7} {'x quiet':>7}")
    rows = {}
    for task in args.tasks:
        quiet = measure(task, args.repeats, args.threads, args.seed)
        with cpu_load(args.load):
            loaded = measure(task, args.repeats, args.threads, args.seed)
        rows[task] = {"quiet": quiet, "loaded": loaded, "ratio": loaded["total"] / quiet["total"]}
        for load, row in ((0, quiet), (args.load, loaded)):
            print(
                f"{task:<10} {load:>4} {row['collect']:>9.1f} {row['encode']:>9.1f} {row['cluster']:>9.1f} "
                f"{row['total']:>8.1f} {row['k']:>3.0f} {row['ari']:>5.2f} {row['updates']:>7.0f} "
                f"{row['total'] / quiet['total']:>7.2f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
