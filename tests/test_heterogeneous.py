"""Agents whose observation and action spaces differ: padding, masks, grouping and training end to end.

The rule: observations are zero-padded to the largest size (padding never reaches the encoder's loss),
actions an agent does not have are masked out, and agents are grouped by their embeddings like any
others. Here two colours of BPS also differ in spaces: colour 1 sees only velocity, position and
its own-colour landmark's offset (6 features instead of 8) and can only move along x (3 actions).
"""

import numpy as np
from gymnasium import spaces

from seps import build, partition_agents
from seps.collect import CollectConfig
from seps.envs.base import MultiAgentEnv, StepResult
from seps.envs.bps import BlindParticleSpread
from seps.registry import ENVS

X_ONLY = np.array([0, 1, 2])  # no-op, -x, +x


class TwoSpaceBPS(MultiAgentEnv):
    """bps:3-3 where colour 1 has a smaller observation and action space."""

    def __init__(self, num_envs: int = 1) -> None:
        self.inner = BlindParticleSpread(type_counts=(3, 3), num_envs=num_envs)
        self.num_envs, self.agent_types, self.name = num_envs, self.inner.agent_types, "two-space-bps"
        self.small = self.agent_types == 1
        full, small = spaces.Box(-np.inf, np.inf, (8,), np.float32), spaces.Box(-np.inf, np.inf, (6,), np.float32)
        self.observation_spaces = tuple(small if s else full for s in self.small)
        self.action_spaces = tuple(spaces.Discrete(3 if s else 5) for s in self.small)
        self.mask = np.broadcast_to(self.static_action_mask(), (num_envs, 6, 5))

    def _convert(self, result: StepResult) -> StepResult:
        def shrink(obs: np.ndarray) -> np.ndarray:
            obs = obs.copy()
            obs[:, self.small, 4:6] = obs[:, self.small, 6:8]  # keep only the own (second) landmark's offset
            obs[:, self.small, 6:] = 0.0
            return obs

        return StepResult(
            obs=shrink(result.obs),
            rewards=result.rewards,
            terminated=result.terminated,
            truncated=result.truncated,
            final_obs=shrink(result.final_obs),
            action_mask=self.mask,
            active=result.active,
        )

    def reset(self, seed: int | None = None) -> StepResult:
        return self._convert(self.inner.reset(seed))

    def step(self, actions: np.ndarray) -> StepResult:
        actions = self.check_actions(actions).copy()
        if (actions[:, self.small] >= 3).any():
            raise ValueError("a small agent got an action it does not have")
        actions[:, self.small] = X_ONLY[actions[:, self.small]]
        return self._convert(self.inner.step(actions))


def test_agents_with_different_spaces_are_padded_masked_and_grouped_by_type():
    env = TwoSpaceBPS(num_envs=64)
    assert env.obs_dims.tolist() == [8, 8, 8, 6, 6, 6] and env.n_actions.tolist() == [5, 5, 5, 3, 3, 3]
    result = partition_agents(
        env,
        "vae",
        "kmeans",
        partitioner_options={"k": 2},
        seed=0,
        collect_config=CollectConfig(steps=60, num_envs=64),
        encoder_options={"updates": 3000},
    )
    assert result.transitions.obs[result.transitions.agent_id >= 3, 6:].max() == 0.0  # padded columns stay zero
    assert result.transitions.action[result.transitions.agent_id >= 3].max() <= 2  # masks respected
    assert result.partition.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_training_runs_with_mixed_spaces_in_one_group(tmp_path):
    ENVS.register("two-space-bps", TwoSpaceBPS)
    try:
        result = build(
            "fups",
            env="two-space-bps",
            num_envs=4,
            total_steps=400,
            eval_interval=400,
            eval_episodes=2,
            hidden_sizes=(16,),
            run_root=str(tmp_path),
        ).run()
    finally:
        del ENVS._entries["two-space-bps"]
    assert result.partition.k == 1 and result.env_steps == 400  # one policy serves both kinds of agents
