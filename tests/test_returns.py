"""Returns, GAE and the rollout buffer against small cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seps.errors import ConfigError
from seps.learners.returns import gae, n_step_returns
from seps.learners.rollout import RolloutStorage


def _episode_case() -> dict[str, torch.Tensor]:
    """T=4, E=1, N=2. Agent 0 terminates at t=1; agent 1 is truncated at t=1 with V(final_obs)=6."""

    def column(a: list[float], b: list[float]) -> torch.Tensor:
        return torch.tensor([a, b], dtype=torch.float32).T.reshape(4, 1, 2)

    return {
        "rewards": column([1, 2, 3, 4], [1, 1, 1, 1]),
        "values": column([2, 1, 4, 2], [2, 1, 4, 2]),
        "next_value": torch.tensor([[10.0, 10.0]]),
        "terminated": column([0, 1, 0, 0], [0, 0, 0, 0]).bool(),
        "truncated": column([0, 0, 0, 0], [0, 1, 0, 0]).bool(),
        "truncation_values": column([0, 0, 0, 0], [0, 6, 0, 0]),
    }


def test_n_step_returns_by_hand() -> None:
    # gamma = 0.5.
    # agent 0: t3 = 4 + .5*10 = 9; t2 = 3 + .5*9 = 7.5; t1 terminated = 2; t0 = 1 + .5*2 = 2
    # agent 1: t3 = 1 + .5*10 = 6; t2 = 1 + .5*6 = 4; t1 truncated = 1 + .5*6 = 4; t0 = 1 + .5*4 = 3
    returns = n_step_returns(**_episode_case(), gamma=0.5)
    expected = torch.tensor([[2.0, 3.0], [2.0, 4.0], [7.5, 4.0], [9.0, 6.0]]).reshape(4, 1, 2)
    torch.testing.assert_close(returns, expected, atol=1e-6, rtol=0)


def test_gae_by_hand() -> None:
    # gamma = lam = 0.5, so the advantage decay is 0.25.
    # agent 0: d3 = 4+5-2 = 7, A3 = 7; d2 = 3+1-4 = 0, A2 = 1.75; d1 = 2+0-1 = 1 (terminated), A1 = 1;
    #          d0 = 1+.5-2 = -.5, A0 = -.5+.25 = -.25.  returns = A + V = [1.75, 2, 5.75, 9]
    # agent 1: d3 = 1+5-2 = 4, A3 = 4; d2 = 1+1-4 = -2, A2 = -1; d1 = 1+3-1 = 3 (truncated), A1 = 3;
    #          d0 = 1+.5-2 = -.5, A0 = .25.  returns = [2.25, 4, 3, 6]
    advantages, returns = gae(**_episode_case(), gamma=0.5, lam=0.5)
    expected_adv = torch.tensor([[-0.25, 0.25], [1.0, 3.0], [1.75, -1.0], [7.0, 4.0]]).reshape(4, 1, 2)
    expected_ret = torch.tensor([[1.75, 2.25], [2.0, 4.0], [5.75, 3.0], [9.0, 6.0]]).reshape(4, 1, 2)
    torch.testing.assert_close(advantages, expected_adv, atol=1e-6, rtol=0)
    torch.testing.assert_close(returns, expected_ret, atol=1e-6, rtol=0)


def test_termination_beats_truncation_and_ignores_truncation_value() -> None:
    case = _episode_case()
    case["truncated"] = case["terminated"].clone()
    case["truncation_values"] = torch.full_like(case["rewards"], 100.0)
    returns = n_step_returns(**case, gamma=0.5)
    assert returns[1, 0, 0].item() == 2.0  # just the reward: no bootstrap at a termination


def test_gae_with_lambda_one_equals_n_step_advantage() -> None:
    generator = torch.Generator().manual_seed(0)
    shape = (6, 3, 4)
    case = {
        "rewards": torch.randn(shape, generator=generator),
        "values": torch.randn(shape, generator=generator),
        "next_value": torch.randn(shape[1:], generator=generator),
        "terminated": torch.rand(shape, generator=generator) < 0.2,
        "truncated": torch.rand(shape, generator=generator) < 0.2,
        "truncation_values": torch.randn(shape, generator=generator),
    }
    advantages, returns = gae(**case, gamma=0.9, lam=1.0)
    expected = n_step_returns(**case, gamma=0.9)
    torch.testing.assert_close(returns, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(advantages, expected - case["values"], atol=1e-5, rtol=1e-5)


def test_mismatched_shapes_raise_before_work() -> None:
    case = _episode_case()
    case["next_value"] = torch.zeros(4, 1, 2)
    with pytest.raises(ConfigError, match="next_value"):
        n_step_returns(**case, gamma=0.5)


def _fill(storage: RolloutStorage, case: dict[str, torch.Tensor]) -> None:
    for t in range(storage.n_steps):
        storage.insert(
            obs=np.full((1, 2, 3), t, dtype=np.float32),
            action_masks=np.ones((1, 2, 2), dtype=bool),
            actions=np.array([[t % 2, 1]]),
            log_probs=torch.zeros(1, 2, requires_grad=True),
            values=case["values"][t],
            rewards=case["rewards"][t].numpy(),
            terminated=case["terminated"][t].numpy(),
            truncated=case["truncated"][t],
            active=np.ones((1, 2), dtype=bool),
            truncation_values=torch.full((1, 2), 6.0),  # only the truncated agent's 6 is kept
        )


def test_rollout_storage_round_trip_and_targets() -> None:
    case = _episode_case()
    storage = RolloutStorage(n_steps=4, n_envs=1, n_agents=2, obs_dim=3, n_actions=2)
    _fill(storage, case)
    assert storage.full
    torch.testing.assert_close(storage.truncation_values, case["truncation_values"])
    assert storage.obs[2, 0, 1].tolist() == [2.0, 2.0, 2.0]
    assert storage.actions[:, 0, 0].tolist() == [0, 1, 0, 1] and storage.actions.dtype == torch.int64
    assert not storage.log_probs.requires_grad
    torch.testing.assert_close(
        storage.n_step_returns(case["next_value"], 0.5), n_step_returns(**case, gamma=0.5), atol=1e-6, rtol=0
    )
    advantages, _ = storage.gae(case["next_value"], 0.5, 0.5)
    torch.testing.assert_close(advantages, gae(**case, gamma=0.5, lam=0.5)[0], atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="full"):
        _fill(storage, case)
    storage.clear()
    assert storage.step == 0


def test_rollout_storage_rejects_bad_shapes_and_partial_rollouts() -> None:
    storage = RolloutStorage(n_steps=2, n_envs=1, n_agents=2, obs_dim=3, n_actions=2)
    with pytest.raises(ConfigError, match="insert them all"):
        storage.n_step_returns(torch.zeros(1, 2), 0.99)
    with pytest.raises(ConfigError, match="obs has shape"):
        storage.insert(
            obs=np.zeros((1, 3, 3)),
            action_masks=np.ones((1, 2, 2), dtype=bool),
            actions=np.zeros((1, 2)),
            log_probs=np.zeros((1, 2)),
            values=np.zeros((1, 2)),
            rewards=np.zeros((1, 2)),
            terminated=np.zeros((1, 2), dtype=bool),
            truncated=np.zeros((1, 2), dtype=bool),
            active=np.ones((1, 2), dtype=bool),
        )
    with pytest.raises(ConfigError, match="n_steps"):
        RolloutStorage(n_steps=0, n_envs=1, n_agents=2, obs_dim=3, n_actions=2)
