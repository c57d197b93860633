"""Results stay bit-identical: the recorded parameter hashes of every learner x sharing mode on bps-1."""

import json

import pytest

from tests.param_hashes import DATA, LEARNERS, METHODS, run_case

RECORDED = json.loads(DATA.read_text())


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("method", METHODS)
def test_short_training_reproduces_the_recorded_parameters(method, learner, tmp_path):
    assert run_case(method, learner, tmp_path) == RECORDED[f"{learner}-{method}"]
