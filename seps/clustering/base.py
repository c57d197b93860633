"""What every partitioner shares: the interface, input checks, and the single-type rule.

A partitioner is a frozen attrs config with one method,
``fit(embeddings, seed=0) -> Partition``: pure (it keeps no state and does not modify its
input) and deterministic (same embeddings and seed give the same labels).

Embeddings are used as given, without standardisation: the paper runs k-means on the raw
encoder means, and per-dimension scaling would blow up latent dimensions the VAE leaves
unused (their spread is ~0 and pure noise).

**When is K = 1?** K-selection scores exist only for 2 <= K <= N-1, so the adaptive partitioners
find their best split and then apply the single-type rule of :mod:`seps.clustering.single_type`
(near-identical codes; the held-out code-swap test; a Gaussian null for plain arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from seps.errors import ConfigError
from seps.records import Embeddings, Partition
from seps.validators import at_least, non_negative  # noqa: F401  (re-exported: user partitioners import them here)

_MIN_AGENTS_FOR_NULL_TEST = 4
"""With three agents a Gaussian null sample often has a closer pair than the real one: too few to test."""


@runtime_checkable
class Partitioner(Protocol):
    """Stage 3: map agent embeddings to a partition of the agents into parameter groups."""

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Return the partition of the ``N`` agents whose embeddings are given."""
        ...


# A partitioner may also define ``check_agents(n_agents) -> None``, raising ConfigError for options that
# cannot fit that many agents; the pipeline calls it once the env is built, before collecting any data.
# ``chooses_k = False`` (a class attribute) says it returns the K it was given (``kmeans``, ``fixed``): the
# report then plots its cells as points of return against K. Partitioners without it choose K themselves.


def as_means(embeddings: Embeddings | np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Validate embeddings and return them as a float64 ``(N, m)`` array (a copy-free view when possible)."""
    raw = embeddings.means if isinstance(embeddings, Embeddings) else embeddings
    try:
        means = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"embeddings must be a numeric (N, m) array: {error}") from None
    if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] < 1:
        raise ConfigError(
            f"embeddings must be an (N, m) array with N >= 1 agents and m >= 1 features, got shape {means.shape}; "
            "reshape 1-D features with x[:, None]"
        )
    if not np.isfinite(means).all():
        bad = np.flatnonzero(~np.isfinite(means).all(axis=1)).tolist()
        raise ConfigError(f"embeddings of agents {bad} contain NaN or inf; check the encoder's training loss")
    return means


def near_identical(means: np.ndarray, rtol: float, atol: float) -> bool:
    """Rule 1: the RMS distance to the centroid is at most ``atol + rtol * RMS norm``."""
    spread = np.sqrt(np.mean(np.sum((means - means.mean(axis=0)) ** 2, axis=1)))
    scale = np.sqrt(np.mean(np.sum(means**2, axis=1)))
    return bool(spread <= atol + rtol * scale)


def n_distinct(means: np.ndarray) -> int:
    """Number of distinct rows: k-means cannot make more non-empty groups than this."""
    return int(np.unique(means, axis=0).shape[0])


def candidate_ks(n_agents: int, k_max: int, distinct: int) -> list[int]:
    """The K the scores are defined for: 2 .. min(k_max, N-1, distinct rows)."""
    return list(range(2, min(k_max, n_agents - 1, distinct) + 1))


def structure_ks(n_agents: int, k_max: int, distinct: int) -> list[int]:
    """The K rule 2 tests: 2 .. min(k_max, N // 2, distinct rows); none below 4 agents (rule 2 is then off)."""
    if n_agents < _MIN_AGENTS_FOR_NULL_TEST:
        return []
    return candidate_ks(n_agents, min(k_max, n_agents // 2), distinct)


def kmeans_labels(means: np.ndarray, k: int, seed: int, n_init: int) -> np.ndarray:
    """Seeded scikit-learn k-means; returns int64 labels."""
    from sklearn.cluster import KMeans

    # A few hundred points at most: OpenMP start-up costs more than the work (about 20x on 2 cores).
    with threadpool_limits(limits=1):
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(means)
    return np.asarray(model.labels_, dtype=np.int64)
