"""examples/benchmarl_groups.py: a real BenchMARL MAPPO experiment trains with exactly seps's exported groups."""

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import torch

from seps.export import benchmarl_group_map, partition_from_group_map
from seps.records import Partition

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "benchmarl_groups.py"


def load_example():
    spec = importlib.util.spec_from_file_location("benchmarl_groups", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarl_groups"] = module
    spec.loader.exec_module(module)
    return module


example = load_example()
reason = example.missing_interop()
pytestmark = pytest.mark.skipif(reason is not None, reason=str(reason))


def test_experiment_models_have_exactly_the_exported_groups(tmp_path):
    from seps.envs.vmas import VmasEnv

    env = VmasEnv(example.SCENARIO, num_envs=1)
    names = env.agent_names
    assert names == ("adversary_0", "adversary_1", "adversary_2", "agent_0")
    # Not the role split: non-contiguous members and a singleton adversary show nothing is inferred by name.
    partition = Partition(labels=[0, 1, 0, 2])
    group_map = benchmarl_group_map(partition, names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiment = example.build_experiment(group_map, iters=1, seed=0, folder=str(tmp_path), frames_per_batch=80)
    assert experiment.group_map == {
        "group_0": ["adversary_0", "adversary_2"],
        "group_1": ["adversary_1"],
        "group_2": ["agent_0"],
    }
    assert partition_from_group_map(experiment.group_map, names).labels.tolist() == [0, 1, 0, 2]
    structure = example.group_structure(experiment)
    assert set(structure) == set(group_map) == set(experiment.losses)
    first_layers = {}
    for group, members in group_map.items():
        info = structure[group]
        assert info["agents"] == members
        assert info["actor_in_keys"] == [(group, "observation")]
        # one actor over exactly the group's agents, one parameter set shared inside the group
        assert info["actor_n_agents"] and set(info["actor_n_agents"]) == {len(members)}
        assert all(info["actor_share_params"])
        weights = [p for n, p in experiment.losses[group].actor_network.named_parameters() if n.endswith("0.weight")]
        assert len(weights) == 1 and weights[0].dim() == 2  # no per-agent dimension: shared
        first_layers[group] = weights[0]
    assert first_layers["group_2"].shape[1] == 14 and first_layers["group_0"].shape[1] == 16  # own obs sizes
    before = {g: w.detach().clone() for g, w in first_layers.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiment.run()
    assert experiment.n_iters_performed == 1
    for group, weight in first_layers.items():
        assert not torch.equal(before[group], weight.detach()), f"{group}'s actor was not trained"
