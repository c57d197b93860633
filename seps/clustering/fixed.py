"""A partition that does not look at the embeddings: FuPS, NoPS, or labels you give.

* ``Fixed(k=1)`` (the default): every agent in one group — full parameter sharing (FuPS).
* ``Fixed(k="all")``: every agent its own group, K = N, without knowing N — no parameter
  sharing (NoPS). An integer ``k`` equal to N means the same.
* ``Fixed(labels=(0, 0, 1, 1, 1))``: exactly this grouping (renumbered canonically).

Other values of K need a rule for *which* agents share; give that rule as ``labels``.
``k`` and ``labels`` are exclusive. Everything that depends on N is checked in ``fit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np

from seps.clustering.base import as_means
from seps.errors import ConfigError
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS


def _labels_tuple(value: Sequence[int] | np.ndarray | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(f"'labels' must be a non-empty sequence of integers, one per agent: {value!r}")
    return tuple(int(v) for v in array)


def _check_k(instance: Any, attribute: Any, value: Any) -> None:
    if value is None or value == "all":
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"'k' must be 1 (FuPS), 'all' (NoPS) or the number of agents: {value!r}")


@PARTITIONERS.register("fixed")
@attrs.frozen(kw_only=True)
class Fixed:
    """A fixed partition: one group (FuPS), one group per agent (NoPS), or explicit labels."""

    chooses_k: ClassVar[bool] = False

    k: int | Literal["all"] | None = attrs.field(default=None, validator=_check_k)
    """1 = FuPS, 'all' (or N) = NoPS; unset with ``labels``, and 1 when both are unset."""
    labels: tuple[int, ...] | None = attrs.field(default=None, converter=_labels_tuple)
    """Group of each agent, any integers (renumbered canonically); length must be N."""

    def __attrs_post_init__(self) -> None:
        if self.k is not None and self.labels is not None:
            raise ConfigError(f"give 'k' or 'labels', not both: k={self.k!r}, labels={self.labels!r}")

    def check_agents(self, n_agents: int) -> None:
        """Refuse labels or a ``k`` that do not fit ``n_agents`` (called before any stage runs)."""
        if self.labels is not None and len(self.labels) != n_agents:
            raise ConfigError(
                f"fixed: 'labels' has {len(self.labels)} entries but there are {n_agents} agents; give one per agent"
            )
        if self.labels is None and self.k not in (None, 1, "all", n_agents):
            raise ConfigError(
                f"fixed: 'k' must be 1 (FuPS), 'all' or {n_agents} (NoPS), got {self.k}; "
                "for other groupings pass labels=..., or use 'kmeans' with k"
            )

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        """Return the fixed partition for the N agents (the embeddings' values are not used)."""
        return self.fit_agents(len(as_means(embeddings)), seed)

    def fit_agents(self, n_agents: int, seed: int = 0) -> Partition:
        """The partition of ``n_agents`` agents without any data: a run with this partitioner trains no encoder."""
        self.check_agents(n_agents)
        if self.labels is not None:
            return Partition(labels=np.asarray(self.labels, dtype=np.int64), method="fixed")
        if self.k is None or self.k == 1:
            return Partition(labels=np.zeros(n_agents, dtype=np.int64), method="fixed")
        return Partition(labels=np.arange(n_agents, dtype=np.int64), method="fixed")
