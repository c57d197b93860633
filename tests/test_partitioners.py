"""Partitioners (stage 3): planted groups are recovered, numbering is canonical, errors are clear."""

from __future__ import annotations

import sys
from typing import Any

import attrs
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import seps.clustering
from seps.clustering import Fixed, HDBSCANPartitioner, KMeansDaviesBouldin, KMeansPartitioner, KMeansSilhouette
from seps.errors import ConfigError, MissingDependencyError, UnknownComponentError
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS, resolve
from seps.testing.partitioner import PartitionerCheckError, check_partitioner

BUILTINS = PARTITIONERS.list()
ADAPTIVE = [name for name in BUILTINS if name not in ("fixed", "kmeans")]


def planted(sizes: tuple[int, ...], dim: int = 5, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Group g at 10 * e_g plus Gaussian noise; agents of different groups interleaved."""
    rng = np.random.default_rng(seed)
    types = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    centres = 10.0 * np.eye(len(sizes), max(dim, len(sizes)))
    return centres[types] + noise * rng.standard_normal((len(types), centres.shape[1])), types


def build(name: str, n_types: int) -> Any:
    """A partitioner by name; ``kmeans`` is told K, the others find it."""
    if name == "hdbscan":
        pytest.importorskip("hdbscan", reason="the hdbscan partitioner needs the optional hdbscan package")
    return resolve(PARTITIONERS, name, **({"k": n_types} if name == "kmeans" else {}))


@pytest.mark.parametrize("sizes", [(5, 5, 5), (2, 2, 2, 15, 9)], ids=["5-5-5", "2-2-2-15-9"])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_partitioner_recovers_planted_groups(name: str, sizes: tuple[int, ...]) -> None:
    if name == "fixed":
        pytest.skip("fixed ignores the embeddings; see the fixed tests below")
    means, types = planted(sizes)
    partition = build(name, len(sizes)).fit(Embeddings(means=means.astype(np.float32), encoder="test"), seed=0)
    assert partition.k == len(sizes)
    assert adjusted_rand_score(types, partition.labels) == 1.0
    assert partition.method == name


@pytest.mark.parametrize("name", BUILTINS)
def test_labels_are_canonical_and_fit_is_deterministic(name: str) -> None:
    means, _ = planted((4, 3, 5), seed=3)
    partitioner = build(name, 3)
    first = partitioner.fit(means, seed=7)
    groups, lowest_agent = np.unique(first.labels, return_index=True)
    assert groups.tolist() == list(range(first.k))
    assert np.all(np.diff(lowest_agent) > 0)  # groups numbered in order of their lowest agent id
    again = partitioner.fit(means.copy(), seed=7)
    assert np.array_equal(first.labels, again.labels)
    assert dict(first.scores) == dict(again.scores)


@pytest.mark.parametrize("name", BUILTINS)
def test_check_partitioner_passes_on_builtins(name: str) -> None:
    check_partitioner(build(name, 2))


@pytest.mark.parametrize("name", ADAPTIVE)
def test_two_agents_are_two_groups_unless_identical(name: str) -> None:
    partitioner = build(name, 2)
    assert partitioner.fit(np.array([[0.0, 1.0], [3.0, -2.0]])).labels.tolist() == [0, 1]
    assert partitioner.fit(np.array([[1.0, 2.0], [1.0, 2.0 + 1e-7]])).labels.tolist() == [0, 0]
    assert partitioner.fit(np.array([[0.5, 0.5]])).labels.tolist() == [0]


@pytest.mark.parametrize("name", ADAPTIVE)
@pytest.mark.parametrize(
    "cloud",
    [
        np.ones((8, 3)),
        np.full((6, 4), 0.7) + 1e-9 * np.arange(24).reshape(6, 4),
        np.random.default_rng(1).standard_normal((12, 5)),
        1e-3 * np.random.default_rng(2).standard_normal((30, 8)),  # a VAE's collapsed means
    ],
    ids=["identical", "near-identical", "gaussian-12", "collapsed-30"],
)
def test_single_type_env_gives_one_group(name: str, cloud: np.ndarray) -> None:
    partition = build(name, 1).fit(cloud, seed=0)
    assert partition.k == 1
    assert partition.labels.tolist() == [0] * len(cloud)


def test_turning_the_null_test_off_lets_scores_split_a_single_cloud() -> None:
    cloud = np.random.default_rng(1).standard_normal((12, 5))
    assert KMeansDaviesBouldin(null_draws=0).fit(cloud).k > 1


def test_kmeans_db_and_silhouette_record_every_k_tried() -> None:
    means, _ = planted((3, 3, 3, 3))
    db = KMeansDaviesBouldin(k_max=6).fit(means)
    assert sorted(db.scores) == [2, 3, 4, 5, 6]
    assert min(db.scores, key=db.scores.__getitem__) == db.k == 4
    silhouette = KMeansSilhouette().fit(planted((3, 2))[0])  # N = 5 caps the range at N-1 = 4
    assert sorted(silhouette.scores) == [2, 3, 4]
    assert max(silhouette.scores, key=silhouette.scores.__getitem__) == silhouette.k == 2
    duplicates = np.repeat(np.eye(3), 4, axis=0)  # 3 distinct points: k-means cannot make more groups
    assert sorted(KMeansDaviesBouldin().fit(duplicates).scores) == [2, 3]


def test_hdbscan_scores_its_own_k_and_keeps_noise_agents_apart() -> None:
    means, types = planted((6, 6), dim=3)
    outlier = np.array([[40.0, -40.0, 40.0]])
    partition = HDBSCANPartitioner().fit(np.concatenate([means, outlier]))
    assert partition.k == 3
    assert adjusted_rand_score([*types, 2], partition.labels) == 1.0
    assert set(partition.scores) <= {3}


def test_kmeans_with_more_groups_than_distinct_points_merges_them() -> None:
    partition = KMeansPartitioner(k=4).fit(np.array([[0.0], [0.0], [5.0], [5.0], [9.0]]))
    assert partition.labels.tolist() == [0, 0, 1, 1, 2]


def test_fixed_fups_nops_and_explicit_labels() -> None:
    means = np.zeros((5, 2))
    assert Fixed().fit(means).labels.tolist() == [0, 0, 0, 0, 0]
    assert Fixed(k=1).fit(means).k == 1
    assert Fixed(k="all").fit(means).labels.tolist() == [0, 1, 2, 3, 4]
    assert Fixed(k=5).fit(means).k == 5
    assert Fixed(labels=[7, 7, 3, 9, 3]).fit(means).labels.tolist() == [0, 0, 1, 2, 1]
    assert resolve(PARTITIONERS, "fixed", k="all").fit(means[:3]).k == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: KMeansPartitioner(k=0), "'k' must be >= 1: 0"),
        (lambda: KMeansPartitioner(), "kmeans needs 'k'"),
        (lambda: KMeansDaviesBouldin(k_max=1), "'k_max' must be >= 2: 1"),
        (lambda: KMeansSilhouette(k_max=1), "'k_max' must be >= 2: 1"),
        (lambda: KMeansDaviesBouldin(n_init=0), "'n_init' must be >= 1: 0"),
        (lambda: KMeansDaviesBouldin(rtol=-1.0), "'rtol' must be a number >= 0: -1.0"),
        (lambda: HDBSCANPartitioner(min_cluster_size=1), "'min_cluster_size' must be >= 2: 1"),
        (lambda: Fixed(k=0), "'k' must be 1 (FuPS), 'all' (NoPS) or the number of agents: 0"),
        (lambda: Fixed(k=1, labels=(0, 1)), "give 'k' or 'labels', not both"),
        (lambda: Fixed(labels=np.array([0.5, 1.0])), "'labels' must be a non-empty sequence of integers"),
    ],
)
def test_bad_configs_raise_config_error_on_construction(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()  # type: ignore[operator]


def test_bad_inputs_raise_config_error_before_any_work() -> None:
    means = np.zeros((4, 2))
    with pytest.raises(ConfigError, match=r"'k' must be between 1 and the number of agents \(4\), got 5"):
        KMeansPartitioner(k=5).fit(means)
    with pytest.raises(ConfigError, match=r"'k' must be 1 \(FuPS\), 'all' or 4 \(NoPS\), got 3"):
        Fixed(k=3).fit(means)
    with pytest.raises(ConfigError, match="'labels' has 3 entries but there are 4 agents"):
        Fixed(labels=(0, 1, 0)).fit(means)
    with pytest.raises(ConfigError, match=r"\(N, m\) array"):
        KMeansDaviesBouldin().fit(np.zeros(4))
    bad = means.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ConfigError, match=r"agents \[2\] contain NaN or inf"):
        KMeansDaviesBouldin().fit(bad)


def test_hdbscan_without_the_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hdbscan", None)
    with pytest.raises(MissingDependencyError, match="pip install hdbscan"):
        HDBSCANPartitioner().fit(np.zeros((3, 2)))


@attrs.frozen(kw_only=True)
class GridPartitioner:
    """A user's partitioner defined outside seps: agents in the same grid cell share parameters."""

    cell: float = 5.0

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        means = seps.clustering.base.as_means(embeddings)
        cells = np.round(means / self.cell)
        return Partition(labels=np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1), method="grid")


