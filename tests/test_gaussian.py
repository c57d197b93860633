"""Diagonal-Gaussian grouped actor: log-probs, entropies, padded dims, rescaling, clipping, PPO on a Box bandit."""

import math

import numpy as np
import torch
from torch.distributions import Independent, Normal

from seps.learners.ppo import PPO
from seps.learners.rollout import RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.nn.gaussian import GroupedGaussianActorCritic

# agents 0 and 2 share group 0; agent 1 (group 1) has a 1-d action space padded to 3 dims
DIMS = [3, 1, 3]
ASSIGNMENT = [0, 1, 0]


def make_policy(**kwargs):
    torch.manual_seed(0)
    return GroupedGaussianActorCritic(3, ASSIGNMENT, obs_dim=4, action_dims=DIMS, **kwargs)


def test_log_prob_and_entropy_match_torch_distributions_per_agent():
    policy = make_policy()
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([[-0.5, 0.2, 0.1], [0.3, 0.0, 0.0]]))
    obs = torch.randn(5, 3, 4)
    actions = torch.randn(5, 3, 3)
    log_probs, entropy, _ = policy.evaluate(obs, None, actions)
    mean = policy.actor(obs, policy.routing())
    for agent, (dims, group) in enumerate(zip(DIMS, ASSIGNMENT, strict=True)):
        reference = Independent(Normal(mean[:, agent, :dims], policy.log_std[group, :dims].exp()), 1)
        assert torch.allclose(log_probs[:, agent], reference.log_prob(actions[:, agent, :dims]), atol=1e-5)
        assert torch.allclose(entropy[:, agent], reference.entropy(), atol=1e-6)
    # by hand for agent 1: one dimension, log-std 0.3
    sigma = math.exp(0.3)
    by_hand = -0.5 * ((actions[:, 1, 0] - mean[:, 1, 0]) / sigma) ** 2 - 0.3 - 0.5 * math.log(2 * math.pi)
    assert torch.allclose(log_probs[:, 1], by_hand, atol=1e-5)
    assert torch.allclose(entropy[:, 1], torch.full((5,), 0.3 + 0.5 + 0.5 * math.log(2 * math.pi)))


def test_padded_action_dims_get_no_gradient_and_are_zero():
    policy = make_policy()
    obs = torch.randn(6, 3, 4)
    actions = torch.randn(6, 3, 3) * 5  # junk in agent 1's padded dims
    log_probs, entropy, _ = policy.evaluate(obs, None, actions)
    (log_probs.sum() + entropy.sum()).backward()
    head = policy.actor.linears[-1]
    weight_grad = head.weight.grad  # (K, in, out)
    assert torch.count_nonzero(weight_grad[1][:, 1:]) == 0 and torch.count_nonzero(head.bias.grad[1][1:]) == 0
    assert torch.count_nonzero(policy.log_std.grad[1, 1:]) == 0
    assert torch.count_nonzero(weight_grad[1][:, 0]) > 0 and torch.count_nonzero(weight_grad[0]) > 0
    assert torch.count_nonzero(policy.log_std.grad[0]) == 3
    sampled, _ = policy.sample(obs)
    assert sampled.shape == (6, 3, 3) and torch.count_nonzero(sampled[:, 1, 1:]) == 0


def test_log_std_is_per_group_and_sampling_follows_it():
    policy = make_policy(log_std_init=-1.0)
    with torch.no_grad():
        policy.log_std[1] = 1.0
    obs = torch.zeros(20000, 3, 4)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        actions, _ = policy.sample(obs, generator=generator)
    std = actions.std(dim=0)
    assert torch.allclose(std[0], torch.full((3,), math.exp(-1.0)), rtol=0.03)  # group 0
    assert torch.allclose(std[2], torch.full((3,), math.exp(-1.0)), rtol=0.03)  # group 0 again
    assert abs(float(std[1, 0]) - math.e) < 0.08  # group 1
    greedy, _ = policy.sample(obs[:1], greedy=True)
    assert torch.equal(greedy, policy(obs[:1])[0])


