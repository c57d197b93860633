"""Margins of the held-out swap test on a partition sweep's cached encodings (no encoding, no training).

For every cache entry of ``<sweep>/cache``: the encoder's updates and, when the env has true types, the
weakest separation and the swap gain of the true partition; for one-type envs the largest swap gain of a
k-means split with K = 2..4 (what a partitioner would have to refuse). These are the numbers behind the
tolerances of docs/partitioning.md.

    seps sweep examples/partition_acceptance.yaml --out sweeps/partition_acceptance --workers 2
    python benchmarks/swap_margins.py sweeps/partition_acceptance
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sklearn.cluster import KMeans

from seps.clustering.single_type import swap_gain, weakest_separation


def margins(meta_path: Path) -> dict[str, object]:
    """The row of one cache entry."""
    meta = json.loads(meta_path.read_text())
    with np.load(meta_path.with_suffix(".npz")) as data:
        means, swaps = data["means"], data["swap_losses"]
        types = data["agent_types"] if "agent_types" in data.files else None
    key = meta["key"]
    row: dict[str, object] = {"env": key["env"]["name"], "seed": key["seed"], "updates": meta["updates"]}
    if types is not None and len(np.unique(types)) > 1:
        labels = np.unique(types, return_inverse=True)[1]
        row["true separation"] = weakest_separation(swaps, labels)
        row["true gain"] = swap_gain(swaps, labels)
    else:
        splits = [KMeans(k, n_init=10, random_state=0).fit_predict(means) for k in range(2, min(5, len(means)))]
        row["wrong-split gain"] = max(swap_gain(swaps, labels) for labels in splits)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="a partition sweep directory (its cache/ is read)")
    args = parser.parse_args()
    entries = sorted((args.sweep / "cache").glob("*.json"))
    if not entries:
        raise SystemExit(f"no cached encodings in {args.sweep / 'cache'}: run the partition sweep first")
    rows = sorted((margins(path) for path in entries), key=lambda row: (str(row["env"]), int(row["seed"])))  # type: ignore[call-overload]
    print(f"{'env':40s} {'seed':>4s} {'updates':>7s} {'true sep':>9s} {'true gain':>9s} {'wrong gain':>10s}")
    for row in rows:
        cells = [row.get(key) for key in ("true separation", "true gain", "wrong-split gain")]
        shown = [f"{value:9.3f}" if isinstance(value, float) else f"{'':9s}" for value in cells]
        print(f"{row['env']!s:40s} {row['seed']!s:>4s} {row['updates']!s:>7s} {shown[0]} {shown[1]} {shown[2]:>10s}")


if __name__ == "__main__":
    main()
