"""The "no structure" test behind the single-type rule (rule 2 in :mod:`seps.clustering.base`).

For each K tested, k-means is run on the embeddings and on ``null_draws`` samples from a
Gaussian with the embeddings' mean and covariance (same N, same principal axes). The
embeddings show structure if, for some K, the share of their total sum of squares left
within the groups is below that of *every* null sample — a one-sided rank test at level
1/(null_draws+1) per K, in the spirit of the gap statistic (Tibshirani, Walther & Hastie,
2001). All the k-means runs of one K go through one batched numpy Lloyd loop (k-means++
starts, ``n_init`` per data set), so the embeddings and their nulls are fitted alike.
"""

from __future__ import annotations

import numpy as np

_MAX_ITER = 30


def _kmeans_plus_plus(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ starting centres for a batch of data sets: (R, N, m) -> (R, k, m)."""
    runs, n_points, _ = data.shape
    rows = np.arange(runs)
    first = rng.integers(n_points, size=runs)
    centres = [data[rows, first]]
    nearest = np.sum((data - centres[0][:, None, :]) ** 2, axis=2)
    for _ in range(1, k):
        total = nearest.sum(axis=1, keepdims=True)
        weights = np.where(total > 0, nearest / np.where(total > 0, total, 1.0), 1.0 / n_points)
        draw = rng.random((runs, 1))
        index = np.minimum((np.cumsum(weights, axis=1) < draw).sum(axis=1), n_points - 1)
        centres.append(data[rows, index])
        nearest = np.minimum(nearest, np.sum((data - centres[-1][:, None, :]) ** 2, axis=2))
    return np.stack(centres, axis=1)


def within_shares(data: np.ndarray, k: int, rng: np.random.Generator, n_init: int) -> np.ndarray:
    """Best-of-``n_init`` k-means within-group share of the total sum of squares, per data set: (D, N, m) -> (D,)."""
    sets, n_points, _ = data.shape
    runs = np.repeat(data, n_init, axis=0)
    centres = _kmeans_plus_plus(runs, k, rng)
    squared_norms = np.sum(runs**2, axis=2)
    labels = np.full((len(runs), n_points), -1)
    for _ in range(_MAX_ITER):
        distances = (
            squared_norms[:, :, None] - 2 * runs @ centres.transpose(0, 2, 1) + np.sum(centres**2, axis=2)[:, None]
        )
        new_labels = distances.argmin(axis=2)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        one_hot = (labels[:, :, None] == np.arange(k)).astype(runs.dtype)
        counts = one_hot.sum(axis=1)
        sums = one_hot.transpose(0, 2, 1) @ runs
        centres = np.where(counts[:, :, None] > 0, sums / np.maximum(counts, 1)[:, :, None], centres)
    assigned = np.take_along_axis(centres, labels[:, :, None], axis=1)
    inertia = np.sum((runs - assigned) ** 2, axis=(1, 2)).reshape(sets, n_init).min(axis=1)
    total = np.sum((data - data.mean(axis=1, keepdims=True)) ** 2, axis=(1, 2))
    return np.where(total > 0, inertia / np.where(total > 0, total, 1.0), 1.0)


def has_structure(means: np.ndarray, ks: list[int], seed: int, null_draws: int, n_init: int) -> bool:
    """True if for some K in ``ks`` k-means fits ``means`` more tightly than every Gaussian null sample."""
    if null_draws == 0 or not ks:
        return True
    rng = np.random.default_rng(seed)
    n_points = len(means)
    centred = means - means.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    scale = singular / np.sqrt(n_points - 1)
    nulls = (rng.standard_normal((null_draws, n_points, len(scale))) * scale) @ axes + means.mean(axis=0)
    data = np.concatenate([means[None], nulls])
    for k in ks:
        shares = within_shares(data, k, rng, n_init)
        if shares[0] < shares[1:].min():
            return True
    return False
