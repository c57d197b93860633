"""``check_partitioner``: the checks every partitioner must pass, for users' own partitioners too.

In the spirit of scikit-learn's ``check_estimator``::

    from seps.testing import check_partitioner
    check_partitioner(MyPartitioner(n_groups=3))   # raises PartitionerCheckError naming the fault

A partitioner has ``fit(embeddings, seed=0) -> Partition`` (see ``seps.clustering.base``).
The checks use small synthetic embeddings (three well-separated groups of agents) and
verify: the return type, one label per agent, canonical numbering, finite integer-keyed
``scores``, a ``method`` name, that plain arrays (optional: the pipeline passes ``Embeddings``
records) give the record's answer when accepted, determinism for a fixed seed, that the input
is not modified, that N = 2 and N = 1 are handled (a valid partition or a seps ``ConfigError``), and that NaN embeddings
are refused with a seps error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from seps.errors import ConfigError, SepsError
from seps.records import Embeddings, Partition, canonical_labels
from seps.registry import PARTITIONERS, resolve


class PartitionerCheckError(SepsError, AssertionError):
    """A partitioner failed one of the checks of :func:`check_partitioner`."""


def planted_embeddings(sizes: tuple[int, ...] = (4, 3, 5), dim: int = 4, seed: int = 0) -> np.ndarray:
    """Well-separated groups of agents: group g sits at 10 * e_g plus N(0, 0.1^2) noise, agents interleaved."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    order = rng.permutation(len(groups))
    centres = 10.0 * np.eye(len(sizes), max(dim, len(sizes)))
    return centres[groups[order]] + 0.1 * rng.standard_normal((len(groups), centres.shape[1]))


def check_partitioner(partitioner: Any, embeddings: Embeddings | np.ndarray | None = None, *, seed: int = 0) -> None:
    """Run every check on ``partitioner`` (instance, class, registered name or 'module:Class').

    ``embeddings`` replaces the synthetic (N, m) data of the main checks, e.g. for a
    partitioner that only works for one N. Raises :class:`PartitionerCheckError` on the
    first failure; returns None when all pass.
    """
    instance = resolve(PARTITIONERS, partitioner)
    name = type(instance).__name__
    if not callable(getattr(instance, "fit", None)):
        raise PartitionerCheckError(f"{name} has no fit method; define fit(embeddings, seed=0) -> Partition")
    if isinstance(embeddings, Embeddings):
        embeddings = embeddings.means
    means = planted_embeddings() if embeddings is None else np.array(embeddings, dtype=np.float32)
    original = means.copy()

    record = _input_kind(instance, means, seed)

    first = _fit(instance, name, record(means), seed)
    _check_partition(first, name, len(means))
    if not np.array_equal(means, original):
        raise PartitionerCheckError(f"{name}.fit modified its input embeddings; work on a copy")
    again = _fit(instance, name, record(means.copy()), seed)
    if not np.array_equal(first.labels, again.labels) or dict(first.scores) != dict(again.scores):
        raise PartitionerCheckError(
            f"{name}.fit is not deterministic: seed {seed} gave labels {first.labels.tolist()} and then "
            f"{again.labels.tolist()}; derive all randomness from the seed argument"
        )
    other: Any = np.asarray if record is _record else _record
    try:  # the pipeline passes records; a partitioner may take plain arrays too, and then they must agree
        second = instance.fit(other(means.copy()), seed=seed)
    except Exception:  # e.g. AttributeError: it reads embeddings.means
        second = None
    if isinstance(second, Partition) and not np.array_equal(first.labels, second.labels):
        raise PartitionerCheckError(
            f"{name}.fit gave different labels for an Embeddings record than for its means array "
            f"({first.labels.tolist()} vs {second.labels.tolist()}); read embeddings.means when given an Embeddings"
        )
    _check_partition(_fit(instance, name, record(means), seed + 1), name, len(means))

    for n_agents in (2, 1):
        _check_small(instance, name, record, means[:n_agents].copy(), seed)

    broken = means.copy()
    broken[0, 0] = np.nan
    try:
        instance.fit(record(broken), seed=seed)
    except SepsError:
        pass
    except Exception as error:
        raise PartitionerCheckError(
            f"{name}.fit raised {type(error).__name__} ({error}) on NaN embeddings; raise a seps ConfigError "
            "(seps.clustering.base.as_means does the input checks)"
        ) from None
    else:
        raise PartitionerCheckError(f"{name}.fit accepted NaN embeddings; reject them with a seps ConfigError")


