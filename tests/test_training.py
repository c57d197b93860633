"""Sharing modes, checkpoints after SIGKILL, evaluation and bad input, on small BPS tasks.

Learning, determinism and resume tests for every learner are in tests/test_learners.py.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from seps import build, resume
from seps.checkpoint import latest_checkpoint, load_checkpoint
from seps.errors import CheckpointError, SepsError
from seps.registry import METHODS
from tests.helpers import SMALL, final_policy, param_hash


@pytest.mark.parametrize("method", METHODS.list())
def test_build_with_each_method_routes_agents_to_the_right_groups(method, tmp_path):
    # Partition quality is tested elsewhere; here a fixed K keeps the 4-agent task unambiguous.
    extra = {"partitioner": "kmeans", "partitioner_options": {"k": 2}} if method == "seps" else {}
    result = build(method, seed=0, total_steps=400, eval_interval=400, run_root=str(tmp_path), **SMALL, **extra).run()
    expected = {"nops": [0, 1, 2, 3], "fups": [0, 0, 0, 0], "fups_id": [0, 0, 0, 0], "seps": [0, 0, 1, 1]}[method]
    assert result.partition.labels.tolist() == expected
    policy = final_policy(result.run_dir)
    assert policy["assignment"].tolist() == expected
    obs_dim = 4 + 2 * 2 + (4 if method == "fups_id" else 0)
    assert policy["actor.layers.0.weight"].shape[:2] == (len(set(expected)), obs_dim)
    saved = json.loads((result.run_dir / "partition.json").read_text())
    assert saved["labels"] == expected and saved["append_agent_ids"] == (method == "fups_id")
    assert (result.run_dir / "metrics.csv").read_text().count(",eval,") == 2  # at step 0 and at the end


def test_a_run_killed_with_sigkill_resumes_to_the_same_parameters(tmp_path):
    args = [
        "--method",
        "nops",
        "--env",
        "bps:2-2",
        "--num-envs",
        "4",
        "--eval-episodes",
        "4",
        "--hidden",
        "16",
        "16",
        "--seed",
        "2",
        "--steps",
        "400000",
        "--eval-interval",
        "100000",
        "--checkpoint-interval",
        "2000",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    killed_root = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "seps", "train", *args, "--run-root", str(killed_root)], env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not list(killed_root.glob("*/checkpoints/step_*000004000.pt")):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = killed_root.iterdir()
    checkpoint_steps = int(load_checkpoint(latest_checkpoint(run_dir))["env_steps"])
    assert 0 < checkpoint_steps < 400_000
    budget = checkpoint_steps + 4000
    resumed = subprocess.run(
        [sys.executable, "-m", "seps", "train", "--resume", str(run_dir), "--steps", str(budget), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "max evaluation return" in resumed.stdout
    straight = build(
        "nops",
        seed=2,
        total_steps=budget,
        eval_interval=100_000,
        checkpoint_interval=2000,
        run_root=str(tmp_path / "straight"),
        **SMALL,
    ).run()
    assert param_hash(final_policy(run_dir)) == param_hash(final_policy(straight.run_dir))


def test_checkpoints_load_with_weights_only_and_foreign_files_are_refused(tmp_path):
    result = build("fups", total_steps=400, eval_interval=400, run_root=str(tmp_path), **SMALL).run()
    state = torch.load(latest_checkpoint(result.run_dir), weights_only=True)
    assert state["env_steps"] == 400
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or was not written by seps"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="is not a seps checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="is not a seps run directory"):
        resume(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "fups", "encoder": "vae"}, "method 'fups' does not partition agents"),
        ({"method": "seps", "total_steps": 0}, "'total_steps' must be > 0: 0"),
        ({"method": "seps", "learning_rate": 1.0}, "unknown option 'learning_rate'; valid options: method, env"),
        ({"method": "sepz"}, "unknown method 'sepz'. Did you mean 'seps'?"),
        ({"method": "seps", "learner": "a3c"}, "unknown learner 'a3c'. Did you mean 'a2c'?"),
        ({"method": "nops", "learner_options": {"lr": -1.0}}, "learner 'a2c': 'lr' must be > 0: -1.0"),
        ({"method": "nops", "env": "bps-9"}, "unknown env 'bps-9'. Did you mean"),
    ],
)
def test_bad_input_is_refused_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(SepsError, match=message):
        build(run_root=str(tmp_path), **{"env": "bps:2-2", **kwargs}).run()
    assert not any(tmp_path.iterdir())


def test_evaluation_metric_is_the_sum_over_agents_of_episode_returns(tmp_path):
    result = build("fups", total_steps=400, eval_interval=400, run_root=str(tmp_path), **SMALL).run()
    experiment = resume(result.run_dir)
    returns = experiment.evaluate(episodes=3)
    assert returns.shape == (3,)
    # 4 agents x 50 steps x -0.5 x distance: the sum is far below any single agent's return.
    assert np.all(returns < -4 * 50 * 0.5 * 0.05)
