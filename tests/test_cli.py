"""The command line: output of partition/train/evaluate/list, plug-in partitioners, and bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

from seps.cli import main
from seps.records import Embeddings, Partition
from seps.registry import PARTITIONERS

FAST_PARTITION = ["--env", "bps:3-3", "--collect-steps", "40", "-o", "encoder.updates=1500"]


@attrs.frozen(kw_only=True)
class SplitByFirstCoordinate:
    """A partitioner written outside seps: agents below / above the median of the first latent coordinate."""

    def fit(self, embeddings: Embeddings | np.ndarray, seed: int = 0) -> Partition:
        means = embeddings.means if isinstance(embeddings, Embeddings) else np.asarray(embeddings)
        return Partition(labels=(means[:, 0] > np.median(means[:, 0])).astype(int), method="split")


@pytest.fixture
def registered_split():
    entries = dict(PARTITIONERS._entries)
    PARTITIONERS.register("split_first")(SplitByFirstCoordinate)
    yield "split_first"
    PARTITIONERS._entries.clear()
    PARTITIONERS._entries.update(entries)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_partition_prints_groups_k_scores_ari_and_time_and_writes_out(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, "partition", *FAST_PARTITION, "--seed", "0", "--out", str(out_dir))
    assert code == 0
    assert "6 agents -> K = 2 groups (kmeans_db)" in out
    assert "group 0: agents [0, 1, 2]" in out and "group 1: agents [3, 4, 5]" in out
    assert "score per K: 2: " in out
    assert "adjusted Rand index vs true types: 1.000" in out
    assert "total " in out
    saved = json.loads((out_dir / "partition.json").read_text())
    assert saved["labels"] == [0, 0, 0, 1, 1, 1] and saved["ari"] == 1.0
    assert np.load(out_dir / "embeddings.npz")["means"].shape == (6, 5)
    # The saved transitions are reused: the same partition without collecting again.
    code, out_again, _ = run_cli(
        capsys, "partition", *FAST_PARTITION, "--transitions", str(out_dir / "transitions.npz")
    )
    assert code == 0 and "group 1: agents [3, 4, 5]" in out_again


def test_user_partitioner_by_name_and_by_import_path(capsys, registered_split):
    for spec in (registered_split, "tests.test_cli:SplitByFirstCoordinate"):
        code, out, _ = run_cli(capsys, "partition", *FAST_PARTITION, "--partitioner", spec)
        assert code == 0
        assert "K = 2 groups (split)" in out


def test_list_prints_every_registry(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert set(lines) == {"envs", "encoders", "partitioners", "learners", "methods"}
    assert "bps-1" in lines["envs"] and "bps:..." in lines["envs"]
    assert lines["methods"] == "fups, fups_id, nops, seps"
    code, out, _ = run_cli(capsys, "list", "kmeans*")
    assert "partitioners: kmeans, kmeans_db, kmeans_silhouette" in out


def test_train_then_evaluate(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "train",
        "--method",
        "nops",
        "--env",
        "bps:1-1",
        "--steps",
        "800",
        "--num-envs",
        "4",
        "--eval-interval",
        "400",
        "--eval-episodes",
        "2",
        "--hidden",
        "16",
        "--run-root",
        str(tmp_path),
        "--no-progress",
    )
    assert code == 0
    assert "nops on bps:1-1, seed 0: K = 2 parameter groups" in out
    assert "max evaluation return:" in out
    (run_dir,) = tmp_path.iterdir()
    code, out, _ = run_cli(capsys, "evaluate", str(run_dir), "--episodes", "3")
    assert code == 0 and "3 greedy episodes, return" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["partition", "--env", "bps-9"], "unknown env 'bps-9'. Did you mean"),
        (["partition", "--encoder", "vea"], "unknown encoder 'vea'. Did you mean 'vae'?"),
        (["partition", "--partitioner", "kmeans-db"], "unknown partitioner 'kmeans-db'. Did you mean 'kmeans_db'?"),
        (["partition", "--partitioner", "kmeans", "-o", "partitioner.k=0"], "'k' must be >= 1: 0"),
        (
            ["partition", "--env", "bps:2-2", "--partitioner", "kmeans", "-o", "partitioner.k=5"],
            "number of agents (4), got 5",
        ),
        (["partition", "-o", "partitioner.k_max=1"], "'k_max' must be >= 2: 1"),
        (["partition", "--collect-steps", "0"], "'steps' must be a positive integer"),
        (["partition", "-o", "encoder.update=3"], "encoder 'vae' has no option 'update'"),
        (["partition", "-o", "partitioner"], "must look like SECTION.KEY=VALUE"),
        (["train", "--steps", "0"], "--steps must be > 0: 0"),
        (["train", "--method", "fups", "--encoder", "vae"], "method 'fups' does not partition agents"),
        (["train", "--resume", "."], "is not a seps run directory"),
        (["evaluate", "/nonexistent/run"], "is not a seps run directory"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_work(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == "" and not any(tmp_path.iterdir())


def test_unwritable_out_is_refused_before_any_work(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "partition", "--out", str(blocker / "sub"))
    assert code == 2
    assert "is not writable" in err
    code, _, err = run_cli(capsys, "partition", "--out", str(blocker))
    assert code == 2 and "exists and is not a directory" in err


def test_the_console_script_exits_2_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "seps", "partition", "--env", "nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("seps partition: error: unknown env 'nope'")
    assert "Traceback" not in result.stderr
