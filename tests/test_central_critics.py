"""Centralised critics: the global state of every env, MAA2C/MAPPO's policy, and learners that declare their storage."""

from __future__ import annotations

import csv
import importlib
import inspect
import sys
from typing import Any

import numpy as np
import pytest
import torch

from seps import build
from seps.builtin_components import load_builtins
from seps.callbacks import TrainerCallback
from seps.envs.base import global_state
from seps.errors import ConfigError, MissingDependencyError, UnknownComponentError
from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import ActorCriticConfig
from seps.nn.central_critic import CentralCriticActorCritic
from seps.registry import ENVS, REGISTRIES
from seps.testing.smac import SmacStandIn

load_builtins()

CENTRAL = ("maa2c", "mappo")
TINY: dict[str, Any] = {"num_envs": 2, "eval_episodes": 2, "hidden_sizes": (8,), "total_steps": 40, "eval_interval": 20}
FAST = {"maa2c": {}, "mappo": {"rollout_steps": 5, "n_epochs": 1, "n_minibatches": 1}}


# -- the global state of every registered env ---------------------------------------------------------------


@pytest.mark.parametrize("name", ENVS.list())
def test_every_registered_env_gives_a_state_of_fixed_shape_and_dtype(name: str) -> None:
    kwargs: dict[str, Any] = {"env_cls": SmacStandIn} if name.startswith("smac") else {}
    try:
        env = ENVS.get(name)(num_envs=2, **kwargs)
    except (MissingDependencyError, UnknownComponentError) as error:
        pytest.skip(f"{name}: optional package missing ({error})")
    rng = np.random.default_rng(0)
    result = env.reset(seed=0)
    shapes = set()
    for _ in range(12):
        for final in (False, True):
            state = global_state(result, final)
            assert state.dtype == np.float32 and np.isfinite(state).all()
            shapes.add(state.shape)
        actions = np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)
        result = env.step(actions)
    env.close()
    assert shapes == {(2, env.state_dim)}  # one shape for every step, both copies, state and final state


def test_bps_state_is_positions_velocities_and_landmarks_with_the_last_state_at_a_truncation() -> None:
    env = ENVS.get("bps:1-2")(num_envs=2, episode_limit=3)
    result = env.reset(seed=1)
    assert env.state_dim == 4 * 3 + 2 * 2
    n = env.n_agents
    pos, vel, landmarks = result.state[:, : 2 * n], result.state[:, 2 * n : 4 * n], result.state[:, 4 * n :]
    np.testing.assert_array_equal(pos.reshape(2, n, 2), env.agent_pos)
    np.testing.assert_array_equal(vel, 0.0)
    np.testing.assert_array_equal(landmarks.reshape(2, 2, 2), env.landmark_pos)
    for _ in range(3):
        result = env.step(np.full((2, n), 2))  # +x
    assert result.truncated.all()
    # The final state is the last one of the ended episode (moving, as the final observations say);
    # the state is the new episode's first (velocities zero, the env's new positions).
    final_pos, final_vel = result.final_state[:, : 2 * n], result.final_state[:, 2 * n : 4 * n]
    np.testing.assert_array_equal(final_pos.reshape(2, n, 2), result.final_obs[..., 2:4])
    np.testing.assert_array_equal(final_vel.reshape(2, n, 2), result.final_obs[..., 0:2])
    assert (final_vel.reshape(2, n, 2)[..., 0] > 0).all()
    np.testing.assert_array_equal(result.state[:, 2 * n : 4 * n], 0.0)
    np.testing.assert_array_equal(result.state[:, : 2 * n].reshape(2, n, 2), env.agent_pos)


def test_smac_state_is_smacv2s_get_state_and_the_critic_reads_its_width() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=2, env_cls=SmacStandIn)
    result = env.reset(seed=0)
    assert env.state_dim == 322 and result.state.shape == (2, 322)
    np.testing.assert_array_equal(result.state[1], env.envs[1].get_state())
    # Dead allies' rows are zeros, as smacv2's get_state_dict leaves them.
    env.envs[0].ally_health[3] = 0.0
    ally = 4 + env.envs[0].unit_type_bits
    assert not env.envs[0].get_state()[3 * ally : 4 * ally].any()


