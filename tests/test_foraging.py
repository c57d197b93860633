"""VectorForaging on its own: snapshots, spawn rules against lbforaging's, the adapter checker, the lbf: family."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from lbforaging.foraging import environment as lbf_environment

from seps.envs.foraging import _FOOTPRINT, VectorForaging, lbf_12ag_3lvl, registered_task
from seps.envs.lbf import FixedLevelForaging, fixed_levels
from seps.errors import ConfigError, UnknownComponentError
from seps.registry import ENVS
from seps.testing.env import check_env_adapter


def _random(result, rng):
    return np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)


def test_snapshot_resume_is_bit_identical() -> None:
    env = lbf_12ag_3lvl(num_envs=4)
    result = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(37):  # mid-episode, some copies already reset
        result = env.step(_random(result, rng))
    state = env.get_state()
    actions = []
    straight = []
    for _ in range(80):  # crosses episode ends: the generator state must carry over too
        actions.append(_random(result, rng))
        result = env.step(actions[-1])
        straight.append(result)
    resumed = lbf_12ag_3lvl(num_envs=4)
    resumed.set_state(state)
    for action, expected in zip(actions, straight, strict=True):
        got = resumed.step(action)
        for field in ("obs", "rewards", "terminated", "truncated", "final_obs", "action_mask"):
            np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    assert sum(r.truncated.any() or r.terminated.any() for r in straight) > 0
    assert np.array_equal(resumed.get_state()["field"], env.get_state()["field"])


def test_same_seed_same_episodes_and_copies_differ() -> None:
    a, b = lbf_12ag_3lvl(num_envs=3), lbf_12ag_3lvl(num_envs=3)
    np.testing.assert_array_equal(a.reset(seed=7).obs, b.reset(seed=7).obs)
    assert not np.array_equal(a.pos[0], a.pos[1])


def _spawn_checks(field: np.ndarray, pos: np.ndarray) -> None:
    rows, cols = field.shape
    assert len(set(map(tuple, pos.tolist()))) == len(pos)  # agents on distinct cells
    food = np.argwhere(field > 0)
    assert (food > 0).all() and (food[:, 0] < rows - 1).all() and (food[:, 1] < cols - 1).all()
    for r, c in food:
        assert (r, c) not in set(map(tuple, pos.tolist()))
        for dr, dc in _FOOTPRINT:
            if (dr, dc) != (0, 0) and 0 <= r + dr < rows and 0 <= c + dc < cols:
                assert field[r + dr, c + dc] == 0


@pytest.mark.parametrize("task", ["fixed", "Foraging-15x15-9p-4f-v3"])
def test_spawn_follows_lbforagings_rules_and_distribution(task: str) -> None:
    if task == "fixed":
        vector = lbf_12ag_3lvl(num_envs=1500)
        kwargs = dict(min_food_level=1, max_food_level=3, field_size=(10, 10), max_num_food=8, sight=2)
        reference = FixedLevelForaging(levels=fixed_levels(12, 3), max_episode_steps=50, force_coop=False, **kwargs)
    else:
        vector = registered_task(task, num_envs=1500)
        reference = lbf_environment.ForagingEnv(**gymnasium.spec(task).kwargs)
    vector.reset(seed=0)
    for e in range(0, 1500, 50):
        _spawn_checks(vector.field[e], vector.pos[e])
    ref_fields, ref_levels = [], []
    for seed in range(1500):
        reference.reset(seed=seed)
        ref_fields.append(reference.field.copy())
        ref_levels.append([p.level for p in reference.players])
    ref_field, vec_field = np.stack(ref_fields), vector.field
    # Same rules, same distribution: food counts, food levels, food cells and agent levels agree
    # within sampling error (1,500 episodes each).
    for name, ref_stat, vec_stat in (
        ("food per episode", (ref_field > 0).sum((1, 2)), (vec_field > 0).sum((1, 2))),
        ("food level", ref_field[ref_field > 0], vec_field[vec_field > 0]),
        ("food row", np.nonzero(ref_field)[1], np.nonzero(vec_field)[1]),
        ("agent level", np.array(ref_levels).ravel(), vector.levels.ravel()),
    ):
        spread = np.sqrt(ref_stat.var() / ref_stat.size + vec_stat.var() / vec_stat.size) + 1e-9
        assert abs(ref_stat.mean() - vec_stat.mean()) < 4 * spread + 1e-6, name
    np.testing.assert_array_equal(vector.food_spawned, vec_field.reshape(1500, -1).sum(1))


@pytest.mark.parametrize(
    "env", [lambda: lbf_12ag_3lvl(num_envs=3), lambda: registered_task("Foraging-5x5-3p-1f-v3", num_envs=4)]
)
def test_check_env_adapter_passes_with_episode_ends(env) -> None:
    check_env_adapter(env(), n_steps=60)  # 50-step limit: truncations (and terminations on 5x5) are covered


def test_lbf_family() -> None:
    fixed = ENVS.get("lbf:8x8-4ag-2lvl-3f")(num_envs=2)
    assert isinstance(fixed, VectorForaging) and fixed.agent_types.tolist() == [0, 1, 0, 1]
    standard = ENVS.get("lbf:Foraging-15x15-9p-4f-v3")(num_envs=2)
    assert standard.agent_types is None and standard.max_episode_steps == 50 and standard.sight == 15
    coop = ENVS.get("lbf:Foraging-8x8-2p-2f-coop-v3")(num_envs=1)
    assert coop.force_coop and ENVS.get("lbf:Foraging-2s-10x10-4p-3f-v3")().sight == 2
    for bad in ("lbf:Foraging-grid-8x8-2p-2f-v3", "lbf:Foraging-99x99-2p-1f-v3", "lbf:10x12-2ag-1lvl-1f", "lbf:tiny"):
        with pytest.raises((ConfigError, UnknownComponentError)) as info:
            ENVS.get(bad)
        assert "lbf" in str(info.value)


def test_vector_env_rejects_bad_actions_and_early_step() -> None:
    env = lbf_12ag_3lvl(num_envs=2)
    with pytest.raises(Exception, match="reset"):
        env.step(np.zeros((2, 12), dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(Exception, match=r"0\.\.5"):
        env.step(np.full((2, 12), 6))