def test_user_partitioner_by_decorator_and_by_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PARTITIONERS, "_entries", dict(PARTITIONERS._entries))  # undone after the test
    PARTITIONERS.register("grid")(GridPartitioner)
    means, types = planted((3, 4, 2))
    for spec in ("grid", f"{__name__}:GridPartitioner"):
        partition = resolve(PARTITIONERS, spec, cell=3.0).fit(means)
        assert adjusted_rand_score(types, partition.labels) == 1.0
    check_partitioner(f"{__name__}:GridPartitioner")
    with pytest.raises(UnknownComponentError, match="Did you mean 'grid'"):
        PARTITIONERS.get("gird")


class WrongLength:
    def fit(self, embeddings: np.ndarray, seed: int = 0) -> Partition:
        return Partition(labels=np.zeros(len(np.asarray(embeddings)) - 1 or 1, dtype=np.int64))


class Unseeded:
    def __init__(self) -> None:
        self.calls = 0

    def fit(self, embeddings: np.ndarray, seed: int = 0) -> Partition:
        self.calls += 1  # a hidden state change, standing in for an unseeded global RNG
        return Partition(labels=np.arange(len(np.asarray(embeddings))) % (1 + self.calls % 2))


class ReturnsArray:
    def fit(self, embeddings: np.ndarray, seed: int = 0) -> np.ndarray:
        return np.zeros(len(np.asarray(embeddings)), dtype=np.int64)


