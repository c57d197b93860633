"""k-means partitioners (paper Section 3.2): a given K, or K chosen by Davies–Bouldin or silhouette.

* ``kmeans``: k-means with the K you give (1 <= K <= N).
* ``kmeans_db``: K = argmin of the Davies–Bouldin index (Davies & Bouldin, 1979) over
  2 .. min(k_max, N-1) — the selection the paper tested on C-RWARE (Section 4.6).
* ``kmeans_silhouette``: K = argmax of the silhouette (Rousseeuw, 1987) over the same range.

Both indices are defined by scikit-learn only for 2 <= K <= N-1 (``davies_bouldin_score``
and ``silhouette_score`` raise "Valid values are 2 to n_samples - 1" otherwise). The range
is also capped at the number of distinct embeddings, since k-means cannot make more
non-empty groups than that. K = 1 is returned by the single-type rule described in
:mod:`seps.clustering.single_type`; K = N is only available from ``fixed`` (NoPS). Ties go to the
smaller K.

Known limitation of Davies–Bouldin: a one-agent group has zero scatter, which lowers the
index, so with types of only two agents ``kmeans_db`` tends to split pairs (five planted
pairs: K = 9 in 20 of 20 seeds, while ``kmeans_silhouette`` and ``hdbscan`` found K = 5).
That errs on the cheap side (more groups), but prefer the silhouette for such envs.
``kmeans_db`` therefore (a) tries K only up to max(2, N // 2), so groups average at least
two agents (on crware-1, N = 4, K = 3 beat the true K = 2; on lbf-12ag-3lvl the index was
0.1437 at the true K = 3 and 0.1405 at K = 10, mostly singletons), and (b) takes the
*smallest* K whose index is within ``tolerance`` (5 %) of the lowest. ``tolerance=0`` gives
the plain argmin over that range.

Every k-means run is scikit-learn's ``KMeans`` with ``n_init`` restarts and
``random_state=seed``, so results are reproducible. Embeddings are clustered as given
(raw encoder means, as in the paper).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, cast

import attrs
import numpy as np

from seps.clustering.base import as_means, candidate_ks, kmeans_labels, n_distinct
from seps.clustering.single_type import SingleTypeRule
from seps.errors import ConfigError
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS
from seps.validators import at_least, non_negative

logger = logging.getLogger(__name__)


def _required_k(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        raise ConfigError(
            "kmeans needs 'k', the number of groups (e.g. k=3); use 'kmeans_db' to choose K from the data"
        )
    at_least(1)(instance, attribute, value)


@PARTITIONERS.register("kmeans")
@attrs.frozen(kw_only=True)
class KMeansPartitioner:
    """k-means with a given number of groups K."""

    chooses_k: ClassVar[bool] = False

    k: int | None = attrs.field(default=None, validator=_required_k)
    """Number of groups, 1 <= k <= N; required (the paper sets it per environment, e.g. 3 on C-RWARE)."""
    n_init: int = attrs.field(default=10, validator=at_least(1))
    """k-means restarts with different centroid seeds; the best (lowest inertia) is kept."""

    def check_agents(self, n_agents: int) -> None:
        """Refuse a ``k`` above the number of agents (called by the pipeline before any stage runs)."""
        if cast(int, self.k) > n_agents:
            raise ConfigError(
                f"kmeans: 'k' must be between 1 and the number of agents ({n_agents}), got {self.k}; "
                "lower k or use a K-selecting partitioner such as 'kmeans_db'"
            )

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Cluster the N agents' embeddings into ``k`` groups."""
        means = as_means(embeddings)
        self.check_agents(len(means))
        k = cast(int, self.k)  # the validator refuses None
        distinct = n_distinct(means)
        if k > distinct:
            logger.warning("kmeans: only %d distinct embeddings for k=%d; some groups merge", distinct, k)
            labels = np.unique(means, axis=0, return_inverse=True)[1].reshape(-1)
        else:
            labels = kmeans_labels(means, k, seed, self.n_init)
        return Partition(labels=labels, method="kmeans")


