"""Stage 1: random-action collection into one shared Transitions buffer."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from seps.collect import CollectConfig, collect, random_actions
from seps.envs.base import MultiAgentEnv, StepResult
from seps.errors import ConfigError
from seps.records import Transitions

EPISODE = 3


class CounterEnv(MultiAgentEnv):
    """3 agents with obs sizes (2, 3, 3) and 2/3/4 actions; episodes of EPISODE steps.

    Observation of agent i: (step counter, 10 * i, [copy index]) zero-padded; reward = action.
    Agent 2 may not take action 0 on odd steps; agent 1 sits out (inactive) every step 1 of copy 0.
    """

    def __init__(self, num_envs: int = 2) -> None:
        self.num_envs = num_envs
        self.observation_spaces = tuple(spaces.Box(-np.inf, np.inf, (d,), np.float32) for d in (2, 3, 3))
        self.action_spaces = tuple(spaces.Discrete(n) for n in (2, 3, 4))
        self.agent_types = np.array([0, 1, 1])
        self.t = 0

    def _obs(self, t: int) -> np.ndarray:
        obs = np.zeros((self.num_envs, 3, 3), dtype=np.float32)
        obs[:, :, 0] = t
        obs[:, :, 1] = 10 * np.arange(3)
        obs[:, 1:, 2] = np.arange(self.num_envs)[:, None]
        return obs

    def _mask(self, t: int) -> np.ndarray:
        mask = np.broadcast_to(self.static_action_mask(), (self.num_envs, 3, 4)).copy()
        if t % 2 == 1:
            mask[:, 2, 0] = False
        return mask

    def reset(self, seed: int | None = None) -> StepResult:
        self.t = 0
        obs = self._obs(0)
        false = np.zeros((self.num_envs, 3), dtype=bool)
        return StepResult(
            obs=obs,
            rewards=np.zeros((self.num_envs, 3), np.float32),
            terminated=false,
            truncated=false,
            final_obs=obs,
            action_mask=self._mask(0),
            active=~false,
        )

    def step(self, actions: np.ndarray) -> StepResult:
        actions = self.check_actions(actions)
        mask = self._mask(self.t)
        assert np.take_along_axis(mask, actions[..., None], axis=-1).all(), "collect chose a masked action"
        active = np.ones((self.num_envs, 3), dtype=bool)
        if self.t == 1:
            active[0, 1] = False
        self.t += 1
        final_obs = self._obs(self.t)
        done = self.t == EPISODE
        if done:
            self.t = 0
        return StepResult(
            obs=self._obs(self.t),
            rewards=actions.astype(np.float32),
            terminated=np.zeros((self.num_envs, 3), dtype=bool),
            truncated=np.full((self.num_envs, 3), done),
            final_obs=final_obs,
            action_mask=self._mask(self.t),
            active=active,
        )


@pytest.fixture(scope="module")
def buffer() -> Transitions:
    return collect(CounterEnv(num_envs=2), steps=300, seed=0)


def test_records_every_active_agent_with_its_id_and_sizes(buffer: Transitions) -> None:
    steps_with_inactive = sum(1 for t in range(300) if t % EPISODE == 1)
    assert len(buffer) == 300 * 2 * 3 - steps_with_inactive
    assert buffer.obs.shape == buffer.next_obs.shape == (len(buffer), 3)
    assert buffer.obs.dtype == np.float32 and buffer.action.dtype == np.int64
    np.testing.assert_array_equal(buffer.obs_dims, [2, 3, 3])
    np.testing.assert_array_equal(buffer.n_actions, [2, 3, 4])
    # the agent id matches the agent the observation came from (feature 1 is 10 * id)
    np.testing.assert_array_equal(buffer.obs[:, 1], 10 * buffer.agent_id)
    # inactive agent 1 of copy 0 on step 1 is never recorded
    skipped = (buffer.agent_id == 1) & (buffer.obs[:, 0] == 1) & (buffer.obs[:, 2] == 0)
    assert not skipped.any()


def test_actions_respect_masks_and_cover_every_allowed_action(buffer: Transitions) -> None:
    assert np.all(buffer.action < buffer.n_actions[buffer.agent_id])
    np.testing.assert_array_equal(buffer.reward, buffer.action)
    agent2 = buffer.agent_id == 2
    odd = buffer.obs[:, 0] % 2 == 1
    assert not np.any(buffer.action[agent2 & odd] == 0)
    for agent, n in enumerate(buffer.n_actions):
        counts = np.bincount(buffer.action[buffer.agent_id == agent], minlength=n)
        assert np.all(counts > 0.5 * counts.mean())  # uniform over allowed actions


def test_next_obs_is_final_obs_at_resets(buffer: Transitions) -> None:
    np.testing.assert_array_equal(buffer.next_obs[:, 0], buffer.obs[:, 0] + 1)
    assert np.any(buffer.next_obs[:, 0] == EPISODE)  # the last obs of an episode, not the reset one


def test_same_seed_same_buffer_and_save_load_round_trip(buffer: Transitions, tmp_path) -> None:
    again = collect(CounterEnv(num_envs=2), steps=300, seed=0)
    np.testing.assert_array_equal(again.action, buffer.action)
    other = collect(CounterEnv(num_envs=2), steps=300, seed=1)
    assert not np.array_equal(other.action, buffer.action)
    loaded = Transitions.load(buffer.save(tmp_path / "buffer"))
    for name in ("agent_id", "obs", "action", "reward", "next_obs", "obs_dims", "n_actions"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(buffer, name))


def test_random_actions_picks_only_allowed_entries() -> None:
    mask = np.zeros((4, 5, 6), dtype=bool)
    mask[..., 3] = True
    mask[0, 0, 5] = True
    actions = random_actions(mask, np.random.default_rng(0))
    assert actions.shape == (4, 5)
    assert np.all(mask[np.arange(4)[:, None], np.arange(5)[None, :], actions])


@pytest.mark.parametrize("field", ["steps", "num_envs"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_config_rejects_non_positive_integers(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CollectConfig(**{field: value})


def test_collect_rejects_zero_steps_before_touching_the_env() -> None:
    env = CounterEnv()
    env.reset = None  # type: ignore[method-assign]  # any use of the env would fail
    with pytest.raises(ConfigError, match="'steps' must be a positive integer"):
        collect(env, steps=0)
