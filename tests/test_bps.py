"""Blind-particle Spread: dynamics, rewards, observation layout, BPS-h permutations, resets, registry."""

from __future__ import annotations

import numpy as np
import pytest

import seps.envs  # noqa: F401  (registers the bps tasks)
from seps.envs.bps import BlindParticleSpread, feature_permutations, parse_type_counts
from seps.errors import ConfigError, EnvError
from seps.registry import ENVS


def make(counts: tuple[int, ...] = (2, 1), **kwargs: object) -> BlindParticleSpread:
    return BlindParticleSpread(type_counts=counts, **kwargs)  # type: ignore[arg-type]


def place(env: BlindParticleSpread, pos: list, vel: list, landmarks: list) -> None:
    env.agent_pos[:] = np.array(pos, dtype=np.float32)
    env.agent_vel[:] = np.array(vel, dtype=np.float32)
    env.landmark_pos[:] = np.array(landmarks, dtype=np.float32)


# action -> (expected velocity, expected position) for pos (0.25, -0.5), vel (0.4, -0.2), worked by hand:
# v' = 0.75 * v + 0.5 * direction ; p' = p + 0.1 * v'
HAND_CASES = {
    0: ((0.3, -0.15), (0.28, -0.515)),
    1: ((-0.2, -0.15), (0.23, -0.515)),
    2: ((0.8, -0.15), (0.33, -0.515)),
    3: ((0.3, -0.65), (0.28, -0.565)),
    4: ((0.3, 0.35), (0.28, -0.465)),
}


@pytest.mark.parametrize("action", sorted(HAND_CASES))
def test_one_step_of_each_action_matches_hand_computation(action: int) -> None:
    env = make((1,))
    env.reset(seed=0)
    place(env, [[[0.25, -0.5]]], [[[0.4, -0.2]]], [[[1.25, 2.5]]])
    result = env.step(np.array([[action]]))
    expected_vel, expected_pos = HAND_CASES[action]
    np.testing.assert_allclose(env.agent_vel[0, 0], expected_vel, atol=1e-6)
    np.testing.assert_allclose(env.agent_pos[0, 0], expected_pos, atol=1e-6)
    # reward uses the position after the move
    distance = np.hypot(1.25 - expected_pos[0], 2.5 - expected_pos[1])
    np.testing.assert_allclose(result.rewards[0, 0], -0.5 * distance, rtol=1e-6)
    assert result.rewards.dtype == np.float32


def test_velocity_accumulates_with_damping_over_steps() -> None:
    env = make((1,))
    env.reset(seed=0)
    place(env, [[[0.0, 0.0]]], [[[0.0, 0.0]]], [[[0.0, 0.0]]])
    env.step(np.array([[2]]))
    env.step(np.array([[2]]))
    # v1 = 0.5, p1 = 0.05; v2 = 0.375 + 0.5 = 0.875, p2 = 0.05 + 0.0875 = 0.1375
    np.testing.assert_allclose(env.agent_vel[0, 0], [0.875, 0.0], atol=1e-6)
    np.testing.assert_allclose(env.agent_pos[0, 0], [0.1375, 0.0], atol=1e-6)


def test_reward_uses_each_agents_own_colour_landmark() -> None:
    env = make((1, 1))
    env.reset(seed=0)
    place(env, [[[0.0, 0.0], [0.0, 0.0]]], np.zeros((1, 2, 2)).tolist(), [[[3.0, 4.0], [0.0, -1.0]]])
    result = env.step(np.zeros((1, 2), dtype=np.int64))
    np.testing.assert_allclose(result.rewards, [[-2.5, -0.5]], rtol=1e-6)
    assert not result.terminated.any() and not result.truncated.any() and result.active.all()


def test_observation_layout_is_velocity_position_then_relative_landmarks() -> None:
    env = make((1, 2))
    env.reset(seed=0)
    pos = [[[0.5, -0.5], [1.0, 0.0], [-1.0, 2.0]]]
    vel = [[[0.1, 0.2], [0.0, -0.4], [0.8, 0.0]]]
    landmarks = [[[2.0, 1.0], [-3.0, 0.5]]]
    place(env, pos, vel, landmarks)
    obs = env.step(np.zeros((1, 3), dtype=np.int64)).obs  # no-op: vel *= 0.75, pos += 0.1 * vel
    assert obs.shape == (1, 3, 8) and obs.dtype == np.float32
    for agent in range(3):
        v, p = env.agent_vel[0, agent], env.agent_pos[0, agent]
        expected = np.concatenate([v, p, np.array(landmarks[0][0]) - p, np.array(landmarks[0][1]) - p])
        np.testing.assert_allclose(obs[0, agent], expected, atol=1e-6)
    assert np.all(env.observation_spaces[0].shape == (8,))
    assert env.action_spaces[0].n == 5


