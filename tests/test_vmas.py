"""The vmas:<scenario> family: VMAS's own batched simulator behind the seps env interface."""

import numpy as np
import pytest

pytest.importorskip("vmas", reason="vmas is not installed (pip install 'seps[interop]')")

from seps.builtin_components import load_builtins
from seps.errors import UnknownComponentError
from seps.registry import ENVS
from seps.testing import check_env_adapter

load_builtins()


def test_simple_tag_passes_check_env_adapter_with_names_as_types():
    env = ENVS.get("vmas:simple_tag")(num_envs=3, max_steps=6)  # episodes end within the checked steps
    assert env.agent_names == ("adversary_0", "adversary_1", "adversary_2", "agent_0")
    assert env.agent_types.tolist() == [0, 0, 0, 1]
    assert env.obs_dims.tolist() == [16, 16, 16, 14] and env.n_actions.tolist() == [9, 9, 9, 9]
    assert env.env.batch_dim == 3  # one VMAS Environment simulates every copy
    check_env_adapter(env, n_steps=14)


def test_horizon_truncates_every_copy_and_resets_them_in_one_batch():
    env = ENVS.get("vmas:simple_tag")(num_envs=2, max_steps=3, num_adversaries=2, num_good_agents=2)
    assert env.agent_types.tolist() == [0, 0, 1, 1]
    first = env.reset(seed=1)
    actions = np.ones((2, 4), dtype=np.int64)
    results = [env.step(actions) for _ in range(3)]
    assert not results[1].truncated.any() and results[2].truncated.all() and not results[2].terminated.any()
    # final_obs keeps the episode's last observation, obs is the next episode's first
    assert not np.array_equal(results[2].final_obs, results[2].obs)
    assert np.array_equal(results[1].final_obs, results[1].obs)
    assert first.obs.shape == (2, 4, env.max_obs_dim)


def test_a_copy_that_ends_alone_is_reset_alone():
    env = ENVS.get("vmas:simple_tag")(num_envs=2, max_steps=3)
    env.reset(seed=0)
    env.env.steps[0] = 2  # copy 0 is one step from its horizon, copy 1 just started
    result = env.step(np.ones((2, 4), dtype=np.int64))
    assert result.truncated[0].all() and not result.truncated[1].any()
    assert not np.array_equal(result.obs[0], result.final_obs[0])  # copy 0 restarted
    assert np.array_equal(result.obs[1], result.final_obs[1])  # copy 1 carries on
    assert env.env.steps.tolist() == [0, 1]


def test_single_shared_reward_mode_gives_every_agent_the_team_reward():
    env = ENVS.get("vmas:simple_tag")(num_envs=2, reward_mode="sum", shape_agent_rew=True)
    env.reset(seed=0)
    result = env.step(np.zeros((2, 4), dtype=np.int64))
    assert env.team_reward and np.allclose(result.rewards, result.rewards[:, :1])


def test_unknown_scenario_names_the_closest_one():
    with pytest.raises(
        UnknownComponentError, match=r"unknown VMAS scenario 'simple_tagg'. Did you mean 'vmas:simple_tag'\?"
    ):
        ENVS.get("vmas:simple_tagg")


def test_continuous_actions_use_vmas_boxes_and_pass_check_env_adapter():
    env = ENVS.get("vmas:simple_tag")(num_envs=2, max_steps=5, continuous_actions=True)
    assert env.continuous_actions and env.n_actions.tolist() == [2, 2, 2, 2]
    low, high = env.action_bounds()
    assert (low == -high).all() and (high > 0).all()
    check_env_adapter(env, n_steps=8)
    env.reset(seed=0)
    still = env.step(np.zeros((2, 4, 2), dtype=np.float32))
    pushed = env.step(np.broadcast_to(high, (2, 4, 2)).copy())
    assert not np.array_equal(still.obs, pushed.obs)