def _record(array: np.ndarray) -> Embeddings:
    return Embeddings(means=array, encoder="check")


def _input_kind(instance: Any, means: np.ndarray, seed: int) -> Callable[[np.ndarray], Any]:
    """What the checks pass: an Embeddings record (as the pipeline does), or a plain array if only that works."""
    for kind in (_record, np.asarray):
        try:
            instance.fit(kind(means.copy()), seed=seed)
        except Exception:  # the record's failure is reported by the first real check
            continue
        return kind
    return _record


def _fit(instance: Any, name: str, embeddings: Any, seed: int) -> Partition:
    fit: Callable[..., Any] = instance.fit
    try:
        result = fit(embeddings, seed=seed)
    except TypeError as error:
        raise PartitionerCheckError(
            f"{name}.fit(embeddings, seed=...) failed: {error}; the signature must be fit(embeddings, seed=0)"
        ) from None
    except (SepsError, PartitionerCheckError):
        raise
    except Exception as error:
        given = (
            f"an Embeddings record of {embeddings.n_agents}" if isinstance(embeddings, Embeddings) else len(embeddings)
        )
        raise PartitionerCheckError(
            f"{name}.fit raised {type(error).__name__} ({error}) on {given} agents; "
            "read the (N, m) array as seps.clustering.base.as_means(embeddings) does"
        ) from None
    if not isinstance(result, Partition):
        raise PartitionerCheckError(
            f"{name}.fit returned {type(result).__name__}, not a seps.records.Partition; return Partition(labels=...)"
        )
    return result


def _check_small(instance: Any, name: str, kind: Callable[[np.ndarray], Any], means: np.ndarray, seed: int) -> None:
    n_agents = len(means)
    try:
        partition = _fit(instance, name, kind(means), seed)
    except ConfigError:
        return  # refusing an N it cannot handle, with a clear seps error, is allowed
    except PartitionerCheckError:
        raise
    except Exception as error:
        raise PartitionerCheckError(
            f"{name}.fit failed on N={n_agents} agents with {type(error).__name__}: {error}; "
            "return a partition (K = 1 or K = N) or raise a seps ConfigError"
        ) from None
    _check_partition(partition, name, n_agents)


def _check_partition(partition: Partition, name: str, n_agents: int) -> None:
    labels = np.asarray(partition.labels)
    if labels.shape != (n_agents,):
        raise PartitionerCheckError(
            f"{name}.fit returned labels of shape {labels.shape} for {n_agents} agents; return one label per agent"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise PartitionerCheckError(f"{name}.fit returned labels of dtype {labels.dtype}; labels must be integers")
    if not np.array_equal(labels, canonical_labels(labels)):
        raise PartitionerCheckError(
            f"{name}.fit returned non-canonical labels {labels.tolist()}; number groups 0..K-1 by their lowest "
            "agent id (Partition's converter does this: do not bypass it)"
        )
    if not 1 <= partition.k <= n_agents:
        raise PartitionerCheckError(f"{name}.fit returned K = {partition.k} for {n_agents} agents")
    if not isinstance(partition.scores, Mapping):
        raise PartitionerCheckError(f"{name}.fit returned scores of type {type(partition.scores).__name__}; use a dict")
    for k, score in partition.scores.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_agents:
            raise PartitionerCheckError(f"{name}.fit returned a score for K = {k!r}; keys must be ints in 1..N")
        if not isinstance(score, (int, float, np.number)) or not math.isfinite(float(score)):
            raise PartitionerCheckError(f"{name}.fit returned score {score!r} for K = {k}; scores must be finite")
    if not isinstance(partition.method, str) or not partition.method:
        raise PartitionerCheckError(f"{name}.fit returned method {partition.method!r}; name the partitioner")
