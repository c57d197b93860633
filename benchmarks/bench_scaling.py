"""Time per training timestep against the number of agents, for every sharing mode and two naive baselines.

    python benchmarks/bench_scaling.py                       # the table of docs/performance.md
    python benchmarks/bench_scaling.py --agents 200 --modes nops fups seps --repeats 7
    python benchmarks/bench_scaling.py --memory nops:1000 fups:1000   # peak RSS, each in a fresh process
    python benchmarks/bench_scaling.py --profile nops:200           # torch.profiler table of the hot path

A training timestep is one batched step of E env copies + the policy forward that chose the
actions + 1/n_steps of the learner update (A2C updates every 5 steps), measured on the real
:class:`~seps.trainer.Trainer` (see ``training_harness.py``) with one torch thread. Every repeat
times all modes of one N back to back (interleaved, so load from other processes hits them
alike); a mode's figure is the median over repeats, and its ratio is the median of the per-repeat
ratios to ``fups``. Modes whose first update cycle takes longer than ``--max-cycle-seconds`` are
reported as skipped, as is the paper-style NoPS baseline above ``--paper-max-agents`` (it runs all
N networks on all N agents, so its work and activations grow as N^2).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from training_harness import make_trainer, train_cycle  # noqa: E402

from seps.trainer import Trainer  # noqa: E402

DEFAULT_MODES = ("fups", "fups_id", "seps", "nops", "looped-seps", "looped-nops", "paper-seps", "paper-nops")


def _parse_mode(spec: str) -> tuple[str, int]:
    mode, _, n_agents = spec.partition(":")
    return mode, int(n_agents)


def time_modes(modes: list[str], n_agents: int, args: argparse.Namespace) -> dict[str, dict[str, float | str]]:
    """Median ms per timestep and median ratio to fups of every mode at ``n_agents`` (or why it was skipped)."""
    trainers: dict[str, Trainer] = {}
    cycles: dict[str, int] = {}
    results: dict[str, dict[str, float | str]] = {}
    for mode in modes:
        if mode.startswith("paper-nops") and n_agents > args.paper_max_agents:
            results[mode] = {"skipped": f"N > --paper-max-agents={args.paper_max_agents}"}
            continue
        trainer = make_trainer(mode.removesuffix("+fused"), n_agents, args.envs, fused_adam=mode.endswith("+fused"))
        start = time.perf_counter()
        train_cycle(trainer)  # warm-up; also sizes the measurement
        first = time.perf_counter() - start
        if first > args.max_cycle_seconds:
            results[mode] = {"skipped": f"{first:.1f} s per update cycle > --max-cycle-seconds"}
            continue
        train_cycle(trainer)
        start = time.perf_counter()
        train_cycle(trainer)
        cycle_seconds = time.perf_counter() - start
        trainers[mode], cycles[mode] = trainer, max(1, round(args.seconds / max(cycle_seconds, 1e-6)))
    samples: dict[str, list[float]] = {mode: [] for mode in trainers}
    for _ in range(args.repeats):
        for mode, trainer in trainers.items():
            start = time.perf_counter()
            for _ in range(cycles[mode]):
                train_cycle(trainer)
            steps = cycles[mode] * trainer.learner.n_steps
            samples[mode].append((time.perf_counter() - start) / steps * 1e3)
    for mode, values in samples.items():
        row: dict[str, float | str] = {"ms": statistics.median(values), "spread": max(values) - min(values)}
        if "fups" in samples:
            row["ratio"] = statistics.median(v / f for v, f in zip(values, samples["fups"], strict=True))
        results[mode] = row
    return results


def peak_memory(spec: str, args: argparse.Namespace) -> dict[str, float]:
    """Peak RSS (MB) of a fresh process that builds ``mode:N`` and runs ``--memory-cycles`` update cycles."""
    command = [sys.executable, __file__, "--measure-memory", spec, "--envs", str(args.envs)]
    command += ["--memory-cycles", str(args.memory_cycles)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _measure_memory_here(spec: str, args: argparse.Namespace) -> None:
    """Child process of :func:`peak_memory`: print {baseline_mb, peak_mb} as JSON."""
    mode, n_agents = _parse_mode(spec)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # after importing torch and seps
    trainer = make_trainer(mode, n_agents, args.envs)
    for _ in range(args.memory_cycles):
        train_cycle(trainer)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    n_parameters = sum(p.numel() for p in trainer.policy.parameters())
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "parameters": n_parameters}))


def profile(spec: str, args: argparse.Namespace) -> None:
    """Print torch.profiler's operator table for ``--profile-cycles`` update cycles of ``mode:N``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    mode, n_agents = _parse_mode(spec)
    trainer = make_trainer(mode.removesuffix("+fused"), n_agents, args.envs, fused_adam=mode.endswith("+fused"))
    for _ in range(3):
        train_cycle(trainer)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.profile_cycles):
            train_cycle(trainer)
    steps = args.profile_cycles * trainer.learner.n_steps
    print(f"{spec}: {args.profile_cycles} update cycles = {steps} timesteps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile_rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="+", default=[15, 30, 100, 200, 1000])
    parser.add_argument(
        "--modes",
        nargs="+",
        default=list(DEFAULT_MODES),
        help="library modes, looped-<mode>, paper-<mode>, <mode>+fused",
    )
    parser.add_argument("--envs", type=int, default=8, help="parallel env copies (paper: 8)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="target length of one timed measurement")
    parser.add_argument("--max-cycle-seconds", type=float, default=30.0)
    parser.add_argument("--paper-max-agents", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--memory", nargs="*", default=[], metavar="MODE:N", help="peak RSS of these, e.g. nops:1000")
    parser.add_argument("--memory-cycles", type=int, default=3)
    parser.add_argument("--measure-memory", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="MODE:N", help="profile this mode instead of timing")
    parser.add_argument("--profile-cycles", type=int, default=20)
    parser.add_argument("--profile-rows", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure_memory:
        _measure_memory_here(args.measure_memory, args)
        return
    if args.profile:
        profile(args.profile, args)
        return
    if args.memory:
        report = {spec: peak_memory(spec, args) for spec in args.memory}
        print(f"{'mode:N':<14} {'parameters':>11} {'baseline MB':>12} {'peak MB':>9}")
        for spec, usage in report.items():
            print(f"{spec:<14} {usage['parameters']:>11,.0f} {usage['baseline_mb']:>12.0f} {usage['peak_mb']:>9.0f}")
        return

    print(f"torch {torch.__version__}, {args.threads} thread(s), E={args.envs}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'N':>5} {'mode':<14} {'ms/step':>9} {'spread':>8} {'x fups':>7}")
    everything: dict[int, dict[str, dict[str, float | str]]] = {}
    for n_agents in args.agents:
        everything[n_agents] = time_modes(args.modes, n_agents, args)
        for mode, row in everything[n_agents].items():
            if "skipped" in row:
                print(f"{n_agents:>5} {mode:<14} skipped: {row['skipped']}")
                continue
            ratio = f"{row['ratio']:>7.2f}" if "ratio" in row else f"{'':>7}"
            print(f"{n_agents:>5} {mode:<14} {row['ms']:>9.2f} {row['spread']:>8.2f} {ratio}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({str(n): rows for n, rows in everything.items()}, handle, indent=2)


if __name__ == "__main__":
    main()
