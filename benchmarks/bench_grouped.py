"""Time forward + backward of GroupedMLP against alternatives, for N agents in E envs.

    python benchmarks/bench_grouped.py [--envs 8] [--agents 200] [--repeats 30] [--threads 1] [--row-gather]

Compared, for K groups of agents (the partition is "balanced" round-robin or "skewed", one big group):
  grouped     seps.nn.GroupedMLP (slot-major layout, one baddbmm per layer)
  agent-gather  gather one weight matrix per agent, W[assignment] (N, in, out), then bmm
  row-gather  gather one weight matrix per (env, agent) row, then bmm (only with --row-gather: it is slow)
  loop        a Python loop over K ordinary nn.Sequential modules
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from seps.nn import GroupedMLP, build_routing


def _time(step: Callable[[], None], repeats: int) -> float:
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1e3


def _gather_step(mlp: GroupedMLP, x: torch.Tensor, assignment: torch.Tensor, per_row: bool) -> Callable[[], None]:
    n_envs = x.shape[0]

    def step() -> None:
        mlp.zero_grad(set_to_none=True)
        index = assignment.repeat(n_envs) if per_row else assignment
        h = x.reshape(-1, 1, x.shape[-1]) if per_row else x.transpose(0, 1)  # (E*N, 1, in) or (N, E, in)
        for position, layer in enumerate(mlp.linears):
            h = torch.baddbmm(layer.bias[index].unsqueeze(1), h, layer.weight[index])
            if position < len(mlp.linears) - 1:
                h = torch.relu(h)
        h.sum().backward()

    return step


def _loop_step(modules: list[nn.Module], x: torch.Tensor, assignment: torch.Tensor, out: int) -> Callable[[], None]:
    members = [torch.nonzero(assignment == group).squeeze(1) for group in range(len(modules))]

    def step() -> None:
        for module in modules:
            module.zero_grad(set_to_none=True)
        y = x.new_zeros(x.shape[0], x.shape[1], out)
        for module, index in zip(modules, members, strict=True):
            y = y.index_copy(1, index, module(x[:, index]))
        y.sum().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--obs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--out", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--row-gather", action="store_true", help="also time the per-row gather (slow)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.agents
    x = torch.randn(args.envs, n, args.obs)
    cases = [(1, "balanced"), (4, "balanced"), (4, "skewed"), (n, "balanced")]
    print(f"forward+backward ms, N={n} E={args.envs} in={args.obs} hidden=({args.hidden},{args.hidden}) out={args.out}")
    header = f"{'K':>4} {'partition':>9} {'grouped':>8} {'agent-gather':>13} {'row-gather':>11} {'loop':>8}"
    print(header)
    for k, kind in cases:
        if kind == "skewed":
            assignment = torch.cat([torch.zeros(n - k + 1, dtype=torch.long), torch.arange(1, k)])
        else:
            assignment = torch.arange(n) % k
        mlp = GroupedMLP(k, args.obs, (args.hidden, args.hidden), args.out)
        routing = build_routing(assignment, k)

        def grouped(mlp: GroupedMLP = mlp, routing: object = routing) -> None:
            mlp.zero_grad(set_to_none=True)
            mlp(x, routing).sum().backward()  # type: ignore[arg-type]

        modules: list[nn.Module] = [
            nn.Sequential(
                nn.Linear(args.obs, args.hidden),
                nn.ReLU(),
                nn.Linear(args.hidden, args.hidden),
                nn.ReLU(),
                nn.Linear(args.hidden, args.out),
            )
            for _ in range(k)
        ]
        times = [
            _time(grouped, args.repeats),
            _time(_gather_step(mlp, x, assignment, per_row=False), args.repeats),
            _time(_gather_step(mlp, x, assignment, per_row=True), args.repeats) if args.row_gather else float("nan"),
            _time(_loop_step(modules, x, assignment, args.out), args.repeats),
        ]
        print(f"{k:>4} {kind:>9} {times[0]:>8.2f} {times[1]:>13.2f} {times[2]:>11.2f} {times[3]:>8.2f}")


if __name__ == "__main__":
    main()
