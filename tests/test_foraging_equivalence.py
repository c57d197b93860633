"""The vectorised foraging equals lbforaging 2.0.0 step by step (harness: tests/foraging_harness.py).

Both run from the same states with the same actions; every observation, reward, terminated /
truncated flag and action mask is asserted equal on every step, and the edge cases the rules
distinguish are counted and required to have happened.
"""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest
from lbforaging.foraging import environment as lbf_environment

from seps.envs.foraging import VectorForaging, lbf_12ag_3lvl, make_foraging, registered_task
from seps.envs.lbf import FixedLevelForaging, fixed_levels
from tests.foraging_harness import run_lockstep

STANDARD = "Foraging-15x15-9p-4f-v3"

# Cases every task must show; the standard task (9 agents of level 1-2 on 15x15) rarely eats all
# its food, so its terminations come from the dense variant checked below.
REQUIRED = (
    "invalid action -> NONE",
    "move blocked by a conflict",
    "move blocked by a standing agent",
    "move into a cell being vacated (chain)",
    "food loaded",
    "simultaneous load (2+ agents, one food)",
    "two foods loaded in one step",
    "failed load (levels too low)",
    "agents stacked on one cell",
    "truncated (step limit)",
)


def _fixed_reference() -> FixedLevelForaging:
    return FixedLevelForaging(
        levels=fixed_levels(12, 3),
        min_food_level=1,
        max_food_level=3,
        field_size=(10, 10),
        max_num_food=8,
        sight=2,
        max_episode_steps=50,
        force_coop=False,
    )


def _standard_reference(env_id: str) -> lbf_environment.ForagingEnv:
    return lbf_environment.ForagingEnv(**gymnasium.spec(env_id).kwargs)


def _check(seen: dict[str, int], required: tuple[str, ...]) -> None:
    missing = [case for case in required if seen[case] == 0]
    assert not missing, f"edge cases never happened: {missing}; seen {dict(seen)}"
    # spawn_food keeps foods apart (no food in the 3x3 box or within 2 cells in a row or column of
    # another), so a loader always touches exactly one food and the order lbforaging pops its
    # loading set in cannot change the outcome.
    assert seen["loader next to two foods"] == 0


@pytest.mark.parametrize(
    ("task", "make_reference", "make_vector", "extra"),
    [
        ("lbf-12ag-3lvl", _fixed_reference, lbf_12ag_3lvl, ("terminated (all food eaten)", "swap or cycle")),
        (STANDARD, functools.partial(_standard_reference, STANDARD), functools.partial(registered_task, STANDARD), ()),
    ],
)
def test_vectorised_foraging_equals_lbforaging(task, make_reference, make_vector, extra) -> None:
    # 2 copies x 2,500 steps = 5,000 random-action steps per task.
    seen = run_lockstep(make_reference, make_vector(num_envs=2), n_steps=2500, seed=0)
    _check(seen, REQUIRED + extra)


def test_all_food_eaten_terminates_like_lbforaging() -> None:
    # Few agents, one food: episodes end by eating all food, the termination path of the standard rules.
    env_id = "Foraging-5x5-3p-1f-v3"
    seen = run_lockstep(
        functools.partial(_standard_reference, env_id), registered_task(env_id, num_envs=2), n_steps=600, seed=1
    )
    _check(seen, ("terminated (all food eaten)", "truncated (step limit)", "food loaded"))


@pytest.mark.slow
@pytest.mark.parametrize("env_id", [STANDARD, "Foraging-8x8-2p-2f-coop-v3", "Foraging-2s-10x10-4p-3f-v3"])
def test_vectorised_foraging_equals_lbforaging_long(env_id: str) -> None:
    seen = run_lockstep(functools.partial(_standard_reference, env_id), registered_task(env_id, 4), 10_000, seed=3)
    assert seen["food loaded"] > 0


def test_vectorised_fixed_levels_are_fixed_and_hidden() -> None:
    env = lbf_12ag_3lvl(num_envs=3)
    env.reset(seed=0)
    assert env.agent_types.tolist() == [0, 1, 2] * 4
    assert (env.levels == np.array([1, 2, 3] * 4)).all()
    assert env.obs_dims.tolist() == [3 * 8 + 2 * 12] * 12
    standard = registered_task(STANDARD, num_envs=3)
    standard.reset(seed=0)
    assert standard.agent_types is None and standard.obs_dims.tolist() == [3 * 4 + 3 * 9] * 9


def test_observation_spaces_match_lbforaging() -> None:
    for reference, vector in (
        (_fixed_reference(), lbf_12ag_3lvl()),
        (_standard_reference(STANDARD), registered_task(STANDARD)),
    ):
        space = reference.observation_space[0]
        np.testing.assert_array_equal(vector.observation_spaces[0].low, space.low)
        np.testing.assert_array_equal(vector.observation_spaces[0].high, space.high)


def test_vector_env_runs_by_itself_and_masks_hold() -> None:
    env: VectorForaging = lbf_12ag_3lvl(num_envs=8)
    result = env.reset(seed=4)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(200):
        actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
        result = env.step(actions)
        ends += int((result.terminated | result.truncated)[:, 0].sum())
    assert ends >= 8


def test_wide_task_equals_lbforaging() -> None:
    # 20 agents and 14 food: more than 12 of each, so observe() combines two bit sets per kind.
    def reference() -> FixedLevelForaging:
        return FixedLevelForaging(
            levels=fixed_levels(20, 3),
            min_food_level=1,
            max_food_level=3,
            field_size=(16, 16),
            max_num_food=14,
            sight=3,
            max_episode_steps=50,
            force_coop=False,
        )

    vector = make_foraging(num_envs=2, n_agents=20, n_levels=3, field_size=16, n_food=14, sight=3)
    seen = run_lockstep(reference, vector, n_steps=150, seed=2)
    _check(seen, ("food loaded", "move blocked by a conflict", "truncated (step limit)"))