def test_pettingzoo_state_is_the_envs_own_state() -> None:
    pytest.importorskip("mpe2")
    env = ENVS.get("pettingzoo:mpe2.simple_spread_v3")(num_envs=2, max_cycles=5)
    result = env.reset(seed=0)
    own = np.asarray(env.envs[0].state(), dtype=np.float32).reshape(-1)
    assert env._has_own_state and env.state_dim == own.size  # (MPE's state() is its concatenated observations)
    np.testing.assert_array_equal(result.state[0], own)
    result = env.step(np.zeros((2, env.n_agents), dtype=np.int64))
    np.testing.assert_array_equal(result.state[1], np.asarray(env.envs[1].state(), dtype=np.float32).reshape(-1))


# -- the centralised critic sees the state, the actor does not ----------------------------------------------


def _central(state_dim: int = 5) -> CentralCriticActorCritic:
    torch.manual_seed(0)
    config = ActorCriticConfig(actor_hidden=(8,), critic_hidden=(8,))
    return CentralCriticActorCritic(4, [0, 0, 1, 1], obs_dim=3, n_actions=2, config=config, state_dim=state_dim)


def test_central_critic_reads_the_state_and_the_actor_does_not() -> None:
    policy = _central()
    generator = torch.Generator().manual_seed(0)
    obs, state = torch.randn(6, 4, 3, generator=generator), torch.randn(6, 5, generator=generator)
    other = state + 1.0
    logits, values = policy(obs, None, state)
    logits_other, values_other = policy(obs, None, other)
    torch.testing.assert_close(logits, logits_other)  # the actor does not read the state
    assert not torch.allclose(values, values_other)  # the critic does
    assert "state" not in inspect.signature(policy.sample).parameters  # acting takes no state at all
    # Gradients of a value loss reach the critic only; the state's gradient is non-zero.
    state.requires_grad_(True)
    policy.value(obs, state).pow(2).sum().backward()
    assert state.grad is not None and state.grad.abs().sum() > 0
    assert all(p.grad is None for p in policy.actor.parameters())
    # Grouped like the actor: one critic per group, input [state, own obs, one-hot id].
    assert policy.critic.n_groups == policy.actor.n_groups == 2
    assert policy.critic.linears[0].in_features == 5 + 3 + 4
    with pytest.raises(ConfigError, match="global state"):
        policy.value(obs)


