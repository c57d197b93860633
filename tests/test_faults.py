"""Fault injection: a run and a 4-cell sweep SIGKILLed during pre-training, mid-rollout and mid-checkpoint-write
resume to completion with every metrics row once and parameters bit-identical to an uninterrupted run."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from seps import build, resume
from seps.run_log import read_metrics
from seps.sweep import run_sweep
from tests.helpers import SMALL, final_policy, param_hash

ROOT = Path(__file__).resolve().parents[1]
TINY_ENCODER = {"name": "vae", "updates": 60, "batch_size": 64}
LOOP = {"total_steps": 800, "eval_interval": 400, "checkpoint_interval": 200, "log_interval": 100}
RUN = {
    "method": "seps",
    "partitioner": "kmeans",
    "partitioner_options": {"k": 2},
    "encoder_options": {"updates": 60, "batch_size": 64},
    "collect": {"steps": 40, "num_envs": 2},
    **LOOP,
    **SMALL,
    "hidden_sizes": [16, 16],
}
KILLS = [("pretrain", 0), ("rollout", 300), ("checkpoint", 0)]
"""Killed as the encoder starts, then (resumed) in the rollout after the step-200 checkpoint, then (resumed)
half-way through writing the step-400 checkpoint; the last resume runs to the end in this process."""


def killed(point: str, at: int, job: str, argument: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.fault_injection", point, str(at), job, argument]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == -9, f"{point} did not kill the process: {result.stderr[-2000:]}"


def rows(run_dir: Path) -> list[tuple[str, str]]:
    return [(row["env_steps"], row["kind"]) for row in read_metrics(run_dir)]


def assert_same_run(resumed: Path, reference: Path) -> None:
    keys = rows(resumed)
    assert max(Counter(keys).values()) == 1, "a metrics row is logged twice"
    assert keys == rows(reference)
    for column in ("eval_return", "episode_return", "policy_loss"):  # the logged numbers too, not only the keys
        assert [r[column] for r in read_metrics(resumed)] == [r[column] for r in read_metrics(reference)]
    assert param_hash(final_policy(resumed)) == param_hash(final_policy(reference))
    partitions = [json.loads((path / "partition.json").read_text()) for path in (resumed, reference)]
    assert [{k: v for k, v in p.items() if k != "seconds"} for p in partitions] == [
        {k: v for k, v in partitions[1].items() if k != "seconds"}
    ] * 2


def test_a_run_killed_at_every_stage_resumes_to_the_uninterrupted_parameters(tmp_path):
    reference = build(**RUN, run_root=str(tmp_path / "reference")).run()
    root = tmp_path / "killed"
    killed(*KILLS[0], "start", json.dumps({**RUN, "run_root": str(root)}), tmp_path)
    (run_dir,) = root.iterdir()
    assert not (run_dir / "partition.json").exists()
    for point, at in KILLS[1:]:
        killed(point, at, "resume", str(run_dir), tmp_path)
    assert (run_dir / "checkpoints" / "step_000000000400.tmp").is_file()  # the torn write, never used
    resumed = resume(run_dir).run()
    assert resumed.evaluations == reference.evaluations
    assert_same_run(run_dir, reference.run_dir)


def sweep_spec(out: Path) -> dict:
    config = {key: value for key, value in RUN.items() if key in LOOP or key in SMALL or key == "hidden_sizes"}
    return {
        "methods": ["fups", "seps"],
        "envs": [SMALL["env"]],
        "seeds": [0, 1],
        "encoders": [TINY_ENCODER],
        "partitioners": [{"name": "kmeans", "k": 2}],
        "config": {**{k: v for k, v in config.items() if k != "env"}, "collect": RUN["collect"]},
        "out": str(out),
    }


def cells(sweep_dir: Path) -> dict[str, Path]:
    return {path.name: path for path in sorted((sweep_dir / "cells").iterdir())}


@pytest.mark.parametrize(
    "kills",
    [pytest.param(KILLS[2:], id="checkpoint-write"), pytest.param(KILLS, id="every-stage", marks=pytest.mark.slow)],
)
def test_a_sweep_killed_midway_resumes_every_cell_to_the_uninterrupted_parameters(tmp_path, kills):
    reference = tmp_path / "reference"
    run_sweep(sweep_spec(reference), workers=0)
    out = tmp_path / "killed"
    for point, at in kills:
        killed(point, at, "sweep", json.dumps(sweep_spec(out)), tmp_path)
    result = run_sweep(sweep_spec(out), workers=0)
    assert result.ok and len(result.outcomes) == 4
    assert len(result.by_status("done")) >= 1  # at least the killed cell was finished now
    assert cells(out).keys() == cells(reference).keys()
    for name, directory in cells(out).items():
        assert_same_run(directory, cells(reference)[name])
