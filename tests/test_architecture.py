"""The seams: every extension from a module outside seps, one grouping concept, no env in constructors, no cycles."""

import ast
import csv
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import seps
from seps import build
from seps.errors import ConfigError
from seps.experiment import Experiment, resume
from seps.records import RunSummary
from seps.registry import REGISTRIES
from seps.run_dir import RunDir
from seps.sweep import plan_sweep
from seps.testing.smac import SmacStandIn as MMM2StandIn
from tests.param_hashes import RECORDED_PATH, run_case

ext_module: Any = None


@pytest.fixture(autouse=True, scope="module")
def _user_module():
    """Import tests/ext_module.py (which registers its components) for this module's tests only."""
    global ext_module
    saved = {kind: dict(registry._entries) for kind, registry in REGISTRIES.items()}
    ext_module = importlib.import_module("tests.ext_module")
    yield
    for kind, registry in REGISTRIES.items():  # other tests see exactly the built-in registrations
        registry._entries.clear()
        registry._entries.update(saved[kind])
    sys.modules.pop("tests.ext_module", None)


TINY = {"num_envs": 2, "eval_episodes": 2, "hidden_sizes": (8,), "total_steps": 40, "eval_interval": 20}


def test_every_extension_trains_from_a_module_outside_seps(tmp_path):
    """env, encoder, partitioner, learner and a callback of tests/ext_module.py in one run."""
    callback = ext_module.RecordingCallback()
    experiment = build(
        "seps",
        env="ext-two-types",
        encoder="ext_reward_table",
        partitioner="ext_argmax",
        learner="ext_a2c",
        run_root=str(tmp_path),
        collect=seps.collect.CollectConfig(steps=30, num_envs=4),
        **TINY,
    )
    result = experiment.run(callbacks=[callback])
    assert result.partition.labels.tolist() == [0, 0, 1, 1] and result.ari == 1.0  # the planted types
    with (result.run_dir / "metrics.csv").open(newline="") as source:
        rows = [r for r in csv.DictReader(source) if r["kind"] == "train"]
    assert rows and all(float(r["abs_advantage"]) >= 0 for r in rows)  # the new learner's metric is kept
    hooks = [name for name, _ in callback.calls]
    assert hooks[0] == "train_start" and hooks[1] == "evaluation_end" and hooks[-1] == "train_end"
    assert hooks[2:5] == ["rollout_end", "update_end", "rollout_end"]
    assert callback.lrs == [pytest.approx(3e-4 * 0.5**i) for i in range(1, len(callback.lrs) + 1)]
    assert len(callback.lrs) == len(result.evaluations) == 3  # steps 0, 20, 40


def test_a_sharing_mode_from_outside_seps_is_a_fixed_partition_with_agent_ids(tmp_path):
    result = build("ext_halves", env="ext-two-types", run_root=str(tmp_path), **TINY).run()
    partition, saved = RunDir(result.run_dir).read_partition()
    assert partition.labels.tolist() == [0, 0, 1, 1] and saved["append_agent_ids"] is True
    assert not (result.run_dir / "embeddings.npz").exists()  # nothing was collected or encoded
    with pytest.raises(ConfigError, match="does not partition agents"):
        build("ext_halves", env="ext-two-types", partitioner="kmeans_db")


def test_constructing_an_experiment_builds_no_env_and_run_builds_each_once(tmp_path):
    ext_module.TwoTypeEnv.built = 0
    experiment = build("fups", env="ext-two-types", run_root=str(tmp_path), **TINY)
    Experiment(experiment.config)
    assert ext_module.TwoTypeEnv.built == 0
    experiment.run()
    assert ext_module.TwoTypeEnv.built == 2  # training and evaluation
    ext_module.TwoTypeEnv.built = 0
    build("seps", env="ext-two-types", partitioner="fixed", run_root=str(tmp_path), **TINY).run()
    assert ext_module.TwoTypeEnv.built == 2  # a partition that needs no data collects nothing
    resume(RunDir(experiment.run_dir).path)
    assert ext_module.TwoTypeEnv.built == 2


def test_bad_configuration_is_refused_at_construction_without_an_env():
    ext_module.TwoTypeEnv.built = 0
    with pytest.raises(ConfigError, match="unexpected keyword argument 'colour'"):
        build("fups", env="ext-two-types", env_options={"colour": 1})
    with pytest.raises(ConfigError, match="needs no embeddings, so an encoder has no effect"):
        build("seps", env="ext-two-types", partitioner="fixed", encoder="vae")
    assert ext_module.TwoTypeEnv.built == 0