class NoSeed:
    def fit(self, embeddings: np.ndarray) -> Partition:
        return Partition(labels=np.zeros(len(embeddings), dtype=np.int64))


class NonCanonical:
    def fit(self, embeddings: np.ndarray, seed: int = 0) -> Partition:
        partition = Partition(labels=np.arange(len(np.asarray(embeddings))))
        object.__setattr__(partition, "labels", partition.labels[::-1].copy())  # bypasses the converter
        return partition


class AcceptsNaN:
    def fit(self, embeddings: np.ndarray, seed: int = 0) -> Partition:
        means = embeddings.means if isinstance(embeddings, Embeddings) else embeddings
        return Partition(labels=np.zeros(len(means), dtype=np.int64), method="nan-ok")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (WrongLength(), r"labels of shape \(11,\) for 12 agents; return one label per agent"),
        (Unseeded(), "is not deterministic: seed 0 gave labels"),
        (ReturnsArray(), "returned ndarray, not a seps.records.Partition"),
        (NoSeed(), r"the signature must be fit\(embeddings, seed=0\)"),
        (NonCanonical(), r"non-canonical labels \[11, 10, .*number groups 0..K-1 by their lowest agent id"),
        (AcceptsNaN(), "accepted NaN embeddings; reject them with a seps ConfigError"),
    ],
)
def test_check_partitioner_names_the_fault(broken: object, message: str) -> None:
    with pytest.raises(PartitionerCheckError, match=message):
        check_partitioner(broken)
