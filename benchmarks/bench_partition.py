"""Partition quality (ARI against the true types) and pre-training time, per task, encoder, partitioner and seed.

Each (task, encoder, seed) is encoded once and every partitioner clusters the same embeddings,
so the partitioner columns differ only in stage 3. Times are for the whole pipeline
(collect + encode + cluster) of the first partitioner listed.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_partition.py \
        --tasks bps-1 bps-2 bps-3 bps-4 bps-h-1 bps-h-2 bps-h-3 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from seps.builtin_components import load_builtins
from seps.pipeline import partition_agents
from seps.registry import PARTITIONERS, resolve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["bps-1", "bps-2", "bps-3", "bps-4"])
    parser.add_argument("--encoders", nargs="+", default=["vae"])
    parser.add_argument("--partitioners", nargs="+", default=["kmeans_db", "kmeans_silhouette", "hdbscan"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_builtins()
    print(f"| task | encoder | seed | seconds (collect+encode+cluster) | {' | '.join(args.partitioners)} |")
    print("|---|---|---|---|" + "---|" * len(args.partitioners))
    summary: dict[tuple[str, str, str], list[float]] = {}
    for task in args.tasks:
        for encoder in args.encoders:
            for seed in args.seeds:
                start = time.perf_counter()
                result = partition_agents(task, encoder, args.partitioners[0], seed=seed)
                seconds = time.perf_counter() - start
                cells = []
                for name in args.partitioners:
                    partition = resolve(PARTITIONERS, name).fit(result.embeddings, seed=seed)
                    ari = adjusted_rand_score(result.agent_types, partition.labels)
                    summary.setdefault((task, encoder, name), []).append(ari)
                    cells.append(f"{ari:.2f} (K={partition.k})")
                print(f"| {task} | {encoder} | {seed} | {seconds:.1f} | {' | '.join(cells)} |", flush=True)
    print("\nMean ARI over seeds (runs with ARI = 1):")
    for (task, encoder, name), values in summary.items():
        perfect = sum(value > 1 - 1e-9 for value in values)
        print(f"  {task:8s} {encoder:13s} {name:18s} {np.mean(values):.3f} ({perfect}/{len(values)})")


if __name__ == "__main__":
    main()
