"""Reference returns for a Box-action env: a uniform-random policy and the box's centre (``--policy centre``).

The baselines a trained continuous policy must beat, measured as seps's evaluation measures a policy
(:class:`seps.evaluation.EpisodeTracker`: one episode per env copy, returns summed over agents).
Prints mean ± standard error and the standard deviation of the episode returns::

    python benchmarks/continuous_baselines.py pettingzoo:mpe2.simple_spread_v3 --episodes 200
    python benchmarks/continuous_baselines.py vmas:simple_adversary --episodes 200 --policy centre
"""

from __future__ import annotations

import argparse

import numpy as np

from seps.builtin_components import load_builtins
from seps.envs.base import MultiAgentEnv
from seps.evaluation import EpisodeTracker
from seps.registry import ENVS


def baseline_returns(env: MultiAgentEnv, episodes: int, policy: str, seed: int) -> np.ndarray:
    """Each copy's first episode return under ``policy`` ("uniform" in the Box, or its "centre")."""
    low, high = env.action_bounds()
    rng = np.random.default_rng(seed)
    tracker = EpisodeTracker(env.num_envs, env.n_agents, env.team_reward)
    returns = np.full(env.num_envs, np.nan)
    env.reset(seed)
    while np.isnan(returns[:episodes]).any():
        shape = (env.num_envs, *low.shape)
        centre = np.broadcast_to((low + high) / 2, shape)
        actions = rng.uniform(low, high, size=shape) if policy == "uniform" else centre
        ended, totals = tracker.add(env.step(actions.astype(np.float32)))
        first_time = ended & np.isnan(returns)
        returns[first_time] = totals[first_time[ended]]
    return returns[:episodes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--policy", choices=["uniform", "centre"], default="uniform")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_builtins()
    env = ENVS.get(args.env)(num_envs=args.episodes, continuous_actions=True)
    try:
        returns = baseline_returns(env, args.episodes, args.policy, args.seed)
    finally:
        env.close()
    se = returns.std(ddof=1) / np.sqrt(len(returns))
    std = returns.std(ddof=1)
    print(f"{args.env} {args.policy}: {returns.mean():.2f} ± {se:.2f} (SE; std {std:.2f}, {len(returns)} episodes)")


if __name__ == "__main__":
    main()
