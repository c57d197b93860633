"""HDBSCAN partitioner (Campello et al., 2013; McInnes et al., 2017): density-based, finds K itself.

Needs the ``hdbscan`` package, imported only when ``fit`` runs. Agents HDBSCAN calls noise
(label -1) each become a group of their own: an agent unlike every other gets its own
parameters rather than being forced into a group.

Defaults, chosen to work from 10 to 200 agents (checked on planted Gaussian blobs of sizes
5-5-5, 2-2-2-15-9, 2-2, 2-2-2-2-2 and 4 x 50, all recovered exactly):

* ``min_cluster_size=2``: a type with two agents is a group (the smallest that shares).
* ``min_samples=1``: the core distance is then 0 and the hierarchy is single linkage on the
  raw distances. With ``min_samples=2`` a pair's core distance equals its own gap, so
  two-agent types dissolve into noise (2-2 blobs gave an ARI of -0.29 in our check).
* ``cluster_selection_method="eom"``: keeps the most persistent clusters; ``"leaf"``
  shatters large types (4 x 50 blobs gave 125 groups).
* ``allow_single_cluster=True``: a single-type environment may come out as one group.

HDBSCAN still splits one unstructured cloud into several small groups, so the single-type
rule of :mod:`seps.clustering.single_type` (near-identical codes, the held-out swap test, or
the Gaussian null) then decides whether the split stands or K = 1. ``scores`` holds ``{K: DBCV}``,
hdbscan's relative density-based validity of the result, when it is defined.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Literal

import attrs
import numpy as np

from seps.clustering.base import as_means
from seps.clustering.single_type import REFINE_MODES, SingleTypeRule
from seps.errors import MissingDependencyError
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS
from seps.validators import at_least, non_negative

logger = logging.getLogger(__name__)


@PARTITIONERS.register("hdbscan")
@attrs.frozen(kw_only=True)
class HDBSCANPartitioner(SingleTypeRule):
    """HDBSCAN clustering; noise agents become singleton groups."""

    min_cluster_size: int = attrs.field(default=2, validator=at_least(2))
    """Smallest group HDBSCAN reports."""
    min_samples: int = attrs.field(default=1, validator=at_least(1))
    """Neighbours in the core distance; 1 = single linkage, which keeps two-agent types together."""
    cluster_selection_method: Literal["eom", "leaf"] = attrs.field(
        default="eom", validator=attrs.validators.in_(("eom", "leaf"))
    )
    """'eom' (excess of mass, keeps persistent clusters) or 'leaf' (finest clusters)."""
    allow_single_cluster: bool = True
    """Let HDBSCAN answer with one group."""
    refine: str = attrs.field(default="merge", validator=attrs.validators.in_(REFINE_MODES))
    """HDBSCAN splits dense types into sub-groups; merging groups whose codes swap at no held-out cost
    fixes most of them (see :mod:`seps.clustering.single_type`)."""
    pair_tolerance: float = attrs.field(default=0.10, validator=non_negative)
    """Merging joins groups whose codes swap for less than this (HDBSCAN splits dense types into sub-groups that
    swap for up to ~0.1; k-means needs the finer 0.005 of :class:`SingleTypeRule`)."""
    k_max: int = attrs.field(default=10, validator=at_least(2))
    """Largest K the Gaussian-null part of the single-type rule tries; HDBSCAN's own K is not capped."""

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Cluster with HDBSCAN (deterministic; ``seed`` drives only the single-type test)."""
        try:
            import hdbscan
        except ImportError:
            raise MissingDependencyError(
                "the 'hdbscan' partitioner needs the hdbscan package: pip install hdbscan"
            ) from None
        means = as_means(embeddings)
        n_agents = len(means)
        if self.identical(means):
            return Partition(labels=np.zeros(n_agents, dtype=np.int64), method="hdbscan")
        if n_agents == 2:
            return Partition(labels=self.settle(embeddings, means, np.arange(2), self.k_max, seed), method="hdbscan")
        clusterer = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            cluster_selection_method=self.cluster_selection_method,
            allow_single_cluster=self.allow_single_cluster,
            gen_min_span_tree=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # DBCV divides by zero on duplicate points
            clusterer.fit(means)
            labels = np.asarray(clusterer.labels_, dtype=np.int64).copy()
            noise = labels < 0
            labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
            validity = float(clusterer.relative_validity_) if labels.max() > 0 else math.nan
        labels = self.settle(embeddings, means, labels, self.k_max, seed)
        k = int(labels.max()) + 1
        return Partition(labels=labels, scores={k: validity} if math.isfinite(validity) else {}, method="hdbscan")
