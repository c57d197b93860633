"""Wall-clock cost of SePS pre-training (collect -> encode -> cluster) against the number of agents.

    python benchmarks/bench_pretraining.py [--agents 15 30 100 200 1000] [--threads 1]

Runs :func:`seps.pipeline.partition_agents` with its defaults (random-action collection of
``CollectConfig()``, the ``vae`` encoder, the ``kmeans_db`` partitioner) on the same BPS tasks as
``bench_scaling.py`` and reports each stage's seconds, the K found, the adjusted Rand index
against the true types and the peak RSS so far. One run per N: each takes tens of seconds, so
run-to-run noise is small next to the differences between N.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402
import resource  # noqa: E402

import torch  # noqa: E402
from training_harness import type_counts  # noqa: E402

from seps.pipeline import partition_agents  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="+", default=[15, 30, 100, 200, 1000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'N':>5} {'task':<18} {'collect s':>9} {'encode s':>9} {'cluster s':>9} {'total s':>8} {'K':>3} {'ARI':>5}")
    rows = {}
    for n_agents in args.agents:
        task = "bps:" + "-".join(map(str, type_counts(n_agents)))
        result = partition_agents(task, seed=args.seed)
        seconds = result.seconds
        total = sum(seconds.values())
        rows[n_agents] = {**seconds, "total": total, "k": result.partition.k, "ari": result.ari}
        rows[n_agents]["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{n_agents:>5} {task:<18} {seconds['collect']:>9.1f} {seconds['encode']:>9.1f} {seconds['cluster']:>9.1f} "
            f"{total:>8.1f} {result.partition.k:>3} {result.ari:>5.2f}",
            flush=True,
        )
        del result
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