@attrs.frozen(kw_only=True)
class _KSelectingKMeans(SingleTypeRule):
    """k-means for every K in 2 .. min(k_max, N-1), keeping the K with the best score."""

    k_max: int = attrs.field(default=10, validator=at_least(2))
    """Largest K tried (the range is also capped at N-1)."""
    tolerance: float = attrs.field(default=0.0, validator=non_negative)
    """Parsimony: take the smallest K whose score is within this fraction of the best score (0: the best K)."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    chooses_k: ClassVar[bool] = True

    def score(self, means: np.ndarray, labels: np.ndarray) -> float:
        """The selection index of one clustering (2 <= K <= N-1)."""
        raise NotImplementedError

    def k_cap(self, n_agents: int) -> int:
        """Largest K tried for ``n_agents`` agents (further capped at N-1 and the distinct embeddings)."""
        return self.k_max

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Choose K and cluster; see the module docstring for the rule."""
        means = as_means(embeddings)
        n_agents = len(means)
        if self.identical(means):
            return Partition(labels=np.zeros(n_agents, dtype=np.int64), method=self.name)
        if n_agents == 2:  # no score exists: the split is {0}, {1}, kept only if the single-type rule agrees
            labels, scores = np.arange(2, dtype=np.int64), {}
        else:
            candidates = {
                k: kmeans_labels(means, k, seed, self.n_init)
                for k in candidate_ks(n_agents, self.k_cap(n_agents), n_distinct(means))
            }
            scores = {k: self.score(means, labels) for k, labels in candidates.items()}
            # Only partitions whose groups the held-out swaps tell apart compete (all of them without swaps).
            allowed = self.separable(embeddings, candidates)
            if not allowed:
                logger.info("%s: no K splits the agents into groups whose codes differ; K = 1", self.name)
                return Partition(labels=np.zeros(n_agents, dtype=np.int64), scores=scores, method=self.name)
            sign = -1.0 if self.higher_is_better else 1.0
            best = min(allowed, key=lambda k: (sign * scores[k], k))
            slack = self.tolerance * abs(scores[best])
            labels = candidates[min(k for k in allowed if sign * scores[k] <= sign * scores[best] + slack)]
        settled = self.settle(embeddings, means, labels, self.k_max, seed)
        if settled.max() == 0:
            logger.info("%s: the single-type rule holds; K = 1 (scores %s)", self.name, scores)
        return Partition(labels=settled, scores=scores, method=self.name)


@PARTITIONERS.register("kmeans_db")
@attrs.frozen(kw_only=True)
class KMeansDaviesBouldin(_KSelectingKMeans):
    """k-means with K = argmin Davies–Bouldin index (lower = more compact, better separated groups)."""

    tolerance: float = attrs.field(default=0.05, validator=non_negative)
    """Parsimony: the smallest K whose index is within 5 % of the lowest (offsets Davies–Bouldin's singleton bias)."""

    name: ClassVar[str] = "kmeans_db"
    higher_is_better: ClassVar[bool] = False

    def k_cap(self, n_agents: int) -> int:
        # Above N/2 groups most groups are singletons, whose zero scatter Davies-Bouldin rewards.
        return min(self.k_max, max(2, n_agents // 2))

    def score(self, means: np.ndarray, labels: np.ndarray) -> float:
        from sklearn.metrics import davies_bouldin_score

        return float(davies_bouldin_score(means, labels))


@PARTITIONERS.register("kmeans_silhouette")
@attrs.frozen(kw_only=True)
class KMeansSilhouette(_KSelectingKMeans):
    """k-means with K = argmax mean silhouette coefficient (in [-1, 1], higher is better)."""

    name: ClassVar[str] = "kmeans_silhouette"
    higher_is_better: ClassVar[bool] = True

    def score(self, means: np.ndarray, labels: np.ndarray) -> float:
        from sklearn.metrics import silhouette_score

        return float(silhouette_score(means, labels))
