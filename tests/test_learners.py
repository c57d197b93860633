"""Behaviour every registered learner must show (learning, determinism, resume, routing), and PPO's losses by hand.

GAE and n-step returns on hand-computed cases live in tests/test_returns.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from seps import build, resume
from seps.builtin_components import load_builtins
from seps.errors import ConfigError
from seps.learners.base import LOSS_TERMS, OnPolicyLearner
from seps.learners.ppo import PPO
from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic
from seps.registry import LEARNERS, resolve
from tests.helpers import SMALL, final_policy, param_hash

load_builtins()

FAST = {name: {"rollout_steps": 10, "n_epochs": 2, "n_minibatches": 2} for name in ("ppo", "mappo")}
"""Short rollouts so a few hundred steps hold several updates (A2C's paper default is already 5 steps)."""
LEARNING = {
    "a2c": {"lr": 1e-3},
    "ppo": {"lr": 1e-3, "rollout_steps": 32},
    "maa2c": {"lr": 1e-3},
    "mappo": {"lr": 1e-3, "rollout_steps": 32},
}
"""A larger learning rate than the paper's (and more PPO updates) keeps the learning test to seconds."""


@pytest.mark.parametrize("learner", LEARNERS.list())
def test_learner_learns_a_planted_two_type_task(learner, tmp_path):
    result = build(
        "nops",
        env="bps:1-1",
        num_envs=8,
        eval_episodes=16,
        hidden_sizes=(32, 32),
        seed=0,
        total_steps=30_000,
        eval_interval=5_000,
        run_root=str(tmp_path),
        learner=learner,
        learner_options=LEARNING.get(learner, {}),
    ).run()
    first, best = result.evaluations[0][1], result.max_eval_return
    # The untrained policy scores about -180; walking to the own landmark cuts the distance penalty by > 40 %.
    assert best > 0.6 * first, result.evaluations


@pytest.mark.parametrize("learner", LEARNERS.list())
def test_same_seed_gives_the_same_parameters_and_another_seed_does_not(learner, tmp_path):
    hashes = []
    for seed in (3, 3, 4):
        result = build(
            "fups",
            seed=seed,
            total_steps=800,
            eval_interval=800,
            run_root=str(tmp_path),
            learner=learner,
            learner_options=FAST.get(learner, {}),
            **SMALL,
        ).run()
        hashes.append(param_hash(final_policy(result.run_dir)))
    assert hashes[0] == hashes[1] != hashes[2]


@pytest.mark.parametrize("learner", LEARNERS.list())
def test_resume_continues_to_the_same_parameters(learner, tmp_path):
    common = dict(
        seed=1, eval_interval=400, checkpoint_interval=400, learner=learner, learner_options=FAST.get(learner, {})
    )
    straight = build("nops", total_steps=1200, run_root=str(tmp_path / "a"), **common, **SMALL).run()
    partial = build("nops", total_steps=800, run_root=str(tmp_path / "b"), **common, **SMALL).run()
    resumed = resume(partial.run_dir, total_steps=1200).run()
    assert resumed.env_steps == straight.env_steps >= 1200
    assert param_hash(final_policy(resumed.run_dir)) == param_hash(final_policy(straight.run_dir))
    assert [row[:2] for row in resumed.evaluations] == [row[:2] for row in straight.evaluations]


# -- one update on a hand-made rollout: routing to groups and masking of inactive agents ----------------------


def _rollout(learner: OnPolicyLearner, policy: GroupedActorCritic, active: torch.Tensor, seed: int = 0):
    """A rollout of random observations and rewards acted on by ``policy``; ``active`` (N,) for every step."""
    generator = torch.Generator().manual_seed(seed)
    n_envs, n_agents = 2, policy.n_agents
    storage = RolloutStorage(learner.n_steps, n_envs, n_agents, policy.obs_dim, policy.n_actions)
    with torch.no_grad():
        for _ in range(learner.n_steps):
            obs = torch.randn(n_envs, n_agents, policy.obs_dim, generator=generator)
            masks = torch.ones(n_envs, n_agents, policy.n_actions, dtype=torch.bool)
            actions, log_probs, values, _ = policy.act(obs, masks, generator=generator)
            storage.insert(
                obs=obs,
                action_masks=masks,
                actions=actions,
                log_probs=log_probs,
                values=values,
                rewards=torch.randn(n_envs, n_agents, generator=generator),
                terminated=torch.zeros(n_envs, n_agents, dtype=torch.bool),
                truncated=torch.zeros(n_envs, n_agents, dtype=torch.bool),
                active=active.expand(n_envs, n_agents),
            )
        next_value = policy.value(torch.randn(n_envs, n_agents, policy.obs_dim, generator=generator))
    return storage, next_value


def _policy(assignment: list[int]) -> GroupedActorCritic:
    torch.manual_seed(0)
    config = ActorCriticConfig(actor_hidden=(8,), critic_hidden=(8,))
    return GroupedActorCritic(len(assignment), assignment, obs_dim=4, n_actions=3, config=config)


def _update(learner: OnPolicyLearner, policy: GroupedActorCritic, storage: RolloutStorage, next_value):
    return learner.update(policy, learner.make_optimizer(policy), storage, next_value, torch.Generator().manual_seed(0))


def _changed_groups(before: dict[str, torch.Tensor], policy: GroupedActorCritic) -> list[int]:
    """Groups any of whose parameters moved (every parameter is stacked (K, ...) by group)."""
    after = dict(policy.named_parameters())
    return [k for k in range(policy.n_groups) if any(not torch.equal(before[n][k], after[n][k]) for n in before)]


@pytest.mark.parametrize("learner_name", LEARNERS.list())
@pytest.mark.parametrize(
    ("assignment", "active", "changed"),
    [
        ([0, 1, 2], [False, True, False], [1]),  # NoPS: only the learning agent's own network moves
        ([0, 0, 1], [True, True, False], [0]),  # SePS-like: the inactive agent's group is left alone
        ([0, 1, 1], [True, True, True], [0, 1]),
    ],
)
def test_an_update_changes_only_the_groups_of_active_agents(learner_name, assignment, active, changed):
    learner = resolve(LEARNERS, learner_name)
    policy = _policy(assignment)
    storage, next_value = _rollout(learner, policy, torch.tensor(active))
    before = {name: p.detach().clone() for name, p in policy.named_parameters()}
    metrics = _update(learner, policy, storage, next_value)
    assert _changed_groups(before, policy) == changed
    assert set(LOSS_TERMS) <= set(metrics) and all(math.isfinite(value) for value in metrics.values())


@pytest.mark.parametrize("learner_name", LEARNERS.list())
def test_an_inactive_agents_data_does_not_touch_the_update(learner_name):
    learner = resolve(LEARNERS, learner_name)
    results = []
    for garbage in (False, True):
        policy = _policy([0, 0, 0])  # fully shared: agent 2's data would reach the shared weights if it leaked
        storage, next_value = _rollout(learner, policy, torch.tensor([True, True, False]))
        if garbage:
            storage.rewards[..., 2] = 1e6
            storage.values[..., 2] = -1e6
            storage.log_probs[..., 2] = -50.0
            storage.obs[..., 2, :] *= 100.0
        _update(learner, policy, storage, next_value)
        results.append(param_hash(policy.state_dict()))
    assert results[0] == results[1]


# -- PPO specifics ------------------------------------------------------------------------------------------------


def _ppo_batch(policy: GroupedActorCritic, ratios: torch.Tensor, advantages: torch.Tensor) -> dict[str, torch.Tensor]:
    """One row of N agents whose old log-probs make the new/old probability ratios equal ``ratios``."""
    obs = torch.randn(1, policy.n_agents, policy.obs_dim, generator=torch.Generator().manual_seed(1))
    masks = torch.ones(1, policy.n_agents, policy.n_actions, dtype=torch.bool)
    actions = torch.zeros(1, policy.n_agents, dtype=torch.int64)
    with torch.no_grad():
        log_probs, _, values = policy.evaluate(obs, masks, actions)
    return {
        "obs": obs,
        "action_masks": masks,
        "actions": actions,
        "log_probs": log_probs - ratios.log(),
        "values": values,
        "active": torch.ones(1, policy.n_agents, dtype=torch.bool),
        "advantages": advantages,
        "returns": values,
    }


def test_ppo_clipped_surrogate_by_hand():
    policy = _policy([0, 1, 2, 3])
    ratios = torch.tensor([[1.5, 1.5, 0.5, 1.1]])
    advantages = torch.tensor([[2.0, -2.0, -1.0, 1.0]])
    losses = PPO(normalize_advantages=False).losses(policy, _ppo_batch(policy, ratios, advantages))
    # min(r A, clip(r, 0.8, 1.2) A): 1.2 * 2 (clipped), 1.5 * -2 (not), 0.8 * -1 (clipped), 1.1 * 1 (inside).
    expected = -(2.4 - 3.0 - 0.8 + 1.1)
    torch.testing.assert_close(losses["policy_loss"], torch.tensor(expected), atol=1e-5, rtol=0)
    torch.testing.assert_close(losses["clip_fraction"], torch.tensor(0.75))
    assert losses["approx_kl"].item() > 0.0


def test_ppo_value_clipping_by_hand():
    policy = _policy([0, 1])
    batch = _ppo_batch(policy, torch.ones(1, 2), torch.zeros(1, 2))
    values = batch["values"].clone()
    batch["values"] = values - 1.0  # the new value moved +1 from the rollout's; the clip allows +0.2
    batch["returns"] = values + 2.0
    # Unclipped error 2^2 = 4 per agent; clipped prediction is 0.8 below the new one, error 2.8^2 = 7.84.
    for clip_value, per_agent in ((False, 4.0), (True, 7.84)):
        losses = PPO(clip_value=clip_value).losses(policy, batch)
        torch.testing.assert_close(losses["value_loss"], torch.tensor(2 * per_agent), atol=1e-4, rtol=0)


def test_ppo_minibatches_keep_every_agent_of_a_row_together():
    learner = PPO(rollout_steps=6, n_epochs=2, n_minibatches=4)
    policy = _policy([0, 1, 2])
    storage, next_value = _rollout(learner, policy, torch.ones(3, dtype=torch.bool))
    rows = storage.obs.flatten(0, 1)  # (T * E, N, D)
    batches = list(learner.batches(storage, next_value, torch.Generator().manual_seed(0)))
    assert len(batches) == 2 * 4
    for epoch in (batches[:4], batches[4:]):
        seen = torch.cat([batch["obs"] for batch in epoch])
        assert seen.shape == rows.shape  # every row once per epoch, with all of its agents
        assert sorted(map(tuple, seen.flatten(1).tolist())) == sorted(map(tuple, rows.flatten(1).tolist()))


def test_ppo_rejects_more_minibatches_than_rollout_steps_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"learner 'ppo': 'n_minibatches' must be <= 'rollout_steps' \(8\): 9"):
        build("fups", learner="ppo", learner_options={"rollout_steps": 8, "n_minibatches": 9}, run_root=str(tmp_path))
    assert not any(tmp_path.iterdir())
