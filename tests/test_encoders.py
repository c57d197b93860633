"""Stage 2: the encoders recover planted agent types from transitions."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import seps.encoders  # noqa: F401  (registers the built-in encoders)
from seps.errors import ConfigError
from seps.records import Embeddings, Transitions
from seps.registry import ENCODERS

TYPES = np.array([0, 0, 0, 1, 1, 1])
FAST = {"updates": 200}


def planted(per_agent: int = 400, obs_dims: tuple[int, ...] = (4,) * 6, seed: int = 0) -> Transitions:
    """6 agents, 2 types: type 0 is pushed +0.5 along the action and rewarded +obs[0]; type 1 the opposite."""
    rng = np.random.default_rng(seed)
    n = per_agent * len(TYPES)
    width = max(obs_dims)
    agent_id = np.repeat(np.arange(len(TYPES)), per_agent)
    dims = np.asarray(obs_dims, dtype=np.int64)
    real = np.arange(width)[None, :] < dims[agent_id][:, None]
    obs = rng.normal(size=(n, width)).astype(np.float32) * real
    action = rng.integers(0, 3, size=n)
    sign = np.where(TYPES[agent_id] == 0, 1.0, -1.0).astype(np.float32)
    next_obs = obs.copy()
    next_obs[np.arange(n), action] += 0.5 * sign
    reward = (sign * (obs[:, 0] + action)).astype(np.float32)
    return Transitions(
        agent_id=agent_id,
        obs=obs,
        action=action,
        reward=reward,
        next_obs=next_obs * real,
        obs_dims=dims,
        n_actions=np.full(len(TYPES), 3, dtype=np.int64),
    )


def type_separation(means: np.ndarray) -> float:
    """Largest within-type distance divided by the smallest between-type distance."""
    distance = np.linalg.norm(means[:, None] - means[None], axis=-1)
    same = TYPES[:, None] == TYPES[None]
    return float(distance[same].max() / distance[~same].min())


@pytest.fixture(scope="module")
def buffer() -> Transitions:
    return planted()


@pytest.mark.parametrize("name", ENCODERS.list())
def test_encoder_separates_planted_types(name: str, buffer: Transitions) -> None:
    embeddings = ENCODERS.get(name)(**FAST).fit(buffer, seed=0)
    assert isinstance(embeddings, Embeddings) and embeddings.encoder == name
    assert embeddings.means.shape == (6, 5) and embeddings.means.dtype == np.float32
    assert type_separation(embeddings.means) < 0.1
    assert embeddings.losses[-1] < 0.5 * embeddings.losses[0]


@pytest.mark.parametrize("name", ENCODERS.list())
def test_same_seed_gives_identical_embeddings(name: str, buffer: Transitions) -> None:
    encoder = ENCODERS.get(name)(updates=50)
    first = encoder.fit(buffer, seed=3).means
    np.testing.assert_array_equal(first, encoder.fit(buffer, seed=3).means)
    assert not np.array_equal(first, encoder.fit(buffer, seed=4).means)


def test_padded_columns_do_not_leak() -> None:
    """Garbage in the padding of the agents with 3 real features changes nothing."""
    clean = planted(per_agent=100, obs_dims=(3, 3, 3, 4, 4, 4))
    padded = clean.obs_dims[clean.agent_id] < 4
    noise = np.random.default_rng(1).normal(size=(int(padded.sum()), 2)).astype(np.float32) * 100
    obs, next_obs = clean.obs.copy(), clean.next_obs.copy()
    obs[padded, 3], next_obs[padded, 3] = noise[:, 0], noise[:, 1]
    dirty = attrs.evolve(clean, obs=obs, next_obs=next_obs)
    encoder = ENCODERS.get("vae")(updates=100)
    expected = encoder.fit(clean, seed=0)
    result = encoder.fit(dirty, seed=0)
    np.testing.assert_array_equal(result.means, expected.means)
    assert result.losses == expected.losses


def test_heterogeneous_obs_sizes_still_separate_types() -> None:
    buffer = planted(obs_dims=(3, 3, 3, 4, 4, 4))
    means = ENCODERS.get("vae")(**FAST).fit(buffer, seed=0).means
    assert type_separation(means) < 0.1


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"updates": 0}, "updates"),
        ({"updates": 2.5}, "updates"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"batch_size": -1}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"hidden_sizes": (64, 0)}, "hidden_sizes"),
        ({"kl_weight": -1e-4}, "kl_weight"),
        ({"device": "tpu"}, "tpu"),
    ],
)
def test_bad_config_is_rejected_at_construction(options: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ENCODERS.get("vae")(**options)


def _without_agent(buffer: Transitions, agent: int) -> Transitions:
    keep = buffer.agent_id != agent
    return attrs.evolve(
        buffer,
        agent_id=buffer.agent_id[keep],
        obs=buffer.obs[keep],
        action=buffer.action[keep],
        reward=buffer.reward[keep],
        next_obs=buffer.next_obs[keep],
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: attrs.evolve(b, **_empty()), "empty"),
        (lambda b: _without_agent(b, 4), r"agents \[4\] have no transitions"),
        (lambda b: attrs.evolve(b, action=b.action + 1), "action space"),
        (lambda b: attrs.evolve(b, reward=np.full_like(b.reward, np.nan)), "NaN"),
        (lambda b: attrs.evolve(b, next_obs=b.next_obs[:, :2]), "next_obs has shape"),
        (lambda b: attrs.evolve(b, obs_dims=b.obs_dims + 1, next_obs=b.next_obs), "obs_dims asks for 5"),
    ],
)
def test_bad_transitions_are_rejected(buffer: Transitions, change, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ENCODERS.get("deterministic")().fit(change(buffer))


def _empty() -> dict[str, np.ndarray]:
    return {
        "agent_id": np.zeros(0, np.int64),
        "obs": np.zeros((0, 4), np.float32),
        "action": np.zeros(0, np.int64),
        "reward": np.zeros(0, np.float32),
        "next_obs": np.zeros((0, 4), np.float32),
    }


def test_sparse_reward_target_is_clipped_and_dense_rewards_are_untouched(buffer: Transitions) -> None:
    """One reward in 2,400 transitions standardises to ~49; the clip keeps its sign and caps it at 10."""
    import torch

    from seps.encoders.data import TrainingData

    sparse = np.zeros_like(buffer.reward)
    sparse[7] = 1.0
    cpu = torch.device("cpu")
    raw = TrainingData.build(attrs.evolve(buffer, reward=sparse), cpu).reward_target
    clipped = TrainingData.build(attrs.evolve(buffer, reward=sparse), cpu, reward_clip=10.0).reward_target
    assert float(raw[7]) > 40 and float(clipped[7]) == 10.0
    np.testing.assert_array_equal(np.delete(clipped.numpy(), 7), np.delete(raw.numpy(), 7))
    dense = TrainingData.build(buffer, cpu)
    np.testing.assert_array_equal(TrainingData.build(buffer, cpu, reward_clip=10.0).reward_target, dense.reward_target)
    assert ENCODERS.get("vae")().reward_clip == 10.0


def test_reward_clip_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="reward_clip"):
        ENCODERS.get("vae")(reward_clip=0.0)
