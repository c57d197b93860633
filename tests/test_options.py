"""One typed option path: the CLI's -o, sweep files and Python keywords convert to each field's type."""

import pytest

from seps import build
from seps.cli import build_parser
from seps.cli.train_command import experiment_from_args
from seps.errors import ConfigError
from seps.options import parse_value
from seps.sweep import parse_text
from seps.sweep.grid import expand


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 1e-3),
        ("1e6", 1e6),
        ("1.0e6", 1e6),
        ("-2E+4", -2e4),
        ("3", 3),
        ("off", "off"),
        ("yes", "yes"),
        ("true", True),
        ("[64, 64]", [64, 64]),
        ("null", None),
    ],
)
def test_parse_value_reads_yaml_1_2_numbers_and_booleans(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_cli_option_in_scientific_notation_reaches_the_learner_as_a_float(tmp_path):
    args = build_parser().parse_args(
        ["train", "--method", "fups", "--steps", "2e5", "-o", "learner.lr=1e-3", "--run-root", str(tmp_path)]
    )
    experiment = experiment_from_args(args)
    assert experiment.learner.lr == 1e-3 and type(experiment.learner.lr) is float
    assert experiment.config.total_steps == 200_000
    assert list(tmp_path.iterdir()) == []  # building an experiment creates no run directory


def test_sweep_file_float_without_a_dot_is_a_float():
    spec = parse_text(
        "methods: [fups]\nenvs: [bps-1]\nseeds: [0]\nlearners: [{name: a2c, lr: 1e-3}]\nconfig: {total_steps: 1e5}\n"
    )
    cell = expand(spec)[0]
    config = cell.experiment_config(run_root="runs")
    assert config.total_steps == 100_000 and config.learner_options == {"lr": 1e-3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learner_options": {"lr": "fast"}}, "learner 'a2c': option 'lr' must be a float, got 'fast' (str)"),
        ({"seed": True}, "build(): option 'seed' must be an int, got True (bool)"),
        ({"total_steps": 2.5}, "build(): option 'total_steps' must be an int, got 2.5 (float)"),
        ({"seed": -1}, "build(): 'seed' must be an integer in [0, 2**32): -1"),
        ({"eval_greedy": "sometimes"}, "build(): option 'eval_greedy' must be a boolean (true/false), got 'sometimes'"),
        ({"learner_options": {"n_step_return": True}}, "option 'n_step_return' must be an int, got True (bool)"),
    ],
)
def test_build_refuses_a_wrong_type_in_one_line(kwargs, message):
    with pytest.raises(ConfigError) as error:
        build("fups", **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_build_converts_numeric_strings_and_integral_floats():
    experiment = build("fups", total_steps="100", seed="3", learner_options={"lr": "1e-3"}, eval_interval=1e4)
    config = experiment.config
    assert (config.total_steps, config.seed, config.eval_interval) == (100, 3, 10_000)
    assert experiment.learner.lr == 1e-3


def test_partitioner_options_convert_through_the_registry():
    experiment = build("seps", partitioner="kmeans", partitioner_options={"k": 3.0}, encoder_options={"updates": "1e3"})
    assert experiment.partitioner.k == 3 and type(experiment.partitioner.k) is int
    assert experiment.encoder.updates == 1000
    with pytest.raises(ConfigError, match=r"partitioner 'fixed': option 'k' must be an int or one of 'all'"):
        build("seps", partitioner="fixed", partitioner_options={"k": "some"})
