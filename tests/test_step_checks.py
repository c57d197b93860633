"""MultiAgentEnv.check_step_actions, shared by the vectorised envs' step."""

from __future__ import annotations

import numpy as np
import pytest

import seps.envs.registrations  # noqa: F401
from seps.errors import EnvError
from seps.registry import ENVS

VECTORISED = ["bps-1", "crware-1", "lbf-12ag-3lvl"]


@pytest.mark.parametrize("name", VECTORISED)
def test_step_before_reset_is_refused(name: str) -> None:
    env = ENVS.get(name)(num_envs=2)
    with pytest.raises(EnvError, match=r"step\(\) was called before reset\(\)"):
        env.step(np.zeros((2, env.n_agents), dtype=np.int64))


@pytest.mark.parametrize("name", VECTORISED)
@pytest.mark.parametrize("bad", [-1, "too_large"])
def test_actions_out_of_range_are_refused_with_the_values_found(name: str, bad: int | str) -> None:
    env = ENVS.get(name)(num_envs=2)
    env.reset(seed=0)
    n_actions = int(env.max_n_actions)
    value = n_actions if bad == "too_large" else bad
    actions = np.zeros((2, env.n_agents), dtype=np.int64)
    actions[1, 0] = value
    low, high = min(0, value), max(0, value)
    with pytest.raises(EnvError, match=rf"actions must lie in 0\.\.{n_actions - 1}, got values {low}\.\.{high}"):
        env.step(actions)


@pytest.mark.parametrize("name", VECTORISED)
def test_valid_actions_pass_and_wrong_shapes_are_refused(name: str) -> None:
    env = ENVS.get(name)(num_envs=2)
    env.reset(seed=0)
    assert env.step(np.zeros((2, env.n_agents), dtype=np.int32)).obs.shape[:2] == (2, env.n_agents)
    with pytest.raises(EnvError, match="actions must have shape"):
        env.step(np.zeros((3, env.n_agents), dtype=np.int64))
