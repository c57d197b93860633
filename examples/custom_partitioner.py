"""A partitioner written outside seps: agglomerative (Ward) clustering, with K chosen by the silhouette.

Registering it takes one decorator; a sweep file then uses it by name after importing this
module, or by its import path without registering at all::

    # examples/custom_partitioner.yaml
    imports: [examples.custom_partitioner]
    partitioners: [agglomerative, {name: agglomerative, k: 3}, "examples.custom_partitioner:Agglomerative"]

Check it the way seps checks its own::

    python -c "from seps.testing import check_partitioner; \
from examples.custom_partitioner import Agglomerative; check_partitioner(Agglomerative())"
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import silhouette_score

from seps.errors import ConfigError
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS


def _k_or_none(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"'{attribute.name}' must be an integer >= 1 or unset: {value!r}")


@PARTITIONERS.register("agglomerative")
@attrs.frozen(kw_only=True)
class Agglomerative:
    """Ward-linkage agglomerative clustering of the agents' encoder means."""

    k: int | None = attrs.field(default=None, validator=_k_or_none)
    """Number of groups; unset: the K in 2 .. min(k_max, N-1) with the best silhouette."""
    k_max: int = attrs.field(default=10, validator=attrs.validators.ge(2))
    """Largest K tried when choosing K."""

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Cluster the N agents; deterministic, so ``seed`` is unused."""
        means = np.asarray(embeddings.means if isinstance(embeddings, Embeddings) else embeddings, dtype=np.float64)
        if means.ndim != 2 or not np.isfinite(means).all():
            raise ConfigError("agglomerative: embeddings must be a finite (N, m) array")
        n_agents = len(means)
        if self.k is not None:
            if self.k > n_agents:
                raise ConfigError(f"agglomerative: 'k' must be <= the number of agents ({n_agents}), got {self.k}")
            return Partition(labels=self._labels(means, self.k), method="agglomerative")
        distinct = len(np.unique(means, axis=0))
        candidates = range(2, min(self.k_max, n_agents - 1, distinct) + 1)
        if not candidates:  # too few agents (or identical embeddings) for a silhouette: one group
            return Partition(labels=np.zeros(n_agents, dtype=np.int64), method="agglomerative")
        scores = {k: float(silhouette_score(means, self._labels(means, k))) for k in candidates}
        best = max(scores, key=lambda k: (scores[k], -k))  # ties go to the smaller K
        return Partition(labels=self._labels(means, best), scores=scores, method="agglomerative")

    @staticmethod
    def _labels(means: np.ndarray, k: int) -> np.ndarray:
        if k == 1:
            return np.zeros(len(means), dtype=np.int64)
        return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(means).astype(np.int64)
