"""Exported partitions: BenchMARL group_map, RLlib policies + mapping function, plain JSON; the CLI flag."""

import json
import pickle

import cloudpickle
import numpy as np
import pytest

from seps.cli import main
from seps.errors import ConfigError
from seps.export import (
    FORMATS,
    agent_to_group,
    benchmarl_group_map,
    export_dict,
    export_text,
    load_policy_mapping,
    partition_from_agent_groups,
    partition_from_group_map,
    rllib_multi_agent,
)
from seps.records import Partition

NAMES = ("adversary_0", "adversary_1", "agent_0", "adversary_2", "agent_1")
PARTITION = Partition(labels=[1, 1, 0, 1, 0], method="kmeans_db")


def test_benchmarl_group_map_uses_env_names_and_round_trips():
    group_map = benchmarl_group_map(PARTITION, NAMES)
    # canonical labels: the group of agent 0 is group 0
    assert group_map == {"group_0": ["adversary_0", "adversary_1", "adversary_2"], "group_1": ["agent_0", "agent_1"]}
    assert np.array_equal(partition_from_group_map(group_map, NAMES).labels, PARTITION.labels)


@pytest.mark.parametrize("labels", [[0, 0, 0, 0, 0], [0, 1, 2, 3, 4], [2, 0, 2, 1, 0]])
def test_every_format_round_trips_to_the_partition(labels):
    partition = Partition(labels=labels)
    back_from_map = partition_from_group_map(export_dict(partition, "benchmarl", NAMES), NAMES)
    back_from_json = partition_from_agent_groups(export_dict(partition, "json", NAMES)["agents"], NAMES)
    policies, mapping = load_policy_mapping(export_text(partition, "rllib", NAMES))
    back_from_rllib = partition_from_agent_groups({name: mapping(name, None) for name in NAMES}, NAMES)
    for back in (back_from_map, back_from_json, back_from_rllib):
        assert np.array_equal(back.labels, partition.labels)
    assert len(policies) == partition.k


def test_rllib_mapping_is_picklable_and_maps_every_agent():
    policies, mapping = rllib_multi_agent(PARTITION, NAMES)
    assert policies == {"group_0", "group_1"}
    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)):
        restored = loads(dumps(mapping))
        assert restored == mapping
        # RLlib calls it as policy_mapping_fn(agent_id, episode, **kwargs)
        expected = agent_to_group(PARTITION, NAMES)
        assert [restored(name, object(), worker=None) for name in NAMES] == [expected[n] for n in NAMES]
        assert {restored(name, None) for name in NAMES} == policies
    with pytest.raises(KeyError, match="unknown agent id 'agent_9'"):
        mapping("agent_9", None)


def test_rllib_accepts_the_exported_policies_and_mapping():
    reason = "ray.rllib cannot be imported (pip install 'ray[rllib]')"
    algorithm_config = pytest.importorskip("ray.rllib.algorithms.ppo", reason=reason)
    policies, mapping = rllib_multi_agent(PARTITION, NAMES)
    config = algorithm_config.PPOConfig().multi_agent(policies=policies, policy_mapping_fn=mapping)
    # AlgorithmConfig.multi_agent turns the set into {policy id: PolicySpec()}
    assert set(config.policies) == policies
    assert config.policy_mapping_fn("agent_1", None) == "group_1"


def test_bad_maps_and_names_are_refused():
    with pytest.raises(ConfigError, match="in more than one group"):
        partition_from_group_map({"a": ["agent_0"], "b": ["agent_0", "agent_1"]}, ["agent_0", "agent_1"])
    with pytest.raises(ConfigError, match=r"agents \['agent_1'\] are in no group"):
        partition_from_group_map({"a": ["agent_0"]}, ["agent_0", "agent_1"])
    with pytest.raises(ConfigError, match="3 agent names for a partition of 5 agents"):
        benchmarl_group_map(PARTITION, NAMES[:3])
    with pytest.raises(ConfigError, match="unknown format 'epymarl'; valid formats: benchmarl, rllib, json"):
        export_dict(PARTITION, "epymarl", NAMES)


def test_cli_writes_every_export_next_to_partition_json(capsys, tmp_path):
    # The groups' quality is not under test here: a short encoder run and a fixed K keep it fast.
    args = ["partition", "--env", "bps:3-3", "--collect-steps", "20", "-o", "encoder.updates=50"]
    args += ["--partitioner", "kmeans", "-o", "partitioner.k=2"]
    exports = [item for fmt in FORMATS for item in ("--export", fmt)]
    assert main([*args, "--out", str(tmp_path), *exports, "--no-progress"]) == 0
    out = capsys.readouterr().out
    labels = json.loads((tmp_path / "partition.json").read_text())["labels"]
    names = [f"agent_{i}" for i in range(6)]  # bps has no names of its own
    group_map = json.loads((tmp_path / "benchmarl.json").read_text())
    assert np.array_equal(partition_from_group_map(group_map, names).labels, labels)
    rllib = json.loads((tmp_path / "rllib.json").read_text())
    assert np.array_equal(partition_from_agent_groups(rllib["policy_mapping"], names).labels, labels)
    plain = json.loads((tmp_path / "json.json").read_text())
    assert plain["groups"] == group_map
    assert f"wrote {tmp_path}/rllib.json" in out
    # Without --out the export is printed.
    assert main([*args, "--export", "benchmarl", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed.split("benchmarl export:\n", 1)[1]) == group_map
