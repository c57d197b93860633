"""Time evaluate + backward of the grouped actor-critic routed per agent and per row (per-episode types).

    PYTHONPATH=. python benchmarks/bench_row_routing.py [--agents 10] [--repeats 20] [--threads 1]

Both policies have K = 3 groups. "per agent" is a fixed assignment (agents 0-2, 3-6, 7-9);
"per row" maps 3 unit types to the groups and draws each row's type at random, as smacv2's
generated maps do per episode (``GroupedActorCritic.row_groups``, ``seps.nn.routing.build_row_routing``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from seps.nn import GroupedActorCritic


def _time(step: Callable[[], None], repeats: int) -> float:
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--obs", type=int, default=130)
    parser.add_argument("--actions", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, d, a = args.agents, args.obs, args.actions
    split = [0] * (n * 3 // 10) + [1] * (n * 4 // 10)
    fixed = GroupedActorCritic(n, split + [2] * (n - len(split)), d, a)
    typed = GroupedActorCritic(n, [0, 1, 2], d, a, n_types=3)
    for rows in (8, 1024):
        obs, actions = torch.randn(rows, n, d), torch.randint(0, a, (rows, n))
        groups = typed.groups_for(torch.randint(0, 3, (rows, n)))
        for name, step in (
            ("per agent", _step(fixed, obs, actions, None)),
            ("per row", _step(typed, obs, actions, groups)),
        ):
            print(f"rows {rows:5d} x {n} agents, {name:9s}: {_time(step, args.repeats):7.2f} ms")


def _step(
    policy: GroupedActorCritic, obs: torch.Tensor, actions: torch.Tensor, groups: torch.Tensor | None
) -> Callable[[], None]:
    def step() -> None:
        with policy.row_groups(groups):
            log_probs, _, values = policy.evaluate(obs, None, actions)
        (log_probs.sum() + values.sum()).backward()

    return step


if __name__ == "__main__":
    main()
