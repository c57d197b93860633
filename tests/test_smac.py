"""SMAC adapter: smacv2's env API through a stand-in, the missing-dependency error, and the real map."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import seps.envs.registrations  # noqa: F401
from seps.errors import MissingDependencyError
from seps.registry import ENVS
from seps.testing.env import check_env_adapter
from tests.smac_standin import N_ACTIONS, MMM2StandIn


def test_mmm2_adapter_over_the_standin() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=2, env_cls=MMM2StandIn)
    assert env.n_agents == 10 and env.obs_dims.tolist() == [176] * 10 and env.n_actions.tolist() == [18] * 10
    # smacv2 sorts allies by unit type: marauders, marines, then the medivac.
    assert env.agent_types.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 2]
    assert env.team_reward and env.episode_limit == 180
    check_env_adapter(env, n_steps=60)


def test_smac_masks_team_reward_and_dead_units() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=2, env_cls=MMM2StandIn)
    result = env.reset(seed=0)
    rng = np.random.default_rng(0)
    saw_death = False
    for _ in range(60):
        for e, copy in enumerate(env.envs):
            assert np.array_equal(result.action_mask[e], np.asarray(copy.get_avail_actions(), dtype=bool))
        assert not result.action_mask[:, 9, 16:].any()  # the medivac's target slots only name allies
        actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
        result = env.step(actions)
        active_rewards = np.where(result.active, result.rewards, np.nan)
        assert np.allclose(np.nanmin(active_rewards, axis=1), np.nanmax(active_rewards, axis=1))
        dead = ~result.active
        saw_death |= bool(dead.any())
        assert (result.obs[dead] == 0).all() and (result.action_mask[dead, 1:] == 0).all()
    assert saw_death


def test_smac_episode_limit_is_a_truncation() -> None:
    env = ENVS.get("smacv2:MMM2")(num_envs=1, env_cls=MMM2StandIn, episode_limit=3)
    env.reset(seed=0)
    stop = np.ones((1, 10), dtype=np.int64)  # allies start out of range, so stopping never ends the battle
    results = [env.step(stop) for _ in range(3)]
    assert not results[1].truncated.any()
    assert results[2].truncated.all() and not results[2].terminated.any()


def test_same_seed_replays_and_new_seed_differs() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=1, env_cls=MMM2StandIn)
    first = env.reset(seed=7).obs
    assert np.array_equal(env.reset(seed=7).obs, first)
    assert not np.array_equal(env.reset(seed=8).obs, first)


def test_pipeline_runs_through_the_smac_adapter() -> None:
    from seps.collect import CollectConfig
    from seps.components import load_builtins
    from seps.pipeline import partition_agents

    load_builtins()
    env = ENVS.get("smac-mmm2")(num_envs=2, env_cls=MMM2StandIn)
    steps = 80
    result = partition_agents(
        env=env,
        seed=0,
        collect_config=CollectConfig(steps=steps, num_envs=2),
        encoder_options={"updates": 20},
        cluster="kmeans",
        cluster_options={"k": 3},
    )
    transitions = result.transitions
    assert transitions.obs.shape[1] == 176 and transitions.n_actions.tolist() == [N_ACTIONS] * 10
    assert result.partition.labels.shape == (10,) and result.agent_types.tolist() == [0, 0] + [1] * 7 + [2]
    # Dead units are inactive, so collection skips them: someone died, so some agent has fewer transitions.
    counts = np.bincount(transitions.agent_id, minlength=10)
    assert counts.max() == steps * 2 and counts.min() < steps * 2


@pytest.mark.skipif(importlib.util.find_spec("smacv2") is not None, reason="smacv2 is installed")
def test_missing_smacv2_is_a_one_line_error_saying_how_to_install() -> None:
    with pytest.raises(MissingDependencyError, match=r"smacv2.*SC2PATH") as info:
        ENVS.get("smac-mmm2")()
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not os.environ.get("SC2PATH"), reason="needs StarCraft II: set SC2PATH")
def test_real_mmm2_map() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=1)
    try:
        assert env.n_agents == 10 and env.n_actions.tolist() == [18] * 10
        assert env.agent_types.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 2]
        check_env_adapter(env, n_steps=10)
    finally:
        env.close()
