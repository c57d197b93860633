"""Box action spaces end to end: the PettingZoo adapter, random collection, the encoder's inputs, the policy choice."""

import numpy as np
import pytest
import torch

from seps.builtin_components import load_builtins
from seps.collect import collect
from seps.encoders.data import TrainingData, check_transitions
from seps.evaluation import evaluate
from seps.nn.gaussian import GroupedGaussianActorCritic
from seps.records import Transitions
from seps.registry import ENVS
from seps.testing import check_env_adapter

load_builtins()


@pytest.fixture
def spread():
    pytest.importorskip("mpe2", reason="the mpe2 package is not installed")
    env = ENVS.get("pettingzoo:mpe2.simple_spread_v3")(num_envs=2, continuous_actions=True, max_cycles=5)
    yield env
    env.close()


def test_mpe2_with_continuous_actions_passes_check_env_adapter(spread):
    assert spread.continuous_actions and spread.n_actions.tolist() == [5, 5, 5]
    low, high = spread.action_bounds()
    assert (low == 0).all() and (high == 1).all()  # mpe2's Box(0, 1, (5,))
    check_env_adapter(spread, n_steps=12)


def test_collect_draws_box_actions_uniformly_within_the_bounds(spread):
    transitions = collect(spread, 40, seed=0)
    assert transitions.action.shape == (40 * 2 * 3, 5) and transitions.action.dtype == np.float32
    assert transitions.action.min() >= 0 and transitions.action.max() <= 1
    assert abs(float(transitions.action.mean()) - 0.5) < 0.05
    check_transitions(transitions)


def test_encoder_inputs_standardise_box_actions_and_zero_padded_dims():
    rng = np.random.default_rng(0)
    agent_id = np.repeat([0, 1], 200)
    action = rng.uniform(-2, 2, size=(400, 3)).astype(np.float32)
    action[agent_id == 1, 1:] = 0.0  # agent 1 has one action dimension
    transitions = Transitions(
        agent_id=agent_id,
        obs=rng.normal(size=(400, 2)).astype(np.float32),
        action=action,
        reward=rng.normal(size=400).astype(np.float32),
        next_obs=rng.normal(size=(400, 2)).astype(np.float32),
        obs_dims=np.array([2, 2]),
        n_actions=np.array([3, 1]),
    )
    check_transitions(transitions)
    features = TrainingData.build(transitions, torch.device("cpu")).inputs[:, 2:]
    assert features.shape == (400, 3)
    assert torch.count_nonzero(features[200:, 1:]) == 0
    assert torch.allclose(features[:, 0].mean(), torch.tensor(0.0), atol=1e-5)
    assert torch.allclose(features[:200, 1].std(unbiased=False), torch.tensor(1.0), atol=1e-4)


def test_evaluation_sends_clipped_actions_to_the_env(spread):
    sent = []
    step = spread.step

    def recording_step(actions):
        sent.append(actions)
        return step(actions)

    spread.step = recording_step
    policy = GroupedGaussianActorCritic(3, [0, 0, 0], 18, [5, 5, 5], *spread.action_bounds(), log_std_init=1.0)
    evaluate(policy, spread, lambda obs: torch.as_tensor(obs), episodes=2, greedy=False, seed=0)
    sent = np.stack(sent)
    assert sent.min() >= 0 and sent.max() <= 1
    assert (sent == 0).any() and (sent == 1).any()  # a wide Gaussian's samples were clipped at both ends
