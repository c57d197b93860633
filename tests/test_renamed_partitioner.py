"""``cluster`` / ``cluster_options`` became ``partitioner`` / ``partitioner_options``: the old names keep working."""

from __future__ import annotations

import json
import warnings

import pytest

from seps.cli import main
from seps.config import ExperimentConfig, from_plain, to_plain
from seps.errors import ConfigError
from seps.experiment import build
from seps.pipeline import partition_agents
from seps.run_dir import RunDir

FAST = ["--env", "bps:2-2", "--collect-steps", "20", "-o", "encoder.updates=200"]


def test_build_takes_the_old_names_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"build\(\): 'cluster' is deprecated, use 'partitioner'"):
        experiment = build("seps", cluster="kmeans", cluster_options={"k": 2})
    assert experiment.config.partitioner == "kmeans" and experiment.config.partitioner_options == {"k": 2}
    assert experiment.partitioner.k == 2
    with pytest.warns(DeprecationWarning, match="'cluster' is deprecated"):
        assert experiment.cluster is experiment.partitioner
    with pytest.warns(DeprecationWarning, match="'cluster_options' is deprecated"):
        assert experiment.config.cluster_options == {"k": 2}


def test_the_new_names_do_not_warn_and_both_names_are_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build("seps", partitioner="kmeans", partitioner_options={"k": 3}).partitioner.k == 3
    with pytest.raises(ConfigError, match="give 'partitioner' or its old name 'cluster', not both"):
        build("seps", partitioner="kmeans", cluster="kmeans_db")
    with pytest.raises(ConfigError, match="not both"):
        ExperimentConfig(partitioner_options={"k": 2}, cluster_options={"k": 3})


def test_experiment_config_and_partition_agents_take_the_old_names():
    with pytest.warns(DeprecationWarning, match=r"ExperimentConfig\(\): 'cluster' is deprecated"):
        config = ExperimentConfig(cluster="hdbscan")
    assert config.partitioner == "hdbscan"
    with pytest.warns(DeprecationWarning, match=r"partition_agents\(\): 'cluster_options' is deprecated"):
        result = partition_agents("bps:2-2", "deterministic", "kmeans", cluster_options={"k": 1}, seed=0)
    assert result.partition.k == 1


def test_a_config_json_written_before_the_rename_loads_silently(tmp_path):
    old = to_plain(ExperimentConfig(partitioner="kmeans", partitioner_options={"k": 2}))
    old["cluster"], old["cluster_options"] = old.pop("partitioner"), old.pop("partitioner_options")
    (tmp_path / "config.json").write_text(json.dumps(old))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = RunDir(tmp_path).read_config()
        assert from_plain(old) == config
    assert config.partitioner == "kmeans" and config.partitioner_options == {"k": 2}


def test_the_cli_takes_the_old_flag_and_option_section_with_a_note(capsys):
    code = main(["partition", *FAST, "--no-progress", "--cluster", "kmeans", "-o", "cluster.k=2"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "--cluster is deprecated, use --partitioner" in err
    assert "-o cluster.* is deprecated, use -o partitioner.*" in err
    assert "K = 2" in out or "K=2" in out


def test_the_cli_refuses_the_old_and_new_flag_together(capsys):
    code = main(["partition", *FAST, "--cluster", "kmeans", "--partitioner", "kmeans_db"])
    assert code == 2
    assert "give --partitioner or its old name --cluster, not both" in capsys.readouterr().err
