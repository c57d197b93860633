"""Sweeps: grid expansion, bad input, local / Ray backends, resuming after SIGKILL, partition-only sweeps with cache."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import attrs
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import seps.cli
from seps import resume
from seps.cli import report_command, sweep_command
from seps.errors import ConfigError, SepsError
from seps.records import Partition
from seps.sweep import expand, parse_text, plan_sweep, run_sweep
from seps.sweep.cache import EmbeddingCache

TINY_TRAIN = {
    "total_steps": 400,
    "eval_interval": 200,
    "checkpoint_interval": 200,
    "num_envs": 4,
    "hidden_sizes": [16, 16],
    "eval_episodes": 2,
    "collect": {"steps": 40, "num_envs": 2},
}
TINY_ENCODER = {"name": "vae", "updates": 60, "batch_size": 64}
TINY_COLLECT = {"collect": {"steps": 40, "num_envs": 2}}


def train_spec(out, **extra):
    spec = {
        "methods": ["fups", "seps"],
        "envs": ["bps:1-1"],
        "seeds": [0, 1],
        "encoders": [TINY_ENCODER],
        "partitioners": [{"name": "kmeans", "k": 2}],
        "config": TINY_TRAIN,
        "out": str(out),
    }
    spec.update(extra)
    return spec


def baseline_spec(out, **extra):
    spec = train_spec(out, methods=["fups", "nops"], **extra)
    del spec["encoders"], spec["partitioners"]
    return spec


def partition_spec(out, **extra):
    spec = {
        "mode": "partition",
        "envs": ["bps:2-2"],
        "seeds": [0, 1],
        "encoders": [TINY_ENCODER],
        "partitioners": ["kmeans_silhouette", {"name": "kmeans", "k": 2}, {"name": "fixed", "k": "all"}],
        "config": TINY_COLLECT,
        "out": str(out),
    }
    spec.update(extra)
    return spec


def done_cells(sweep_dir: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in sorted((sweep_dir / "cells").glob("*/done.json"))}


@attrs.frozen
class FailOnSeedOne:
    """A partitioner that fails for seed 1 (to test that one failing cell does not stop the others)."""

    def fit(self, embeddings, seed: int = 0) -> Partition:
        if seed == 1:
            raise RuntimeError("planted failure for seed 1")
        return Partition(labels=np.zeros(embeddings.n_agents, dtype=np.int64), method="fail_on_seed_one")


def test_env_config_sets_a_budget_per_task_family():
    spec = parse_text(
        textwrap.dedent(
            """
            methods: [fups]
            envs: [bps-1, bps-2, crware-1]
            seeds: [0]
            config: {total_steps: 1000, eval_interval: 500}
            env_config:
              "crware-*": {total_steps: 5000}
              bps-2: {eval_interval: 100}
            """
        )
    )
    settings = {c.env.name: c.settings for c in expand(spec)}
    assert settings["bps-1"] == {"total_steps": 1000, "eval_interval": 500}
    assert settings["bps-2"] == {"total_steps": 1000, "eval_interval": 100}
    assert settings["crware-1"] == {"total_steps": 5000, "eval_interval": 500}
    assert expand(spec)[2].experiment_config("runs").total_steps == 5000


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"lbf-*": {total_steps: 10}', "matches none of the sweep's envs"),
        ("bps-1: {total_stepz: 10}", "unknown setting 'total_stepz'"),
        ("bps-1: {total_steps: 0}", "'total_steps' must be > 0"),
        ("bps-1: 5", "give a mapping of settings"),
    ],
)
def test_env_config_errors_name_the_entry(entry, message):
    text = f"methods: [fups]\nenvs: [bps-1]\nseeds: [0]\nenv_config:\n  {entry}\n"
    with pytest.raises(ConfigError, match=message) as error:
        parse_text(text)
    assert "env_config" in str(error.value)


def test_grid_multiplies_only_seps_by_encoders_and_partitioners_and_names_are_stable():
    spec = parse_text(
        textwrap.dedent(
            """
            methods: [nops, fups_id, seps]
            envs: [bps-1]
            seeds: [0, 1]
            encoders: [vae, deterministic]
            partitioners: [kmeans_db, {name: kmeans, k: 3}]
            grid: {hidden_sizes: [[16], [32]]}
            """
        )
    )
    cells = expand(spec)
    # baselines: 2 methods x 2 widths x 2 seeds; seps: 2 encoders x 2 partitioners x 2 widths x 2 seeds
    assert len(cells) == 8 + 16
    assert all(c.encoder is None and c.partitioner is None for c in cells if c.method != "seps")
    assert {(c.encoder.name, c.partitioner.label) for c in cells if c.method == "seps"} == {
        (e, p) for e in ("vae", "deterministic") for p in ("kmeans_db", "kmeans(k=3)")
    }
    names = [c.name for c in cells]
    assert len(set(names)) == len(names)
    assert names == [c.name for c in expand(parse_text(spec.text))]
    # adding a seed keeps the names of the existing cells, so an extended sweep does not redo them
    more = parse_text(spec.text.replace("seeds: [0, 1]", "seeds: [0, 1, 2]"))
    assert set(names) < {c.name for c in expand(more)}
    # a changed setting is a different experiment: new names
    changed = parse_text(spec.text + "config: {total_steps: 1000}\n")
    assert not set(names) & {c.name for c in expand(changed)}
    assert cells[0].name.startswith("nops-a2c-bps-1-hidden_sizes=[16]-s0-")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("envs: [bps-1\nseeds: [0]\n", "line 2: malformed YAML"),
        ("envs: [bps-1]\nseeds: [0]\nseedz: [1]\n", "line 3 (seedz): unknown key 'seedz'. Did you mean 'seeds'?"),
        ("envs: [bps-1]\nseeds: [0]\npartitioners:\n  - kmeans_db\n  - kmeanz\n", "line 5 (partitioners[1])"),
        ("envs: [bps-9]\nseeds: [0]\n", "line 1 (envs[0]): unknown env 'bps-9'"),
        ("envs: [bps-1]\nseeds: []\n", "line 2 (seeds): 'seeds' is empty, so the grid has no cells"),
        ("envs: [bps-1]\nseeds: [0]\nmethods: []\n", "line 3 (methods): 'methods' is empty"),
        ("envs: [bps-1]\nseeds: [0]\nconfig:\n  total_steps: 0\n", "line 4 (config.total_steps): 'total_steps'"),
        ("envs: [bps-1]\nseeds: [0]\nconfig:\n  total_step: 9\n", "line 4 (config.total_step): unknown setting"),
        ("envs: [bps-1]\nseeds: [0]\nconfig: {seed: 3}\n", "(config.seed): 'seed' is set by the sweep itself"),
        ("envs: [bps-1]\nseeds: [0]\nlearners: [{name: a2c, lrr: 1}]\n", "line 3 (learners[0]): learner 'a2c' has"),
        ("methods: [fups]\nenvs: [bps-1]\nseeds: [0]\npartitioners: [hdbscan]\n", "line 4 (partitioners): no method"),
        ("envs: ['bps:1-1']\nseeds: [0]\npartitioners: [{name: kmeans, k: 5}]\n", "has 2 agents; use k <= 2"),
        ("envs: [bps-1]\nseeds: [0]\nenvs: [bps-2]\n", "line 3: key 'envs' appears twice"),
        ("mode: partition\nenvs: [bps-1]\nseeds: [0]\nmethods: [seps]\n", "line 4 (methods): unknown key 'methods'"),
        ("envs: [bps-1]\nseeds: [0]\ngrid:\n  num_envs: [4, -1]\n", "line 4 (grid.num_envs): 'num_envs' must be > 0"),
        ("imports: [no_such_module]\nenvs: [bps-1]\nseeds: [0]\n", "line 1 (imports): cannot import"),
    ],
)
def test_bad_input_is_one_line_naming_line_and_key_before_any_run(text, message, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        run_sweep(path, out=tmp_path / "out", workers=0)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_every_cell_is_an_ordinary_run_directory_and_a_rerun_skips_finished_cells(tmp_path):
    result = run_sweep(train_spec(tmp_path / "sweep"), workers=0)
    assert result.ok and len(result.by_status("done")) == 4
    for outcome in result.outcomes:
        cell = tmp_path / "sweep" / "cells" / outcome.name
        summary = json.loads((cell / "done.json").read_text())
        assert summary["env_steps"] == 400 and len(summary["evaluations"]) == 3
        assert summary["k"] == (1 if outcome.name.startswith("fups") else 2)
        experiment = resume(cell)  # seps can continue or evaluate it like any run
        assert experiment.config.seed == json.loads((cell / "cell.json").read_text())["seed"]
        assert experiment.config.method == outcome.name.split("-")[0]
    assert len(list((tmp_path / "sweep" / "cells").glob("seps-*/embeddings.npz"))) == 2
    before = done_cells(tmp_path / "sweep")
    again = run_sweep(train_spec(tmp_path / "sweep"), workers=0)
    assert len(again.by_status("skipped")) == 4 and done_cells(tmp_path / "sweep") == before


def test_an_unfinished_cell_resumes_from_its_checkpoint(tmp_path):
    spec = baseline_spec(tmp_path / "sweep", seeds=[0])
    spec["methods"] = ["fups"]
    run_sweep(spec, workers=0)
    (cell,) = (tmp_path / "sweep" / "cells").iterdir()
    finished = json.loads((cell / "done.json").read_text())
    # as if killed after the step-200 checkpoint: no done marker, latest points at step 200
    (cell / "done.json").unlink()
    (cell / "checkpoints" / "step_000000000400.pt").unlink()
    (cell / "checkpoints" / "latest").write_text("step_000000000200.pt")
    first_checkpoint = (cell / "checkpoints" / "step_000000000200.pt").stat().st_mtime_ns
    result = run_sweep(spec, workers=0)
    assert result.by_status("done")[0].name == cell.name
    resumed = json.loads((cell / "done.json").read_text())
    assert resumed["evaluations"] == finished["evaluations"]
    assert (cell / "checkpoints" / "step_000000000200.pt").stat().st_mtime_ns == first_checkpoint


def test_killed_sweep_rerun_completes_only_the_missing_work(tmp_path):
    # A local pool of two spawned workers; SIGKILL hits the sweep process only, as `kill -9 PID` would:
    # its workers must notice and exit rather than go on as orphans.
    spec_path = tmp_path / "kill.yaml"
    out = tmp_path / "sweep"
    steps = {**TINY_TRAIN, "total_steps": 12_000, "eval_interval": 6000, "checkpoint_interval": 3000}
    spec_path.write_text(json.dumps(baseline_spec(out, seeds=[0, 1, 2], config=steps)))
    code = f"from seps.sweep import run_sweep; run_sweep({str(spec_path)!r}, workers=2)"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    deadline = time.monotonic() + 120  # generous: spawning workers is slow on a loaded machine
    while len(done_cells(out)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1.0)  # the orphaned workers' parent check runs every 0.5 s
    finished = done_cells(out)
    assert 2 <= len(finished) < 6, "the sweep should be killed midway; make the cells longer"
    result = run_sweep(spec_path, workers=0)
    assert sorted(o.name for o in result.by_status("skipped")) == sorted(finished)
    assert len(result.by_status("done")) == 6 - len(finished) and result.ok
    after = done_cells(out)
    assert len(after) == 6 and all(after[name] == mtime for name, mtime in finished.items())


def test_a_failing_cell_is_recorded_and_the_others_finish(tmp_path):
    spec = partition_spec(tmp_path / "sweep", partitioners=["kmeans_silhouette", "tests.test_sweep:FailOnSeedOne"])
    result = run_sweep(spec, workers=0)
    (failed,) = result.failed
    assert "FailOnSeedOne" in failed.name and "-s1-" in failed.name
    assert failed.error == "RuntimeError: planted failure for seed 1"
    cell = tmp_path / "sweep" / "cells" / failed.name
    assert (cell / "error.txt").read_text().strip() == failed.error
    assert "Traceback" in (cell / "traceback.txt").read_text() and not (cell / "done.json").exists()
    assert len(result.by_status("done")) == 3


def test_partition_sweep_encodes_once_per_env_and_seed_and_reuses_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = run_sweep(partition_spec(tmp_path / "a", cache=str(cache)), workers=0)
    assert first.ok and len(first.outcomes) == 6
    assert len(list(cache.glob("*.npz"))) == 2  # one entry per seed, shared by the three partitioners
    cells = tmp_path / "a" / "cells"
    summaries = {o.name: json.loads((cells / o.name / "done.json").read_text()) for o in first.outcomes}
    assert not any(s["cache_hit"] for s in summaries.values())
    for name, summary in summaries.items():
        partition = json.loads((cells / name / "partition.json").read_text())
        assert summary["ari"] == pytest.approx(adjusted_rand_score(partition["agent_types"], partition["labels"]))
        assert partition["agent_types"] == [0, 0, 1, 1]
    assert all(s["k"] == 2 for n, s in summaries.items() if "kmeans-k2" in n)
    assert all(s["k"] == 4 for n, s in summaries.items() if "fixed" in n)
    # another sweep with one more partitioner: every embedding comes from the cache
    start = time.perf_counter()
    extra = ["kmeans_silhouette", {"name": "kmeans", "k": 2}, {"name": "fixed", "k": "all"}, "hdbscan"]
    second = run_sweep(partition_spec(tmp_path / "b", cache=str(cache), partitioners=extra), workers=0)
    assert time.perf_counter() - start < 5
    assert second.ok and len(second.outcomes) == 8 and len(list(cache.glob("*.npz"))) == 2
    for outcome in second.outcomes:
        summary = json.loads((tmp_path / "b" / "cells" / outcome.name / "done.json").read_text())
        assert summary["cache_hit"]
        if outcome.name in summaries:  # same cell definition, same embeddings: same result
            assert summary["ari"] == summaries[outcome.name]["ari"]


def test_cache_key_includes_encoder_defaults_so_equal_settings_share_an_entry(tmp_path):
    from seps.collect import CollectConfig
    from seps.sweep import Component

    cache = EmbeddingCache(tmp_path)
    env, collect = Component(name="bps:1-1"), CollectConfig(steps=20, num_envs=2)
    first = cache.get(env, Component(name="vae", options={"updates": 30}), collect, 0)
    same = cache.get(env, Component(name="vae", options={"updates": 30, "latent_dim": 5}), collect, 0)
    other = cache.get(env, Component(name="vae", options={"updates": 30}), collect, 1)
    assert not first.hit and same.hit and not other.hit
    np.testing.assert_array_equal(first.embeddings.means, same.embeddings.means)


def test_ray_backend_runs_a_tiny_sweep(tmp_path):
    ray = pytest.importorskip("ray", reason="the Ray backend needs ray (pip install 'seps[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = run_sweep(partition_spec(tmp_path / "sweep"), backend="ray", workers=2)
    finally:
        ray.shutdown()
    assert result.ok and len(result.by_status("done")) == 6
    assert len(done_cells(tmp_path / "sweep")) == 6


def run_cli(argv, monkeypatch):
    # until seps/cli/__init__.py lists the sweep and report commands
    commands = tuple(seps.cli.COMMANDS)
    missing = tuple(c for c in (sweep_command, report_command) if c not in commands)
    monkeypatch.setattr(seps.cli, "COMMANDS", commands + missing)
    return seps.cli.main(argv)


def test_cli_sweep_and_report(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "p.yaml"
    spec.write_text(json.dumps(partition_spec(tmp_path / "sweep", seeds=[0])))
    assert run_cli(["sweep", str(spec), "--dry-run"], monkeypatch) == 0
    assert "3 cells (partition)" in capsys.readouterr().out
    assert run_cli(["sweep", str(spec), "--workers", "0", "--no-progress"], monkeypatch) == 0
    assert "3 cells run now, 0 finished earlier, 0 failed" in capsys.readouterr().out
    assert run_cli(["report", str(tmp_path / "sweep"), "--no-plots"], monkeypatch) == 0
    assert (tmp_path / "sweep" / "report.md").is_file()
    spec.write_text("envs: [bps-1]\nseeds: [0]\nlearner: [a2c]\n")
    assert run_cli(["sweep", str(spec)], monkeypatch) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "line 3 (learner): unknown key 'learner'. Did you mean 'learners'?" in error
    assert run_cli(["sweep", str(spec), "--address", "auto"], monkeypatch) == 2


def test_run_sweep_refuses_bad_arguments(tmp_path):
    spec = partition_spec(tmp_path / "sweep")
    for kwargs, message in [
        ({"workers": -1}, "workers must be"),
        ({"backend": "slurm"}, "unknown backend 'slurm'"),
        ({"address": "auto"}, "--address is for the ray backend"),
    ]:
        with pytest.raises(SepsError, match=message):
            run_sweep(spec, **kwargs)
    assert not (tmp_path / "sweep").exists()
    assert plan_sweep(spec)[0].out == tmp_path / "sweep"