@pytest.mark.parametrize("assignment", [[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 2, 3], [1, 0, 1, 2]])
def test_the_split_first_layer_is_the_critic_on_its_concatenated_input(assignment) -> None:
    """critic_values (state part once per group, id part a row lookup) equals the MLP on [state, obs, id]."""
    torch.manual_seed(0)
    config = ActorCriticConfig(actor_hidden=(8,), critic_hidden=(8, 6))
    policy = CentralCriticActorCritic(4, assignment, obs_dim=3, n_actions=2, config=config, state_dim=5)
    generator = torch.Generator().manual_seed(1)
    obs, state = torch.randn(7, 2, 4, 3, generator=generator), torch.randn(7, 2, 5, generator=generator)
    routing = policy.routing()
    split = policy.critic_values(obs, state, routing)
    split.sum().backward()
    split_grads = [p.grad.clone() for p in policy.critic.parameters()]
    policy.zero_grad()
    naive = policy.critic(policy.critic_input(obs, state), routing).squeeze(-1)
    naive.sum().backward()
    torch.testing.assert_close(split, naive, atol=1e-6, rtol=1e-5)
    for got, want in zip(split_grads, [p.grad for p in policy.critic.parameters()], strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_the_rollout_keeps_the_state_the_agents_acted_in(tmp_path) -> None:
    """In a MAPPO run the stored state holds each agent's own position, and the stored values are V(obs, state)."""

    class Check(TrainerCallback):
        checked = 0

        def on_rollout_end(self, trainer: Any) -> None:
            storage = trainer.storage
            n = trainer.env.n_agents
            positions = storage.state[..., : 2 * n].reshape(*storage.state.shape[:2], n, 2)
            torch.testing.assert_close(positions, storage.obs[..., 2:4])  # BPS obs: velocity, position, ...
            values = trainer.policy.value(storage.obs, storage.state)
            torch.testing.assert_close(storage.values, values)
            Check.checked += 1

    build(
        "seps",
        env="bps:1-1",
        learner="mappo",
        learner_options=FAST["mappo"],
        partitioner="fixed",
        partitioner_options={"k": "all"},
        run_root=str(tmp_path),
        **TINY,
    ).run(callbacks=[Check()])
    assert Check.checked == 40 // (5 * 2)


@pytest.mark.parametrize("learner", CENTRAL)
@pytest.mark.parametrize(("method", "k", "ids"), [("nops", 3, 0), ("fups", 1, 0), ("fups_id", 1, 3)])
def test_central_learners_train_on_every_sharing_mode(learner, method, k, ids, tmp_path) -> None:
    class Capture(TrainerCallback):
        policy: Any = None

        def on_train_end(self, trainer: Any) -> None:
            Capture.policy = trainer.policy

    result = build(
        method, env="bps:1-2", learner=learner, learner_options=FAST[learner], run_root=str(tmp_path), **TINY
    ).run(callbacks=[Capture()])
    policy = Capture.policy
    assert isinstance(policy, CentralCriticActorCritic) and policy.n_groups == k
    obs_dim = 4 + 2 * 2 + ids
    assert policy.critic.linears[0].in_features == (4 * 3 + 2 * 2) + obs_dim + 3
    assert result.env_steps == 40 and len(result.evaluations) == 3


def test_mappo_on_a_team_reward_env_gives_every_agent_the_team_target(tmp_path) -> None:
    """SMAC (stand-in): one team reward, so every agent's stored reward and return target is the same."""
    returns: list[torch.Tensor] = []

    class Capture(TrainerCallback):
        def on_rollout_end(self, trainer: Any) -> None:
            storage = trainer.storage
            active = storage.active
            rewards = torch.where(active, storage.rewards, storage.rewards.amax(-1, keepdim=True))
            returns.append((rewards - rewards[..., :1]).abs().max())

    build(
        "nops",
        env="smac-mmm2",
        learner="mappo",
        learner_options=FAST["mappo"],
        env_options={"env_cls": "seps.testing.smac:SmacStandIn"},
        run_root=str(tmp_path),
        **TINY,
    ).run(callbacks=[Capture()])
    assert returns and max(float(r) for r in returns) == 0.0


# -- a learner from outside seps with its own storage field ---------------------------------------------------


@pytest.fixture
def ext_module():
    saved = {kind: dict(registry._entries) for kind, registry in REGISTRIES.items()}
    module = importlib.import_module("tests.ext_module")
    yield module
    for kind, registry in REGISTRIES.items():
        registry._entries.clear()
        registry._entries.update(saved[kind])
    sys.modules.pop("tests.ext_module", None)


def test_a_learner_from_outside_seps_keeps_its_own_rollout_field(ext_module, tmp_path) -> None:
    seen: list[torch.Tensor] = []

    class Capture(TrainerCallback):
        def on_rollout_end(self, trainer: Any) -> None:
            storage = trainer.storage
            assert "values" not in storage.tensors()  # A2C's rollout runs no critic while acting
            torch.testing.assert_close(
                storage.team_rewards, storage.rewards.mean(-1, keepdim=True).expand_as(storage.rewards)
            )
            seen.append(storage.team_rewards.mean())

    result = build("nops", env="ext-two-types", learner="ext_team_a2c", run_root=str(tmp_path), **TINY).run(
        callbacks=[Capture()]
    )
    with (result.run_dir / "metrics.csv").open(newline="") as source:
        rows = [row for row in csv.DictReader(source) if row["kind"] == "train"]
    assert len(seen) == 40 // (5 * 2) and rows
    # The logged metric is the field's mean in the last rollout before the log line.
    assert float(rows[-1]["team_reward"]) == pytest.approx(float(seen[-1]), abs=1e-6)


def test_storage_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(ConfigError, match="unknown rollout field 'vals'"):
        RolloutStorage(2, 1, 2, 3, 2, fields=("obs", "vals"))
    with pytest.raises(ConfigError, match="state_dim is 0"):
        RolloutStorage(2, 1, 2, 3, 2, fields=("obs", "state"))
    storage = RolloutStorage(2, 1, 2, 3, 2, fields=("obs",))
    assert list(storage.tensors()) == ["obs", "rewards", "terminated", "truncated", "active"]
    with pytest.raises(ConfigError, match="the rollout keeps"):
        storage.insert(obs=np.zeros((1, 2, 3)))
    with pytest.raises(AttributeError, match="no field 'values'"):
        _ = storage.values