class CountingStandIn(MMM2StandIn):
    """The SMAC stand-in, counting how many games were launched."""

    launched = 0

    def __init__(self, *args, **kwargs):
        CountingStandIn.launched += 1
        super().__init__(*args, **kwargs)


def test_a_smac_sweep_validates_without_launching_a_game(tmp_path):
    CountingStandIn.launched = 0
    spec = {
        "methods": ["nops", "fups_id", "seps"],
        "envs": [{"name": "smac-mmm2", "env_cls": "tests.test_architecture:CountingStandIn"}],
        "seeds": [0, 1, 2],
        "partitioners": ["kmeans_db", {"name": "fixed", "k": 1}],
        "out": str(tmp_path / "sweep"),
    }
    _, cells = plan_sweep(spec)
    assert len(cells) == 12 and CountingStandIn.launched == 0
    assert {c.encoder is None for c in cells if c.partitioner and c.partitioner.name == "fixed"} == {True}


def test_fups_with_ids_and_seps_with_a_fixed_partition_are_the_baselines_bit_for_bit(tmp_path):
    recorded = json.loads(RECORDED_PATH.read_text())
    same_as_fups_id = run_case("fups", "a2c", tmp_path, append_agent_ids=True)
    assert same_as_fups_id["policy"] == recorded["a2c-fups_id"]["policy"]
    same_as_fups = run_case("seps", "a2c", tmp_path, partitioner="fixed", partitioner_options={"k": 1}, plain=True)
    assert same_as_fups["policy"] == recorded["a2c-fups"]["policy"]
    same_as_nops = run_case("seps", "ppo", tmp_path, partitioner="fixed", partitioner_options={"k": "all"}, plain=True)
    assert same_as_nops["optimizer"] == recorded["ppo-nops"]["optimizer"]


def test_run_summary_is_the_record_of_summary_json_and_done_json(tmp_path):
    result = build("nops", env="ext-two-types", run_root=str(tmp_path), **TINY).run()
    summary = RunDir(result.run_dir).read_summary()
    assert isinstance(summary, RunSummary)
    assert summary.max_eval_return == result.max_eval_return and summary.k == 4 and summary.env_steps == 40
    assert summary.evaluations == result.evaluations
    assert RunSummary.from_plain({"status": "done", **summary.to_plain()}) == summary
    assert summary["final_eval_return"] == result.final_eval_return  # mapping-style reading still works


def test_config_round_trips_through_the_run_directory(tmp_path):
    experiment = build("fups_id", env="ext-two-types", learner_options={"lr": 1e-3}, run_root=str(tmp_path), **TINY)
    directory = RunDir.create(tmp_path, "run")
    directory.write_config(experiment.config)
    assert directory.read_config() == experiment.config


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Modules of seps that ``path`` imports anywhere (also inside functions), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = module.rsplit(".", node.level)[0] if path.name != "__init__.py" else module
                base = f"{package}.{base}"
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules and name != module}


def test_seps_has_no_import_cycle():
    root = Path(seps.__file__).parent
    paths = {
        ".".join(("seps", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    graph = {module: _imports(path, module, set(paths)) for module, path in paths.items()}
    # A package's __init__ re-exporting its own modules is not a cycle; a module importing its package is.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dependency in sorted(graph[module]):
            if state.get(dependency) == 1:
                cycle = [*stack[stack.index(dependency) :], dependency]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dependency not in state:
                visit(dependency)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_cli_sets_the_agent_id_option_and_leaves_it_to_the_method_by_default(tmp_path):
    from seps.cli import build_parser
    from seps.cli.train_command import experiment_from_args

    parser = build_parser()
    base = ["train", "--method", "fups", "--run-root", str(tmp_path)]
    with_ids = experiment_from_args(parser.parse_args([*base, "--append-agent-ids"]))
    assert with_ids.config.append_agent_ids is True and with_ids.grouping.append_agent_ids is True
    default = experiment_from_args(parser.parse_args(base))
    assert default.config.append_agent_ids is None and default.grouping.append_agent_ids is False
    assert experiment_from_args(parser.parse_args([*base[:2], "fups_id"])).grouping.append_agent_ids is True