def test_env_actions_rescale_the_normalised_gaussian_onto_the_box_and_clip():
    low = np.array([[-1.0, -1.0, -1.0], [0.0, 9.0, 9.0], [-2.0, -2.0, -2.0]])
    high = -low + np.array([0.0, 1.0, 0.0])[:, None]  # agent 1: [0, 1] in its one real dimension
    policy = make_policy(low=low, high=high, log_std_init=2.0)
    # -1, 0 and 1 in the normalised space are low, the centre and high of each bounded dimension
    unit = torch.tensor([-1.0, 0.0, 1.0])[:, None, None].expand(3, 3, 3)
    env = policy.env_actions(unit)
    assert torch.equal(env[0, 2], torch.tensor([-2.0, -2.0, -2.0])) and torch.equal(env[2, 2], torch.full((3,), 2.0))
    assert torch.equal(env[:, 1, 0], torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(env[1, 0], torch.zeros(3))
    # so a new policy (mean ~0) acts around the centre of the box, not on its edge
    mean = policy(torch.zeros(1, 3, 4))[0]
    assert torch.allclose(policy.env_actions(mean)[0, 1, 0], torch.tensor(0.5), atol=0.05)
    actions, _ = policy.sample(torch.zeros(100, 3, 4), generator=torch.Generator().manual_seed(1))
    assert (actions.abs() > 2).any()  # the policy's own samples are not clipped
    clipped = policy.env_actions(actions)
    assert clipped[:, 0].min() >= -1 and clipped[:, 0].max() <= 1
    assert clipped[:, 1, 0].min() >= 0 and clipped[:, 1, 0].max() <= 1
    assert clipped[:, 2].min() == -2 and clipped[:, 2].max() == 2  # a wide Gaussian reaches both ends
    assert torch.count_nonzero(clipped[:, 1, 1:]) == 0  # padded dims: 0, whatever the bounds say


def test_unbounded_dimensions_are_not_rescaled():
    policy = make_policy()  # no bounds: loc 0, scale 1, no clipping
    actions = torch.randn(4, 3, 3) * 10
    assert torch.equal(policy.env_actions(actions), actions * policy.static_mask)


def test_ppo_learns_a_box_bandit_through_the_float_action_storage():
    # One step episodes; reward -(a - target)^2 per real action dim: the mean must move to the target.
    target = torch.tensor([[0.5, -0.5, 0.25], [-0.75, 0.0, 0.0], [0.5, -0.5, 0.25]])
    policy = make_policy(log_std_init=-0.5)
    learner = PPO(rollout_steps=4, n_minibatches=1, lr=1e-2, entropy_coef=0.0)
    optimizer = learner.make_optimizer(policy)
    storage = RolloutStorage(4, 16, 3, 4, 3, action_shape=policy.action_shape, action_dtype=policy.action_dtype)
    generator = torch.Generator().manual_seed(0)
    obs = torch.ones(16, 3, 4)
    ones = torch.ones(16, 3, dtype=torch.bool)
    for _ in range(40):
        storage.clear()
        for _ in range(4):
            with torch.no_grad():
                actions, log_probs, values, _ = policy.act(obs, generator=generator)
            reward = -((policy.env_actions(actions) - target) ** 2 * policy.static_mask).sum(-1)
            storage.insert(
                obs=obs,
                action_masks=ones[..., None].expand(16, 3, 3),
                actions=actions,
                log_probs=log_probs,
                values=values,
                rewards=reward,
                terminated=ones,
                truncated=~ones,
                active=ones,
            )
        learner.update(policy, optimizer, storage, torch.zeros(16, 3), generator)
    assert storage.actions.dtype == torch.float32 and storage.actions.shape == (4, 16, 3, 3)
    mean = policy(obs[:1])[0][0]
    assert torch.allclose(mean * policy.static_mask, target, atol=0.1), mean


def _entropy_only_step(learner, policy):
    """One gradient step whose only non-zero term is the entropy bonus; returns the change of every parameter."""
    before = [p.detach().clone() for p in policy.parameters()]
    obs = torch.randn(8, 3, 4)
    actions = torch.zeros((8, 3, *policy.action_shape), dtype=policy.action_dtype)
    log_probs, entropy, values = policy.evaluate(obs, None, actions)
    zero = 0.0 * (log_probs.sum() + values.sum())
    learner.gradient_step(
        policy, learner.make_optimizer(policy), {"policy_loss": zero, "value_loss": zero, "entropy": entropy.sum()}
    )
    return [float((p.detach() - b).abs().max()) for p, b in zip(policy.parameters(), before, strict=True)]


def test_box_actions_get_no_entropy_bonus_by_default_discrete_ones_keep_theirs():
    # CleanRL's ppo_continuous_action.py (ent_coef 0): a bonus on a Gaussian only widens it, as clipped tails are free.
    policy = make_policy()
    assert PPO().box_entropy_coef == 0.0 and max(_entropy_only_step(PPO(), policy)) == 0.0
    log_std = policy.log_std.detach().clone()
    _entropy_only_step(PPO(box_entropy_coef=0.1), policy)
    assert (policy.log_std[0] > log_std[0]).all()  # with a bonus the log-std grows
    torch.manual_seed(0)
    discrete = GroupedActorCritic(3, ASSIGNMENT, obs_dim=4, n_actions=3)
    assert max(_entropy_only_step(PPO(box_entropy_coef=0.0), discrete)) > 0  # entropy_coef 0.01 still applies