def test_reset_spawns_in_bounds_with_zero_velocity_and_full_action_mask() -> None:
    env = make((5, 5, 5), num_envs=8)
    result = env.reset(seed=3)
    assert np.all(np.abs(env.agent_pos) <= 1.0) and np.all(np.abs(env.landmark_pos) <= 3.0)
    assert np.abs(env.landmark_pos).max() > 1.0  # landmarks use the wider [-3, 3] box
    assert not result.obs[..., :2].any()
    assert result.action_mask.shape == (8, 15, 5) and result.action_mask.all()
    np.testing.assert_array_equal(result.final_obs, result.obs)


def test_types_are_contiguous_colour_blocks() -> None:
    env = make((2, 2, 2, 15, 9))
    expected = [0, 0, 1, 1, 2, 2] + [3] * 15 + [4] * 9
    np.testing.assert_array_equal(env.agent_types, expected)
    assert env.agent_types.dtype == np.int64 and env.n_agents == 30 and env.team_reward is False


def test_heterogeneous_obs_is_the_plain_obs_permuted_per_type() -> None:
    counts = (2, 3, 1)
    plain, hetero = make(counts, num_envs=2), make(counts, num_envs=2, heterogeneous=True)
    plain_obs, hetero_obs = plain.reset(seed=7).obs, hetero.reset(seed=7).obs
    perms = hetero.feature_permutations
    assert perms is not None and perms.shape == (3, 10)
    for agent, colour in enumerate(hetero.agent_types):
        np.testing.assert_array_equal(hetero_obs[:, agent], plain_obs[:, agent, perms[colour]])
    assert len({tuple(row) for row in perms}) == 3  # distinct per type
    assert not any(np.array_equal(row, np.arange(10)) for row in perms)
    actions = np.random.default_rng(0).integers(0, 5, size=(2, 6))
    plain_step, hetero_step = plain.step(actions), hetero.step(actions)
    np.testing.assert_array_equal(hetero_step.obs, plain_step.obs[:, np.arange(6)[:, None], perms[hetero.agent_types]])
    np.testing.assert_array_equal(hetero_step.rewards, plain_step.rewards)


def test_permutations_are_fixed_across_instances() -> None:
    first = make((4, 4, 4), heterogeneous=True).feature_permutations
    second = ENVS.get("bps-h:4-4-4")().feature_permutations
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, feature_permutations(3, 10))
    assert make((4, 4, 4)).feature_permutations is None


def test_truncation_after_episode_limit_gives_final_obs_and_resets() -> None:
    env = make((2, 2), num_envs=3)
    env.reset(seed=1)
    actions = np.full((3, 4), 2)
    for _ in range(49):
        result = env.step(actions)
        assert not result.truncated.any()
        assert result.final_obs is result.obs
    expected_vel = 0.75 * env.agent_vel + np.array([0.5, 0.0])
    expected_pos = env.agent_pos + 0.1 * expected_vel
    result = env.step(actions)
    assert result.truncated.all() and not result.terminated.any()
    # final_obs is the observation after the 50th move; obs is a fresh episode (zero velocity, spawn box)
    np.testing.assert_allclose(result.final_obs[..., :2], expected_vel, atol=1e-5)
    np.testing.assert_allclose(result.final_obs[..., 2:4], expected_pos, atol=1e-5)
    assert np.abs(expected_pos).max() > 1.0
    assert not result.obs[..., :2].any() and np.all(np.abs(result.obs[..., 2:4]) <= 1.0)
    np.testing.assert_array_equal(result.obs[..., 2:4], env.agent_pos)
    assert not env.step(actions).truncated.any()


def test_episode_limit_is_configurable() -> None:
    env = make((1,), episode_limit=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros((1, 1), dtype=np.int64)).truncated.all() for _ in range(6)]
    assert flags == [False, False, True, False, False, True]


