"""Are late-colour BPS's types hidden from random actions and visible once agents reach the landmarks?

    python benchmarks/late_colour_types.py [--env bps-late-1] [--seeds 0 1 2] [--greedy 0.8]

For each seed, partitions the agents (the default ``vae`` encoder and ``kmeans_db``) twice, with
:func:`seps.pipeline.partition_transitions` on the default amount of experience (64 copies x 200
steps): once from uniformly random actions (what static SePS sees), once from a scripted policy
that walks to the nearest landmark with probability ``--greedy`` (else a random action) -- a
stand-in for agents that have learned the colour-blind part of the task, without the RL budget.
Prints K and the ARI against the true colours of both.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402

import numpy as np  # noqa: E402

from seps.builtin_components import load_builtins  # noqa: E402
from seps.collect import collect  # noqa: E402
from seps.pipeline import make_env, partition_transitions, type_agreement  # noqa: E402
from seps.records import Transitions  # noqa: E402


def to_nearest_landmark(obs: np.ndarray, n_colours: int) -> np.ndarray:
    """BPS actions (E, N) that push each agent along the larger axis towards its nearest landmark."""
    relative = obs[..., 4:].reshape(*obs.shape[:-1], n_colours, 2)
    nearest = np.linalg.norm(relative, axis=-1).argmin(axis=-1)
    direction = np.take_along_axis(relative, nearest[..., None, None], axis=-2)[..., 0, :]
    use_x = np.abs(direction[..., 0]) >= np.abs(direction[..., 1])
    return np.where(use_x, np.where(direction[..., 0] < 0, 1, 2), np.where(direction[..., 1] < 0, 3, 4))


def scripted(env_name: str, steps: int, seed: int, greedy: float) -> Transitions:
    env = make_env(env_name, num_envs=64)
    rng = np.random.default_rng(seed)
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("agent_id", "obs", "action", "reward", "next_obs")}
    ids = np.broadcast_to(np.arange(env.n_agents), (64, env.n_agents))
    result = env.reset(seed=seed)
    for _ in range(steps):
        actions = to_nearest_landmark(result.obs, env.n_colours)  # type: ignore[attr-defined]
        explore = rng.random(actions.shape) >= greedy
        actions = np.where(explore, rng.integers(0, 5, actions.shape), actions).astype(np.int64)
        following = env.step(actions)
        for key, value in (("agent_id", ids), ("obs", result.obs), ("action", actions)):
            columns[key].append(value.reshape(-1, *value.shape[2:]))
        columns["reward"].append(following.rewards.reshape(-1))
        columns["next_obs"].append(following.final_obs.reshape(-1, following.final_obs.shape[-1]))
        result = following
    return Transitions(
        **{k: np.concatenate(v) for k, v in columns.items()}, obs_dims=env.obs_dims, n_actions=env.n_actions
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="bps-late-1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--greedy", type=float, default=0.8)
    args = parser.parse_args()
    load_builtins()
    types = make_env(args.env).agent_types
    for seed in args.seeds:
        row: dict[str, object] = {"seed": seed}
        for name, data in (
            ("random", collect(make_env(args.env, num_envs=64), 200, seed=seed)),
            ("to_landmarks", scripted(args.env, 200, seed, args.greedy)),
        ):
            partition, _ = partition_transitions(data, "vae", "kmeans_db", seed=seed)
            bonus = float((data.reward > 0.5).mean())
            row[name] = {"k": partition.k, "ari": type_agreement(types, partition.labels), "bonus_fraction": bonus}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
