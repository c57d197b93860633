"""Adaptive SePS: the on_step hook, the stability rule, the partition history and a bit-exact resume."""

import json
import os
import signal
import subprocess
import sys
import time

import attrs
import numpy as np
import pytest
import torch

from seps import build
from seps.callbacks import TrainerCallback
from seps.checkpoint import latest_checkpoint, load_checkpoint
from seps.collect import CollectConfig
from seps.errors import ConfigError
from seps.pipeline import make_env
from seps.records import Embeddings, Partition
from seps.run_dir import RunDir
from tests.helpers import SMALL, final_policy, param_hash


class Recorder(TrainerCallback):
    """Logs every hook with what it saw."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.step_obs: list[np.ndarray] = []

    def on_train_start(self, trainer):
        self.events.append(("train_start", trainer.env_steps))

    def on_step(self, trainer, actions, result):
        assert result is not trainer.current  # the hook runs before current is replaced
        assert actions.shape == (trainer.env.num_envs, trainer.env.n_agents) and actions.dtype == np.int64
        assert np.array_equal(result.final_obs.shape, trainer.current.obs.shape)
        self.step_obs.append(trainer.current.obs.copy())
        self.events.append(("step", trainer.env_steps))

    def on_rollout_end(self, trainer):
        # The observations the hook saw are the rollout's, without FuPS+id's appended ids.
        stored = trainer.storage.obs.cpu().numpy()
        raw = stored[..., : trainer.env.max_obs_dim]
        assert stored.shape[-1] == trainer.env.max_obs_dim + trainer.env.n_agents
        assert np.array_equal(np.stack(self.step_obs[-len(raw) :]), raw)
        self.events.append(("rollout_end", trainer.env_steps))

    def on_update_end(self, trainer, metrics):
        assert {"policy_loss", "value_loss", "entropy"} <= set(metrics)
        self.events.append(("update_end", trainer.env_steps))

    def on_evaluation_end(self, trainer, mean, std):
        assert trainer.evaluations[-1] == (trainer.env_steps, mean, std)
        self.events.append(("evaluation_end", trainer.env_steps))

    def on_train_end(self, trainer):
        self.events.append(("train_end", trainer.env_steps))


def test_callbacks_fire_in_the_documented_order_with_their_arguments(tmp_path):
    recorder = Recorder()
    build("fups_id", total_steps=40, eval_interval=20, run_root=str(tmp_path), **SMALL).run(callbacks=[recorder])
    # A2C: rollouts of 5 steps x 4 copies = 20 env steps; on_step sees the count before its step.
    iteration = [("step", s) for s in range(0, 20, 4)] + [("rollout_end", 20), ("update_end", 20)]
    second = [("step", s) for s in range(20, 40, 4)] + [("rollout_end", 40), ("update_end", 40)]
    assert recorder.events == [
        ("train_start", 0),
        ("evaluation_end", 0),
        *iteration,
        ("evaluation_end", 20),
        *second,
        ("evaluation_end", 40),
        ("train_end", 40),
    ]


@attrs.frozen
class ZeroEncoder:
    """An encoder stand-in: every agent at the origin (the scripted partitioner ignores the codes)."""

    def fit(self, transitions, seed=0):
        assert len(transitions) > 0
        return Embeddings(means=np.zeros((transitions.n_agents, 2), dtype=np.float32), encoder="zero")


class Scripted:
    """A partitioner that answers a fixed sequence of partitions, one per fit."""

    def __init__(self, script):
        self.script, self.calls = list(script), 0

    def fit(self, embeddings, seed=0):
        labels = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return Partition(labels=labels, method="scripted")


def test_a_new_partition_applies_only_when_two_consecutive_checks_agree(tmp_path):
    a, b, c = [0, 0, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]
    # initial a; checks: b (new, unconfirmed), c (new, unconfirmed), c (confirmed: change),
    # then a, c, a, c: an oscillation, never two in a row, never applied.
    script = [a, b, c, c, a, c, a, c]
    result = build(
        "seps",
        encoder=ZeroEncoder(),
        partitioner=Scripted(script),
        total_steps=2800,
        eval_interval=2800,
        repartition_every=400,
        run_root=str(tmp_path),
        **SMALL,
    ).run()
    history = RunDir(result.run_dir).read_partitions()
    assert [r["step"] for r in history] == [0, 400, 800, 1200, 1600, 2000, 2400, 2800]
    assert [r["event"] for r in history] == ["initial", "check", "check", "change", *["check"] * 4]
    assert [r["labels"] for r in history] == script
    assert [r["current_labels"] for r in history] == [a, a, a, c, c, c, c, c]
    assert history[3]["current_k"] == 2 and history[3]["current_ari"] == pytest.approx(0.0)
    assert result.partition.labels.tolist() == c and result.ari == pytest.approx(0.0)
    assert final_policy(result.run_dir)["assignment"].tolist() == c
    assert final_policy(result.run_dir)["actor.layers.0.weight"].shape[0] == 2


def test_after_a_change_hold_skips_checks_and_restart_redraws_the_changed_groups(tmp_path):
    a, b, c = [0, 0, 1, 1], [0, 0, 1, 2], [0, 1, 1, 2]
    runs = {}
    for restart in (False, True):
        result = build(
            "seps",
            encoder=ZeroEncoder(),
            partitioner=Scripted([a, b, b, c, c, a]),
            total_steps=2800,
            eval_interval=2800,
            repartition_every=400,
            repartition_options={"restart": restart, "hold": 800},
            run_root=str(tmp_path / str(restart)),
            **SMALL,
        ).run()
        runs[restart] = final_policy(result.run_dir)
        history = RunDir(result.run_dir).read_partitions()
        # Changes at 800 and 2000; the checks at 1200 and 2400 fall inside the holds and are skipped.
        assert [r["step"] for r in history] == [0, 400, 800, 1600, 2000, 2800]
        assert [r["event"] for r in history] == ["initial", "check", "change", "check", "change", "check"]
        assert [r["current_labels"] for r in history] == [a, a, b, b, c, c]
    # b -> c moves agent 1 from group 0 to group 1: both groups' members change and they restart; without
    # restart every group continues from its source group's weights.
    kept, fresh = runs[False]["actor.layers.0.weight"], runs[True]["actor.layers.0.weight"]
    assert kept.shape == fresh.shape == (3, *kept.shape[1:])
    assert not torch.equal(kept, fresh)


def test_repartitioning_needs_a_learned_partition_and_checks_its_options(tmp_path):
    with pytest.raises(ConfigError, match="repartition_every needs a partition learned from data"):
        build("fups", repartition_every=1000, run_root=str(tmp_path), **SMALL)
    with pytest.raises(ConfigError, match="need repartition_every"):
        build("seps", initial_partition="fups", run_root=str(tmp_path), **SMALL)
    with pytest.raises(ConfigError, match="no option 'windw'; valid options: window"):
        build("seps", repartition_every=1000, repartition_options={"windw": 3}, run_root=str(tmp_path), **SMALL)


def test_the_late_colour_task_hides_the_colours_from_random_actions():
    env = make_env("bps-late-1", num_envs=64)
    assert env.agent_types.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    result = env.reset(seed=0)
    rng = np.random.default_rng(0)
    bonus = 0
    for _ in range(50):
        previous = result
        result = env.step(rng.integers(0, 5, size=(64, 15)))
        rel = result.final_obs[:, :, 4:].reshape(64, 15, 3, 2)
        distances = np.linalg.norm(rel, axis=-1)
        expected = -0.5 * distances.min(-1) + 1.0 * (distances[:, np.arange(15), env.agent_types] <= 0.5)
        np.testing.assert_allclose(result.rewards, expected, rtol=1e-5, atol=1e-5)
        bonus += int((distances[:, np.arange(15), env.agent_types] <= 0.5).sum())
        assert previous.obs.shape == (64, 15, 10)
    assert bonus / (50 * 64 * 15) < 1e-3  # random agents almost never earn the colour's bonus
    # An agent put on its own landmark earns the bonus; on another colour's, only the shared term.
    env.reset(seed=1)
    env.agent_pos[...] = env.landmark_pos[:, [0] * 5 + [1] * 10]
    env.agent_vel[...] = 0.0
    rewards = env.step(np.zeros((64, 15), dtype=np.int64)).rewards
    apart = np.linalg.norm(env.landmark_pos[:, 1] - env.landmark_pos[:, 2], axis=-1) > 0.5
    assert (rewards[:, :10] == 1.0).all()
    assert apart.sum() > 32 and (rewards[apart, 10:] == 0.0).all()


def test_no_flapping_on_bps_1_the_first_partition_stays(tmp_path):
    result = build(
        "seps",
        env="bps-1",
        total_steps=9600,
        eval_interval=9600,
        num_envs=8,
        eval_episodes=2,
        hidden_sizes=(16, 16),
        collect=CollectConfig(steps=50),
        encoder_options={"updates": 1500, "min_updates": 500},
        repartition_every=3200,
        repartition_options={"window": 100, "encoder_updates": 500},
        run_root=str(tmp_path),
    ).run()
    history = RunDir(result.run_dir).read_partitions()
    assert [r["event"] for r in history] == ["initial", "check", "check", "check"]
    first = history[0]["labels"]
    assert first == [0] * 5 + [1] * 5 + [2] * 5
    assert all(r["current_labels"] == first for r in history)
    assert result.partition.labels.tolist() == first


ADAPTIVE = {
    "env": "bps:2-2",
    "num_envs": 4,
    "eval_episodes": 4,
    "hidden_sizes": (16, 16),
    "seed": 3,
    "partitioner": "kmeans",
    "partitioner_options": {"k": 2},
    "encoder_options": {"updates": 300, "min_updates": 0},
    "initial_partition": "fups",
    "repartition_every": 1000,
    "repartition_options": {"window": 200, "encoder_updates": 200},
    "eval_interval": 100_000,
    "checkpoint_interval": 600,
}
"""Adaptive SePS from K = 1 on a 4-agent task: the first check finds the colours, the second confirms them."""


def test_a_repartitioned_run_killed_with_sigkill_resumes_to_the_same_parameters(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed_root = tmp_path / "killed"
    options = f"total_steps=400000, run_root={str(killed_root)!r}, **{ADAPTIVE!r}"
    script = f"from seps import build; build('seps', {options}).run()"
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 180
    # Checkpoints every 600 steps land inside the recording window of the next check (at 1000, 2000, ...).
    while time.time() < deadline and not list(killed_root.glob("*/checkpoints/step_*000002400.pt")):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = killed_root.iterdir()
    state = load_checkpoint(latest_checkpoint(run_dir))
    steps = int(state["env_steps"])
    assert 2400 <= steps < 400_000
    assert state["policy"]["assignment"].tolist() == [0, 0, 1, 1]  # the change at 2000 is in the checkpoint
    assert next(s for s in state["callbacks"] if s)["window"]["count"] > 0  # and a half-filled window
    budget = steps + 1600
    resumed = subprocess.run(
        [sys.executable, "-m", "seps", "train", "--resume", str(run_dir), "--steps", str(budget), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "re-partition checks" in resumed.stdout and "at      2,000 steps: K = 2" in resumed.stdout
    straight = build("seps", total_steps=budget, run_root=str(tmp_path / "straight"), **ADAPTIVE).run().run_dir
    assert param_hash(final_policy(run_dir)) == param_hash(final_policy(straight))
    killed_history = RunDir(run_dir).read_partitions()
    assert killed_history == RunDir(straight).read_partitions()
    assert [r["step"] for r in killed_history] == list(range(0, budget + 1, 1000))
    assert json.loads((run_dir / "summary.json").read_text())["k"] == 2


def test_seps_only_settings_of_a_sweep_reach_and_multiply_the_seps_cells_only(tmp_path):
    from seps.sweep import expand, parse_text

    text = (
        "methods: [seps, fups]\nenvs: ['bps:2-2']\nseeds: [0]\n"
        "config: {initial_partition: fups, repartition_options: {restart: true}, total_steps: 400}\n"
        "grid: {repartition_every: [200, null]}\n"
    )
    cells = expand(parse_text(text, out=tmp_path))
    settings = [(c.method, c.settings) for c in cells]
    adaptive = {"initial_partition": "fups", "repartition_options": {"restart": True}, "total_steps": 400}
    assert settings == [
        ("seps", {**adaptive, "repartition_every": 200}),
        # The static cell of the grid gets none of the check options, so it is a valid static SePS run.
        ("seps", {"total_steps": 400, "repartition_every": None}),
        ("fups", {"total_steps": 400}),
    ]
    assert cells[0].experiment_config(str(tmp_path)).repartition_every == 200
    assert cells[1].experiment_config(str(tmp_path)).repartition_options == {}
