"""When is K = 1? The single-type rule every K-selecting partitioner applies to the partition it found.

K-selection scores (Davies–Bouldin, silhouette) exist only for 2 <= K <= N-1 and HDBSCAN prefers to
find some split, so a partitioner first finds its best split and then asks whether the agents are
really of more than one type. In order:

1. **Near-identical codes** (any N): their RMS distance to their centroid is at most
   ``atol + rtol * RMS norm``: one type.
2. **Held-out swap test** (embeddings from a seps encoder, any N >= 2): each agent's held-out
   transitions were decoded with its own code and with other agents' codes
   (:mod:`seps.encoders.swap`). The split stands only if decoding with a code from *another* group
   costs more than ``swap_tolerance`` (default 10 % of the own-code loss) beyond decoding with a code
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
import warnings

import attrs
import numpy as np

from seps.clustering.base import at_least, kmeans_labels, near_identical, non_negative, structure_ks
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


REFINE_MODES = ("off", "merge", "split_merge")

SPLIT_RATIO = 4.0
"""A group is split only if its halves' codes swap at more than this many times the cost within the halves."""


def _evaluated_pairs(losses: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The swap excess, which off-diagonal pairs were evaluated, and which pairs share a group."""
    excess = swap_excess(losses)
    labels = np.asarray(labels)
    evaluated = np.isfinite(excess) & ~np.eye(len(labels), dtype=bool)
    return excess, evaluated, labels[:, None] == labels[None, :]


def _between_within(losses: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean swap excess over evaluated pairs in different groups, and in the same group (0 if none)."""
    excess, evaluated, same = _evaluated_pairs(losses, labels)
    between = excess[evaluated & ~same]
    within = excess[evaluated & same]
    return (float(between.mean()) if between.size else float("nan")), (float(within.mean()) if within.size else 0.0)


def agent_gains(losses: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per agent: mean swap excess with codes from other groups minus the mean with codes from its own
    group (0 for a singleton); agents with no evaluated partner in another group are left out."""
    excess, evaluated, same = _evaluated_pairs(losses, labels)
    gains = []
    for row, evaluated_row, same_row in zip(excess, evaluated, same, strict=True):
        between, within = row[evaluated_row & ~same_row], row[evaluated_row & same_row]
        if between.size:
            gains.append(float(between.mean()) - (float(within.mean()) if within.size else 0.0))
    return np.asarray(gains)


def swap_gain(losses: np.ndarray, labels: np.ndarray) -> float:
    """How much better agents' own groups predict their held-out transitions than the other groups do.

    The mean of :func:`agent_gains` without the largest one, so that a split never rests on one agent's
    held-out sample: on ``Foraging-15x15-9p-4f-v3`` (one type, seed 3) agent 5 alone had a gain of 3.8
    (its held-out steps were poorly predicted by every other code) and the other eight at most 0.015,
    while true types spread over many agents (lbf-12ag-3lvl: half its agents 1.4-17, the rest ~0, since
    only held-out steps with loading attempts reveal a level). For N = 2 this is the smaller of the two.
    ``nan`` for a single group.
    """
    gains = np.sort(agent_gains(losses, labels))
    if gains.size == 0:
        return float("nan")
    return float(gains[:-1].mean()) if gains.size > 1 else float(gains[0])


@attrs.frozen(kw_only=True)
class SingleTypeRule:
    """The options of the single-type rule, shared by ``kmeans_db``, ``kmeans_silhouette`` and ``hdbscan``."""

    swap_tolerance: float = attrs.field(default=0.10, validator=non_negative)
    """Rule 2: a split stands if other groups' codes cost more than this (fraction of the own-code loss)."""
    pair_tolerance: float = attrs.field(default=0.005, validator=non_negative)
    """With held-out swap losses, two groups are told apart only if swapping their codes costs more than this
    (:func:`weakest_separation`): K-selecting partitioners choose among such partitions, and merging joins
    groups that cost less."""
    relative_pair_tolerance: float = attrs.field(default=5e-3, validator=non_negative)
    """... and more than this fraction of the best-separated candidate partition's weakest separation."""
    null_draws: int = attrs.field(default=10, validator=at_least(0))
    """Rule 3: Gaussian null samples (used without held-out data); 0 turns rule 3 off."""
    n_init: int = attrs.field(default=10, validator=at_least(1))
    """k-means restarts (per K, and in the rule-3 test)."""
    rtol: float = attrs.field(default=1e-3, validator=non_negative)
    """Rule 1: near-identical if the RMS spread <= atol + rtol * RMS norm."""
    atol: float = attrs.field(default=1e-8, validator=non_negative)
    """Absolute part of the near-identical tolerance."""
    refine: str = attrs.field(default="off", validator=attrs.validators.in_(REFINE_MODES))
    """With held-out swap losses: 'merge' joins groups whose codes swap at no cost, 'split_merge' also splits
    groups that hold two types (:func:`refine_by_swaps`), 'off' keeps the partitioner's own split (default for
    k-means: merging joined ``simple_world_comm``'s lead adversary to the adversaries; ``hdbscan`` merges)."""

    def identical(self, means: np.ndarray) -> bool:
        """Rule 1 (and N = 1)."""
        return len(means) == 1 or near_identical(means, self.rtol, self.atol)

    def separable(self, embeddings: Embeddings | np.ndarray, candidates: dict[int, np.ndarray]) -> list[int]:
        """The keys of the candidate partitions whose groups the held-out swaps tell apart (all without swaps).

        A partition counts if its :func:`weakest_separation` exceeds ``pair_tolerance`` and
        ``relative_pair_tolerance`` x the best-separated candidate's (on bps-4 with 8,000 encoder updates the
        halves of two-agent types still cost up to 0.12 to swap on 128 held-out steps, while its types cost 43-123;
        0.3 % to 1 % all gave the acceptance table, 0.1 % split a pair on seed 2).
        """
        swap = embeddings.swap_losses if isinstance(embeddings, Embeddings) else None
        if swap is None:
            return list(candidates)
        separation = {key: weakest_separation(swap, labels) for key, labels in candidates.items()}
        finite = [value for value in separation.values() if math.isfinite(value)]
        threshold = max(self.pair_tolerance, self.relative_pair_tolerance * max(finite, default=0.0))
        return [key for key, value in separation.items() if value > threshold]

    def settle(
        self, embeddings: Embeddings | np.ndarray, means: np.ndarray, labels: np.ndarray, k_max: int, seed: int
    ) -> np.ndarray:
        """Rules 2-3 applied to the split ``labels`` a partitioner found; returns the labels to keep.

        With held-out swap losses the split is first refined (:func:`refine_by_swaps`, when ``refine``),
        then kept only if its swap gain exceeds ``swap_tolerance``; without them the Gaussian null decides.
        """
        one_group = np.zeros(len(means), dtype=np.int64)
        if int(np.max(labels)) == 0:
            return one_group
        swap = embeddings.swap_losses if isinstance(embeddings, Embeddings) else None
        if swap is not None:
            if self.refine != "off":
                split = self.refine == "split_merge"
                labels = refine_by_swaps(
                    means, labels, swap, self.swap_tolerance, seed, self.n_init, split=split, merge=self.pair_tolerance
                )
            gain = swap_gain(swap, labels)
            logger.info("single-type rule: held-out swap gain %.4f (tolerance %.4f)", gain, self.swap_tolerance)
            return labels if math.isfinite(gain) and gain > self.swap_tolerance else one_group
        tested = structure_ks(len(means), k_max, int(np.unique(means, axis=0).shape[0]))
        return labels if has_structure(means, tested, seed, self.null_draws, self.n_init) else one_group


def weakest_separation(losses: np.ndarray, labels: np.ndarray) -> float:
    """The smallest swap cost between two groups of ``labels`` (mean excess over their evaluated pairs, both
    directions); ``inf`` for one group. Near 0: some two groups' codes serve each other's agents as well as their
    own, so they are one type split in two (Davies–Bouldin's singleton bias makes such splits)."""
    excess = _pair_excess(losses)
    groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    costs = [_mean_between(excess, a, b) for i, a in enumerate(groups) for b in groups[i + 1 :]]
    finite = [cost for cost in costs if math.isfinite(cost)]
    return min(finite) if finite else math.inf


def _pair_excess(losses: np.ndarray) -> np.ndarray:
    """Symmetric (N, N) swap excess: the mean of both directions where evaluated, NaN where neither was."""
    excess = swap_excess(losses)
    both = np.stack([excess, excess.T])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pairs stay NaN
        return np.nanmean(both, axis=0)


def _mean_between(excess: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    block = excess[np.ix_(first, second)]
    block = block[np.isfinite(block)]
    return float(block.mean()) if block.size else float("nan")


def refine_by_swaps(
    means: np.ndarray,
    labels: np.ndarray,
    losses: np.ndarray,
    tolerance: float,
    seed: int,
    n_init: int,
    split: bool = True,
    merge: float | None = None,
) -> np.ndarray:
    """Make a partition agree with the held-out swaps: split groups that hold two types, merge groups of one.

    Split: a group is split in two by k-means on its codes when the two halves' codes swap at a cost
    above ``tolerance`` (the swap gain of that split, within the group). Merge: then the two groups
    whose codes swap most cheaply are merged while that cost (mean excess over their evaluated pairs,
    both directions) is at most ``merge`` (default ``tolerance``) plus the within-group swap noise.
    Returns canonical int64 labels.
    """
    excess = _pair_excess(losses)
    groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    noise = max(_between_within(losses, labels)[1], 0.0)  # swap cost between agents grouped together
    pending, done = list(groups), []
    while pending:
        group = pending.pop()
        if not split or len(group) < 2 or len(np.unique(means[group], axis=0)) < 2:
            done.append(group)
            continue
        halves = kmeans_labels(means[group], 2, seed, n_init)
        between, within = _between_within(losses[np.ix_(group, group)], halves)
        if math.isfinite(between) and between > tolerance + SPLIT_RATIO * max(within, noise):
            pending += [group[halves == 0], group[halves == 1]]
        else:
            done.append(group)
    while len(done) > 1:
        costs = {
            (a, b): _mean_between(excess, done[a], done[b]) for a in range(len(done)) for b in range(a + 1, len(done))
        }
        finite = {pair: cost for pair, cost in costs.items() if math.isfinite(cost)}
        if not finite:
            break
        (a, b), cost = min(finite.items(), key=lambda item: item[1])
        if cost > (tolerance if merge is None else merge) + SPLIT_RATIO * noise:
            break
        done[a] = np.concatenate([done[a], done[b]])
        del done[b]
    refined = np.empty(len(labels), dtype=np.int64)
    for index, group in enumerate(done):
        refined[group] = index
    return refined
