"""The whole pre-training pipeline: collect -> encode -> cluster recovers the true agent types."""

import numpy as np
import pytest

from seps import partition_agents
from seps.collect import CollectConfig
from seps.errors import ConfigError

SMALL_COLLECT = CollectConfig(steps=40)


def test_vae_and_kmeans_db_recover_the_colours_of_bps_1_exactly():
    result = partition_agents("bps-1", "vae", "kmeans_db", seed=0)
    assert result.partition.k == 3
    assert result.ari == 1.0
    assert result.partition.groups() == {0: [0, 1, 2, 3, 4], 1: [5, 6, 7, 8, 9], 2: [10, 11, 12, 13, 14]}


def test_same_seed_gives_the_same_partition_and_embeddings():
    runs = [
        partition_agents(
            "bps:2-2-2", "vae", "kmeans_db", seed=seed, collect_config=SMALL_COLLECT, encoder_options={"updates": 1500}
        )
        for seed in (5, 5, 6)
    ]
    assert np.array_equal(runs[0].embeddings.means, runs[1].embeddings.means)
    assert runs[0].partition.labels.tolist() == runs[1].partition.labels.tolist()
    assert runs[0].partition.scores == runs[1].partition.scores
    assert not np.array_equal(runs[0].embeddings.means, runs[2].embeddings.means)


def test_transitions_are_reused_instead_of_collected():
    first = partition_agents(
        "bps:2-2",
        "vae",
        "kmeans",
        seed=0,
        collect_config=SMALL_COLLECT,
        encoder_options={"updates": 300},
        partitioner_options={"k": 2},
    )
    again = partition_agents(
        "bps:2-2",
        "vae",
        "kmeans",
        seed=0,
        transitions=first.transitions,
        encoder_options={"updates": 300},
        partitioner_options={"k": 2},
    )
    assert "collect" in again.seconds and again.seconds["collect"] < first.seconds["collect"]
    assert np.array_equal(first.embeddings.means, again.embeddings.means)
    with pytest.raises(ConfigError, match="the transitions hold 4 agents but the env has 6"):
        partition_agents("bps:3-3", transitions=first.transitions)