def test_seed_reproduces_and_copies_differ() -> None:
    env_a, env_b = make((3, 3), num_envs=4), make((3, 3), num_envs=4)
    obs_a, obs_b = env_a.reset(seed=42).obs, env_b.reset(seed=42).obs
    np.testing.assert_array_equal(obs_a, obs_b)
    assert not np.array_equal(obs_a[0], obs_a[1])
    assert not np.array_equal(env_a.reset(seed=43).obs, obs_a)
    env_a.reset(seed=42)
    np.testing.assert_array_equal(env_a.reset().obs, env_b.reset().obs)  # reset(None) continues the generator
    assert not np.array_equal(env_b.reset().obs, obs_b)


@pytest.mark.parametrize(
    ("task", "counts", "heterogeneous"),
    [
        ("bps-1", (5, 5, 5), False),
        ("bps-2", (10, 10, 10), False),
        ("bps-3", (6, 6, 6, 6, 6), False),
        ("bps-4", (2, 2, 2, 15, 9), False),
        ("bps-h-1", (5, 5, 5), True),
        ("bps-h-2", (6, 6, 6, 6, 6), True),
        ("bps-h-3", (50, 50, 50, 50), True),
    ],
)
def test_registered_tasks(task: str, counts: tuple[int, ...], heterogeneous: bool) -> None:
    env = ENVS.get(task)(num_envs=2)
    assert env.name == task and env.num_envs == 2 and env.heterogeneous is heterogeneous
    assert env.n_agents == sum(counts)
    np.testing.assert_array_equal(np.bincount(env.agent_types), counts)
    assert set(env.obs_dims.tolist()) == {4 + 2 * len(counts)}
    assert env.reset(seed=0).obs.shape == (2, sum(counts), 4 + 2 * len(counts))


def test_family_parsing() -> None:
    env = ENVS.get("bps:2-2-2-15-9")(num_envs=1, episode_limit=10)
    assert env.type_counts == (2, 2, 2, 15, 9) and env.episode_limit == 10 and not env.heterogeneous
    assert ENVS.get("bps-h:3-1")().heterogeneous
    assert parse_type_counts("7") == (7,)


@pytest.mark.parametrize("spec", ["", "5--5", "a-b", "0-3", "-5", "5-5-", "5,5,5", "1.5-2"])
def test_family_rejects_bad_strings(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"e\.g\. 'bps:5-5-5'"):
        ENVS.get(f"bps:{spec}")
    with pytest.raises(ConfigError, match=r"e\.g\. 'bps-h:5-5-5'"):
        ENVS.get(f"bps-h:{spec}")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"type_counts": ()}, "non-empty sequence"),
        ({"type_counts": "5-5"}, "non-empty sequence"),
        ({"type_counts": (3, 0)}, "positive integer"),
        ({"type_counts": (3, True)}, "positive integer"),
        ({"type_counts": (3,), "num_envs": 0}, "'num_envs' must be a positive integer"),
        ({"type_counts": (3,), "episode_limit": 2.5}, "'episode_limit' must be a positive integer"),
        ({"type_counts": (3,), "heterogeneous": "yes"}, "'heterogeneous' must be True or False"),
    ],
)
def test_constructor_rejects_bad_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BlindParticleSpread(**kwargs)


def test_task_factory_refuses_to_override_its_distribution() -> None:
    with pytest.raises(ConfigError, match="bps-1 fixes 'type_counts'"):
        ENVS.get("bps-1")(type_counts=(1, 1))


def test_step_errors() -> None:
    env = make((1, 1), num_envs=2)
    with pytest.raises(EnvError, match="before reset"):
        env.step(np.zeros((2, 2), dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(EnvError, match="shape"):
        env.step(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(EnvError, match=r"0\.\.4"):
        env.step(np.full((2, 2), 5))
    with pytest.raises(EnvError, match=r"0\.\.4"):
        env.step(np.full((2, 2), -1))
    with pytest.raises(EnvError, match="non-negative integer"):
        env.reset(seed=-1)


def test_step_outputs_are_fresh_and_constants_read_only() -> None:
    env = make((2,), num_envs=2)
    first = env.reset(seed=0)
    second = env.step(np.zeros((2, 2), dtype=np.int64))
    assert not np.shares_memory(first.obs, second.obs)
    assert not second.terminated.flags.writeable and not second.action_mask.flags.writeable
    assert second.obs.flags.writeable and second.rewards.flags.writeable
