"""``seps train``: partition (seps only) and learn; ``--resume RUN_DIR`` continues a run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import attrs

from seps.cli.options import check_writable_dir, parse_options
from seps.cli.stage_bar import StageBar
from seps.collect import CollectConfig
from seps.config import ExperimentConfig
from seps.errors import ConfigError
from seps.experiment import Experiment, RunResult, build, resume
from seps.progress import StageProgress
from seps.run_dir import RunDir
from seps.trainer import Progress

DEFAULTS = ExperimentConfig()


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("train", help="train agents with a sharing mode and a learner")
    parser.add_argument("--method", default=DEFAULTS.method, help="nops, fups, fups_id or seps")
    parser.add_argument("--env", default=DEFAULTS.env, help="registered env name")
    parser.add_argument(
        "--steps", type=int, default=None, help=f"env steps over all copies (default {DEFAULTS.total_steps:,})"
    )
    parser.add_argument("--encoder", default=None, help="seps only (default vae)")
    parser.add_argument("--cluster", default=None, help="seps only (default kmeans_db)")
    parser.add_argument("--learner", default="a2c", help="a2c or ppo (see `seps list`)")
    parser.add_argument(
        "--append-agent-ids",
        action="store_true",
        default=None,
        help="policy option: one-hot agent ids on every observation (default: the method's; fups_id = fups + this)",
    )
    parser.add_argument(
        "--repartition-every",
        type=int,
        default=None,
        metavar="M",
        help="adaptive SePS: re-check the partition on the agents' own experience every M env steps",
    )
    parser.add_argument(
        "--initial-partition",
        choices=("random", "fups"),
        default=DEFAULTS.initial_partition,
        help="with --repartition-every: pre-train on random actions (default) or start from FuPS (K = 1)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--num-envs", type=int, default=DEFAULTS.num_envs)
    parser.add_argument("--hidden", type=int, nargs="+", default=list(DEFAULTS.hidden_sizes), help="layer widths")
    parser.add_argument("--eval-interval", type=int, default=DEFAULTS.eval_interval)
    parser.add_argument("--eval-episodes", type=int, default=DEFAULTS.eval_episodes)
    parser.add_argument("--sampled-eval", action="store_true", help="evaluate with sampled, not greedy, actions")
    parser.add_argument("--checkpoint-interval", type=int, default=DEFAULTS.checkpoint_interval)
    parser.add_argument("--collect-steps", type=int, default=None, help="seps: batched steps of random actions")
    parser.add_argument("--run-root", default=DEFAULTS.run_root, help="where run directories are made")
    parser.add_argument("--device", default=DEFAULTS.device)
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="encoder.*, cluster.*, learner.* or env.* option, e.g. learner.lr=1e-3",
    )
    parser.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue a run from its last checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def experiment_from_args(args: argparse.Namespace) -> Experiment:
    if args.steps is not None and args.steps <= 0:
        raise ConfigError(f"--steps must be > 0: {args.steps}")
    if args.resume:
        return resume(args.resume, total_steps=args.steps)
    options = parse_options(args.option, ("encoder", "cluster", "learner", "env"))
    check_writable_dir(args.run_root)
    collect = CollectConfig() if args.collect_steps is None else _collect(args.collect_steps)
    return build(
        args.method,
        env=args.env,
        encoder=args.encoder,
        cluster=args.cluster,
        learner=args.learner,
        seed=args.seed,
        total_steps=args.steps or DEFAULTS.total_steps,
        num_envs=args.num_envs,
        hidden_sizes=tuple(args.hidden),
        eval_interval=args.eval_interval,
        eval_episodes=args.eval_episodes,
        eval_greedy=not args.sampled_eval,
        checkpoint_interval=args.checkpoint_interval,
        run_root=args.run_root,
        device=args.device,
        collect=collect,
        encoder_options=options["encoder"],
        cluster_options=options["cluster"],
        learner_options=options["learner"],
        env_options=options["env"],
        append_agent_ids=args.append_agent_ids,
        repartition_every=args.repartition_every,
        initial_partition=args.initial_partition,
    )


def _collect(steps: int) -> CollectConfig:
    try:
        return attrs.evolve(CollectConfig(), steps=steps)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"--collect-steps: {error}") from None


def run(args: argparse.Namespace) -> int:
    experiment = experiment_from_args(args)
    config = experiment.config
    with StageBar(enabled=not args.no_progress) as bar:

        def progress(update: Progress) -> None:
            last = "-" if update.last_eval_return is None else f"{update.last_eval_return:.1f}"
            detail = f"{update.steps_per_second:,.0f} steps/s, eval {last}"
            bar(
                StageProgress(
                    stage="train", done=update.env_steps, total=update.total_steps, unit="step", detail=detail
                )
            )

        result = experiment.run(progress, stages=bar)
    print(summarise(result, config))
    return 0


def partition_changes(run_dir: Path) -> list[str]:
    """One line per re-partition of an adaptive run (none for a run that partitioned once)."""
    records = RunDir(run_dir).read_partitions()
    checks = [r for r in records if r["event"] != "initial"]
    if not checks:
        return []
    changes = [r for r in checks if r["event"] == "change"]
    lines = [f"re-partition checks: {len(checks)}, changes: {len(changes)}"]
    for record in changes:
        ari = "" if record["current_ari"] is None else f", ARI {record['current_ari']:.3f}"
        lines.append(f"  at {record['step']:>10,d} steps: K = {record['current_k']}{ari}: {record['current_labels']}")
    return lines


def summarise(result: RunResult, config: ExperimentConfig) -> str:
    partition = result.partition
    lines = [f"{config.method} on {config.env}, seed {config.seed}: K = {partition.k} parameter groups"]
    lines += [f"  group {g}: agents {ids}" for g, ids in partition.groups().items()]
    if config.method == "seps":
        ari = "no ground-truth types" if result.ari is None else f"{result.ari:.3f}"
        lines.append(f"adjusted Rand index vs true types: {ari}")
    lines += partition_changes(result.run_dir)
    lines.append(f"evaluation return (sum over agents), {len(result.evaluations)} evaluations:")
    for steps, mean, std in result.evaluations:
        lines.append(f"  {steps:>10,d} steps: {mean:9.2f} ± {std:.2f}")
    lines.append(f"max evaluation return: {result.max_eval_return:.2f}   final: {result.final_eval_return:.2f}")
    lines.append(f"run directory: {result.run_dir}")
    return "\n".join(lines)
