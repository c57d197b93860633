"""Fail fast, resume always: resume refusals, resolved config.json, checkpoint fallback, signals, divergence."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seps import build, resume
from seps.callbacks import TrainerCallback
from seps.checkpoint import load_latest, save_checkpoint
from seps.cli import build_parser, main
from seps.cli.train_command import experiment_from_args
from seps.collect import CollectConfig, check_collect_memory
from seps.config import from_plain, to_plain
from seps.errors import CheckpointError, ConfigError, RunInterrupted, TrainingDiverged
from seps.registry import PARTITIONERS
from seps.run_dir import RunDir
from seps.run_log import read_metrics
from seps.signals import stop_on_signal
from tests.helpers import SMALL, final_policy, param_hash

ROOT = Path(__file__).resolve().parents[1]


def started_run(tmp_path, method="seps", **extra):
    """A run directory as `seps train` leaves it before any work: its resolved config.json only."""
    experiment = build(method, run_root=str(tmp_path), **extra)
    directory = RunDir.create(tmp_path, "run")
    directory.write_config(experiment.resolved_config())
    return directory


def test_resume_refuses_every_contradicting_flag_in_one_line(capsys, tmp_path):
    directory = started_run(tmp_path)
    args = ["train", "--resume", str(directory.path), "--env", "bps-3", "--method", "fups", "--learner", "ppo"]
    code = main([*args, "--seed", "5", "-o", "learner.lr=1e-3"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    for part in (
        "--env bps-3 (run: bps-1)",
        "--method fups (run: seps)",
        "--learner ppo (run: a2c)",
        "--seed 5 (run: 0)",
        "-o learner.lr=0.001 (run: 0.0003)",
        "contradict the run's config",
    ):
        assert part in err


def test_resume_accepts_the_overridable_flags_and_repeated_equal_ones(tmp_path):
    directory = started_run(tmp_path)
    args = ["train", "--resume", str(directory.path), "--steps", "5e5", "--eval-interval", "1000", "--env", "bps-1"]
    experiment = experiment_from_args(build_parser().parse_args([*args, "-o", "partitioner.k_max=10"]))
    assert experiment.config.total_steps == 500_000 and experiment.config.eval_interval == 1000
    with pytest.raises(ConfigError, match="resume cannot change seed"):
        resume(directory.path, seed=3)


def test_config_json_records_the_resolved_components_and_rebuilds_the_run(tmp_path):
    directory = started_run(tmp_path)
    plain = json.loads((directory.path / "config.json").read_text())
    assert (plain["encoder"], plain["partitioner"], plain["learner"]) == ("vae", "kmeans_db", "a2c")
    assert plain["partitioner_options"]["k_max"] == 10 and plain["learner_options"]["lr"] == 3e-4
    assert "updates" in plain["encoder_options"]
    rebuilt = from_plain(plain)
    assert to_plain(rebuilt) == plain
    fixed = json.loads((started_run(tmp_path / "f", method="fups").path / "config.json").read_text())
    assert fixed["encoder"] is None and fixed["partitioner"] is None  # a fixed mode takes neither


def state(step: int) -> dict:
    return {"env_steps": step, "weights": torch.full((3,), float(step))}


def test_a_corrupt_newest_checkpoint_falls_back_to_the_newest_intact_one(tmp_path, caplog):
    save_checkpoint(tmp_path, state(100), 100)
    newest = save_checkpoint(tmp_path, state(200), 200)
    newest.write_bytes(newest.read_bytes()[:40])  # a torn file
    (tmp_path / "checkpoints" / "step_000000000300.tmp").write_bytes(b"killed mid-write")
    with caplog.at_level(logging.WARNING):
        path, loaded = load_latest(tmp_path)
    assert path.name == "step_000000000100.pt" and loaded["env_steps"] == 100
    assert "resuming from the newest intact checkpoint step_000000000100.pt (step 100)" in caplog.text


def test_the_latest_pointer_cannot_lead_outside_the_run_directory(tmp_path, caplog):
    outside = tmp_path / "elsewhere.pt"
    torch.save({"format": "seps-checkpoint-v1", "env_steps": 999}, outside)
    run = tmp_path / "run"
    save_checkpoint(run, state(100), 100)
    (run / "checkpoints" / "latest").write_text("../../elsewhere.pt")
    with caplog.at_level(logging.WARNING):
        path, loaded = load_latest(run)
    assert loaded["env_steps"] == 100 and path.parent == run / "checkpoints"
    assert "not a checkpoint of this run directory; ignoring it" in caplog.text
    (run / "checkpoints" / "step_000000000100.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        load_latest(run)


def test_checkpoints_by_time_come_between_the_step_checkpoints(tmp_path):
    result = build(
        "fups",
        total_steps=400,
        eval_interval=400,
        checkpoint_interval=10**6,
        checkpoint_seconds=1e-9,
        run_root=str(tmp_path),
        **SMALL,
    ).run()
    steps = sorted(int(p.stem.split("_")[1]) for p in (result.run_dir / "checkpoints").glob("step_*.pt"))
    assert steps[0] < 400 and steps[-1] == 400 and len(steps) > 2


def test_training_rows_reach_metrics_csv_on_the_log_interval(tmp_path):
    result = build("fups", total_steps=400, eval_interval=400, log_interval=100, run_root=str(tmp_path), **SMALL).run()
    rows = read_metrics(result.run_dir)
    assert [int(r["env_steps"]) for r in rows if r["kind"] == "train"] == [100, 200, 300, 400]
    assert [int(r["env_steps"]) for r in rows if r["kind"] == "eval"] == [0, 400]


class SignalAt(TrainerCallback):
    """Sends this process SIGINT once training passes ``steps``, as Ctrl-C would."""

    def __init__(self, steps: int) -> None:
        self.steps, self.sent = steps, False

    def on_update_end(self, trainer, metrics):
        if trainer.env_steps >= self.steps and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def test_sigint_checkpoints_and_the_resumed_run_matches_an_uninterrupted_one(tmp_path):
    settings = {"total_steps": 800, "eval_interval": 400, "checkpoint_interval": 10**6, **SMALL}
    reference = build("nops", run_root=str(tmp_path / "ref"), **settings).run()
    experiment = build("nops", run_root=str(tmp_path / "cut"), **settings)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN, not Python's handler, when started in the background
    with stop_on_signal() as stopper, pytest.raises(RunInterrupted) as interrupt:
        experiment.run(callbacks=[stopper, SignalAt(240)])
    assert interrupt.value.env_steps == 240 and interrupt.value.checkpoint.name == "step_000000000240.pt"
    assert signal.getsignal(signal.SIGINT) is before  # restored
    resumed = resume(experiment.run_dir).run()
    assert param_hash(final_policy(resumed.run_dir)) == param_hash(final_policy(reference.run_dir))
    assert resumed.evaluations == reference.evaluations
    keys = [(r["env_steps"], r["kind"]) for r in read_metrics(resumed.run_dir)]
    assert keys == [(r["env_steps"], r["kind"]) for r in read_metrics(reference.run_dir)]


def test_the_cli_prints_the_resume_command_on_sigint(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = (
        "import os, signal, sys\n"
        "from seps.cli import main\n"
        "from seps import trainer\n"
        "original = trainer.Trainer._rollout\n"
        "def rollout(self):\n"
        "    if self.env_steps >= 80: os.kill(os.getpid(), signal.SIGINT)\n"
        "    return original(self)\n"
        "trainer.Trainer._rollout = rollout\n"
        f"sys.exit(main(['train', '--method', 'fups', '--env', 'bps:2-2', '--num-envs', '4', '--hidden', '16',"
        f" '--eval-episodes', '2', '--steps', '4000', '--no-progress', '--run-root', {str(tmp_path)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    match = re.search(
        r"stopped at env step 100, checkpoint step_000000000100.pt saved; resume with: "
        r"seps train --resume (\S+)",
        result.stderr,
    )
    assert match, result.stderr
    assert (Path(match.group(1)) / "checkpoints" / "step_000000000100.pt").is_file()


def test_a_diverging_run_stops_with_one_line_and_keeps_its_last_good_checkpoint(tmp_path):
    experiment = build(
        "fups",
        total_steps=4000,
        eval_interval=4000,
        checkpoint_interval=20,  # every update: the one before the blow-up is kept
        learner_options={"lr": 1e6},
        run_root=str(tmp_path),
        **SMALL,
    )
    with pytest.raises(TrainingDiverged) as error:
        experiment.run()
    message = str(error.value)
    assert re.match(
        r"training diverged at env step [\d,]+: .+; the learning rate \(lr=1e\+06\) is likely too high; "
        r"the last good checkpoint step_\d+\.pt is kept; lower learner.lr",
        message,
    ), message
    _, kept = load_latest(experiment.run_dir)
    assert all(torch.isfinite(t).all() for t in kept["policy"].values() if t.is_floating_point())


def test_a_value_loss_blow_up_logs_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="seps.divergence"):
        build(
            "fups", total_steps=1600, eval_interval=1600, learner_options={"lr": 0.5}, run_root=str(tmp_path), **SMALL
        ).run()
    assert "times its early level" in caplog.text and "the critic is diverging" in caplog.text


def test_a_collection_larger_than_memory_is_refused_with_the_estimate():
    # pistonball_v6 with discrete actions: 20 agents, 457 x 120 x 3 = 164,520 features each
    with pytest.raises(ConfigError) as error:
        check_collect_memory(CollectConfig(), n_agents=20, obs_dim=164_520, available=16 * 10**9)
    assert str(error.value) == (
        "collecting 200 steps x 64 copies x 20 agents with 164,520 features each would need ~673.9 GB of memory, "
        "16.0 GB is available; lower collect.steps (--collect-steps) or collect.num_envs (--num-envs)"
    )
    assert check_collect_memory(CollectConfig(steps=2, num_envs=1), 3, 10, available=10**9) > 0


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(# my_partitioners\.py\n.*?)```", text, re.S).group(1)


@pytest.fixture
def readme_module(tmp_path, monkeypatch):
    (tmp_path / "my_partitioners.py").write_text(readme_block())
    monkeypatch.chdir(tmp_path)
    entries = dict(PARTITIONERS._entries)
    PARTITIONERS._entries.pop("agglomerative", None)  # examples.custom_partitioner may hold the name
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield tmp_path
    PARTITIONERS._entries.clear()
    PARTITIONERS._entries.update(entries)
    sys.modules.pop("my_partitioners", None)


def test_the_readme_partitioner_works_as_written_from_the_current_directory(readme_module, capsys):
    fast = ["--env", "bps:3-3", "--collect-steps", "40", "-o", "encoder.updates=1500"]
    code = main(["partition", *fast, "--partitioner", "my_partitioners:Agglomerative", "-o", "partitioner.k=2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "group 0: agents [0, 1, 2]" in out and "(agglomerative)" in out
    from my_partitioners import Agglomerative

    from seps.testing import check_partitioner

    check_partitioner(Agglomerative())
    code = main(
        ["--import", "my_partitioners", "partition", *fast, "--partitioner", "agglomerative", "-o", "partitioner.k=2"]
    )
    assert code == 0


def test_a_closed_pipe_ends_quietly():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # `true` exits at once, long before seps has imported and prints: every write meets a closed pipe
    shell = f"{sys.executable} -m seps sweep --dry-run examples/sharing_modes.yaml | true"
    result = subprocess.run(["bash", "-c", shell], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == ""
