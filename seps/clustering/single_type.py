"""When is K = 1? The single-type rule every K-selecting partitioner applies to the partition it found.

K-selection scores (Davies–Bouldin, silhouette) exist only for 2 <= K <= N-1 and HDBSCAN prefers to
find some split, so a partitioner first finds its best split and then asks whether the agents are
really of more than one type. In order:

1. **Near-identical codes** (any N): their RMS distance to their centroid is at most
   ``atol + rtol * RMS norm``: one type.
2. **Held-out swap test** (embeddings from a seps encoder, any N >= 2): each agent's held-out
   transitions were decoded with its own code and with other agents' codes
   (:mod:`seps.encoders.swap`). The split stands only if decoding with a code from *another* group
   costs more than ``swap_tolerance`` (default 5 % of the own-code loss) beyond decoding with a code
   from the agent's own group (:func:`swap_gain`). This is what tells apart real
   types from the agent-specific codes an encoder also learns for identical agents (it fits each
   agent's own sample: distance- or posterior-based tests call such agents different).
3. **Gaussian null** (plain arrays or encoders without held-out data, N >= 4): for no K in
   2 .. min(k_max, N // 2) does k-means leave a smaller share of the total sum of squares inside its
   groups than in every one of ``null_draws`` Gaussian samples of the embeddings' mean and covariance
   (:mod:`seps.clustering.null`). Below 4 agents this test is off and the split stands.

Measured (vae, seed 0, gain = between-group minus within-group swap excess at the partition found):
true types give 0.31 (crware-1, 2-2) to 319 (bps-h-3); one-type envs give -0.011 to 0.004
(``bps:10``, ``mpe2.simple_spread_v3``, ``Foraging-15x15-9p-4f-v3``). The table over seeds 0-4 is in
docs/partitioning.md.
"""

from __future__ import annotations

import logging
import math

import attrs
import numpy as np

from seps.clustering.base import at_least, near_identical, non_negative, structure_ks
from seps.clustering.null import has_structure
from seps.records import Embeddings

logger = logging.getLogger(__name__)


def swap_excess(losses: np.ndarray) -> np.ndarray:
    """(N, N): extra held-out loss of decoding agent i with j's code, relative to the mean own-code loss.

    0 when j's code serves i as well as its own; NaN where the pair was not evaluated. Relative to the
    mean of the diagonal (one scale for the env) so that one tolerance serves every env.
    """
    own = np.diag(losses)
    scale = float(np.mean(own))
    return (losses - own[:, None]) / (scale if scale > 0 else 1.0)


def swap_gain(losses: np.ndarray, labels: np.ndarray) -> float:
    """How much better agents' own groups predict their held-out transitions than the other groups do.

    Mean swap excess over evaluated pairs in different groups minus the mean over pairs in the same
    group (0 when no group has two agents); ``nan`` for a single group.
    """
    excess = swap_excess(losses)
    labels = np.asarray(labels)
    evaluated = np.isfinite(excess) & ~np.eye(len(labels), dtype=bool)
    same = labels[:, None] == labels[None, :]
    between = excess[evaluated & ~same]
    within = excess[evaluated & same]
    if between.size == 0:
        return float("nan")
    return float(between.mean() - (within.mean() if within.size else 0.0))


@attrs.frozen(kw_only=True)
class SingleTypeRule:
    """The options of the single-type rule, shared by ``kmeans_db``, ``kmeans_silhouette`` and ``hdbscan``."""

    swap_tolerance: float = attrs.field(default=0.05, validator=non_negative)
    """Rule 2: a split stands if other groups' codes cost more than this (fraction of the own-code loss)."""
    null_draws: int = attrs.field(default=10, validator=at_least(0))
    """Rule 3: Gaussian null samples (used without held-out data); 0 turns rule 3 off."""
    n_init: int = attrs.field(default=10, validator=at_least(1))
    """k-means restarts (per K, and in the rule-3 test)."""
    rtol: float = attrs.field(default=1e-3, validator=non_negative)
    """Rule 1: near-identical if the RMS spread <= atol + rtol * RMS norm."""
    atol: float = attrs.field(default=1e-8, validator=non_negative)
    """Absolute part of the near-identical tolerance."""

    def identical(self, means: np.ndarray) -> bool:
        """Rule 1 (and N = 1)."""
        return len(means) == 1 or near_identical(means, self.rtol, self.atol)

    def is_one_type(
        self, embeddings: Embeddings | np.ndarray, means: np.ndarray, labels: np.ndarray, k_max: int, seed: int
    ) -> bool:
        """Rules 2-3 for the split ``labels`` found by the partitioner (rule 1 is checked before any split)."""
        if int(np.max(labels)) == 0:
            return True
        swap = embeddings.swap_losses if isinstance(embeddings, Embeddings) else None
        if swap is not None:
            gain = swap_gain(swap, labels)
            if math.isfinite(gain):
                logger.info("single-type rule: held-out swap gain %.4f (tolerance %.4f)", gain, self.swap_tolerance)
                return gain <= self.swap_tolerance
        tested = structure_ks(len(means), k_max, int(np.unique(means, axis=0).shape[0]))
        return not has_structure(means, tested, seed, self.null_draws, self.n_init)
