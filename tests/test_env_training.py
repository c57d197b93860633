"""`seps train` runs end to end on every registered environment (smoke budget, every sharing mode's path)."""

import numpy as np
import pytest

from seps import build
from seps.registry import ENVS

STANDIN = "seps.testing.smac:SmacStandIn"


@pytest.mark.parametrize("env_name", ENVS.list())
def test_training_runs_on_every_registered_env(env_name, tmp_path):
    env_options = {"env_cls": STANDIN} if env_name.startswith("smac") else {}
    result = build(
        "fups_id",
        env=env_name,
        env_options=env_options,
        num_envs=2,
        total_steps=40,
        eval_interval=40,
        eval_episodes=1,
        hidden_sizes=(16,),
        run_root=str(tmp_path),
    ).run()
    assert result.env_steps == 40
    assert len(result.evaluations) == 2 and all(np.isfinite(mean) for _, mean, _ in result.evaluations)
    assert (result.run_dir / "checkpoints" / "latest").is_file()


def test_seps_partitions_and_trains_through_the_smac_adapter(tmp_path):
    result = build(
        "seps",
        env="smac-mmm2",
        env_options={"env_cls": STANDIN},
        partitioner="kmeans",
        partitioner_options={"k": 3},
        encoder_options={"updates": 200},
        num_envs=2,
        total_steps=40,
        eval_interval=40,
        eval_episodes=1,
        hidden_sizes=(16,),
        run_root=str(tmp_path),
    ).run()
    assert result.partition.k == 3 and result.partition.n_agents == 10
