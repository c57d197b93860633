"""``seps train``: partition (seps only) and learn; ``--resume RUN_DIR`` continues a run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from seps.checks import check_partitioner_fits
from seps.cli.options import check_writable_dir, integer, parse_options, take_renamed_flag
from seps.collect import CollectConfig
from seps.config import ExperimentConfig, to_plain
from seps.errors import ConfigError, RunInterrupted
from seps.methods import DEFAULT_PARTITIONER
from seps.progress import StageProgress
from seps.registry import PARTITIONERS, resolve
from seps.signals import stop_on_signal

if TYPE_CHECKING:
    from seps.experiment import Experiment, RunResult
    from seps.trainer import Progress

DEFAULTS = ExperimentConfig()


# flag -> config field, for the flags a resume may change (seps.experiment.RESUME_OVERRIDES)
RESUMABLE_FLAGS = {
    "--steps": "total_steps",
    "--eval-interval": "eval_interval",
    "--eval-episodes": "eval_episodes",
    "--sampled-eval": "eval_greedy",
    "--checkpoint-interval": "checkpoint_interval",
    "--checkpoint-seconds": "checkpoint_seconds",
    "--log-interval": "log_interval",
    "--device": "device",
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("train", help="train agents with a sharing mode and a learner")
    # Every default is None, so a resume can tell a flag that was given from one that was not.
    add = parser.add_argument
    add("--method", default=None, help=f"nops, fups, fups_id or seps (default {DEFAULTS.method})")
    add("--env", default=None, help=f"registered env name (default {DEFAULTS.env})")
    add("--steps", type=integer, default=None, help=f"env steps over all copies (default {DEFAULTS.total_steps:,})")
    add("--encoder", default=None, help="seps only (default vae)")
    add("--partitioner", default=None, help="seps only (default kmeans_db)")
    add("--cluster", default=None, help=argparse.SUPPRESS)  # old name of --partitioner
    add("--learner", default=None, help="a2c, ppo, maa2c or mappo (see `seps list`; default a2c)")
    add(
        "--append-agent-ids",
        action="store_true",
        default=None,
        help="policy option: one-hot agent ids on every observation (default: the method's; fups_id = fups + this)",
    )
    add(
        "--repartition-every",
        type=integer,
        default=None,
        metavar="M",
        help="adaptive SePS: re-check the partition on the agents' own experience every M env steps",
    )
    add(
        "--initial-partition",
        choices=("random", "fups"),
        default=None,
        help="with --repartition-every: pre-train on random actions (default) or start from FuPS (K = 1)",
    )
    add("--seed", type=integer, default=None, help=f"default {DEFAULTS.seed}")
    add("--num-envs", type=integer, default=None, help=f"parallel env copies (default {DEFAULTS.num_envs})")
    add("--hidden", type=integer, nargs="+", default=None, help=f"layer widths (default {list(DEFAULTS.hidden_sizes)})")
    add("--eval-interval", type=integer, default=None, help=f"default {DEFAULTS.eval_interval:,}")
    add("--eval-episodes", type=integer, default=None, help=f"default {DEFAULTS.eval_episodes}")
    add("--sampled-eval", action="store_true", default=None, help="evaluate with sampled, not greedy, actions")
    add(
        "--checkpoint-interval",
        type=integer,
        default=None,
        help=f"env steps (default {DEFAULTS.checkpoint_interval:,})",
    )
    add(
        "--checkpoint-seconds",
        type=float,
        default=None,
        help=f"wall-clock seconds; whichever interval comes first writes (default {DEFAULTS.checkpoint_seconds:g})",
    )
    add(
        "--log-interval",
        type=integer,
        default=None,
        help=f"env steps between training rows (default {DEFAULTS.log_interval:,})",
    )
    add("--collect-steps", type=integer, default=None, help="seps: batched steps of random actions")
    add("--run-root", default=None, help=f"where run directories are made (default {DEFAULTS.run_root})")
    add("--device", default=None, help=f"default {DEFAULTS.device}")
    add(
        "-o",
        "--option",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="encoder.*, partitioner.*, learner.* or env.* option, e.g. learner.lr=1e-3",
    )
    add(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue a run (from its newest intact checkpoint); it may change only " + ", ".join(RESUMABLE_FLAGS),
    )
    add("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """Config fields of the flags given on the command line (not the options), keyed by their flag."""
    given = {
        "--method": ("method", args.method),
        "--env": ("env", args.env),
        "--encoder": ("encoder", args.encoder),
        "--partitioner": ("partitioner", args.partitioner),
        "--learner": ("learner", args.learner),
        "--append-agent-ids": ("append_agent_ids", args.append_agent_ids),
        "--seed": ("seed", args.seed),
        "--num-envs": ("num_envs", args.num_envs),
        "--hidden": ("hidden_sizes", None if args.hidden is None else tuple(args.hidden)),
        "--collect-steps": ("collect.steps", args.collect_steps),
        "--run-root": ("run_root", args.run_root),
        "--steps": ("total_steps", args.steps),
        "--eval-interval": ("eval_interval", args.eval_interval),
        "--eval-episodes": ("eval_episodes", args.eval_episodes),
        "--sampled-eval": ("eval_greedy", None if args.sampled_eval is None else not args.sampled_eval),
        "--checkpoint-interval": ("checkpoint_interval", args.checkpoint_interval),
        "--checkpoint-seconds": ("checkpoint_seconds", args.checkpoint_seconds),
        "--log-interval": ("log_interval", args.log_interval),
        "--device": ("device", args.device),
        "--repartition-every": ("repartition_every", args.repartition_every),
        "--initial-partition": ("initial_partition", args.initial_partition),
    }
    return {flag: pair for flag, pair in given.items() if pair[1] is not None}


def experiment_from_args(args: argparse.Namespace) -> Experiment:
    if args.steps is not None and args.steps <= 0:
        raise ConfigError(f"--steps must be > 0: {args.steps}")
    take_renamed_flag(args, "cluster", "partitioner")
    given = _given(args)
    options = parse_options(args.option, SECTIONS)
    if args.resume:
        return _resume(args.resume, given, options)
    run_root = check_writable_dir(args.run_root or DEFAULTS.run_root, flag="--run-root")
    if (args.method or DEFAULTS.method) == "seps" and (args.partitioner or options["partitioner"]):  # K vs N, now
        partitioner = resolve(PARTITIONERS, args.partitioner or DEFAULT_PARTITIONER, **options["partitioner"])
        check_partitioner_fits(partitioner, args.env or DEFAULTS.env, **options["env"])
    from seps.experiment import build  # torch: imported once the arguments are known to be good

    fields = {field: value for flag, (field, value) in given.items() if field != "collect.steps"}
    fields["run_root"] = str(run_root)
    if args.collect_steps is not None:
        fields["collect"] = _collect(args.collect_steps)
    fields.update({f"{section}_options": values for section, values in options.items()})
    fields.setdefault("learner", "a2c")
    return build(fields.pop("method", DEFAULTS.method), **fields)


SECTIONS = ("encoder", "partitioner", "learner", "env")


def _resume(run_dir: str, given: dict[str, Any], options: dict[str, dict[str, Any]]) -> Experiment:
    """Refuse every flag or option that contradicts the run's config, in one line; apply the resumable ones."""
    from seps.experiment import resume
    from seps.run_dir import RunDir

    directory = RunDir(run_dir)
    directory.check_resumable()
    recorded = to_plain(directory.read_config())
    contradictions = []
    for flag, (field, value) in given.items():
        if flag in RESUMABLE_FLAGS:
            continue
        section, _, key = field.partition(".")
        before = recorded[section][key] if key else recorded[field]
        if flag == "--run-root" or _plain(value) != _plain(before):
            contradictions.append(f"{flag} {_show(value)} (run: {_show(before)})")
    for section, values in options.items():
        for key, value in values.items():
            before = (recorded.get(f"{section}_options") or {}).get(key, "unset")
            if _plain(value) != _plain(before):
                contradictions.append(f"-o {section}.{key}={_show(value)} (run: {_show(before)})")
    if contradictions:
        raise ConfigError(
            f"--resume {run_dir}: {'; '.join(contradictions)} contradict the run's config; drop them or start a "
            f"new run (a resume may change {', '.join(RESUMABLE_FLAGS)})"
        )
    overrides = {field: value for flag, (field, value) in given.items() if flag in RESUMABLE_FLAGS}
    return resume(run_dir, **overrides)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def _collect(steps: int) -> CollectConfig:
    try:
        return attrs.evolve(CollectConfig(), steps=steps)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"--collect-steps: {error}") from None


def run(args: argparse.Namespace) -> int:
    from seps.cli.stage_bar import StageBar

    experiment = experiment_from_args(args)
    config = experiment.config
    with StageBar(enabled=not args.no_progress) as bar, stop_on_signal() as stopper:

        def progress(update: Progress) -> None:
            last = "-" if update.last_eval_return is None else f"{update.last_eval_return:.1f}"
            detail = f"{update.steps_per_second:,.0f} steps/s, eval {last}"
            bar(
                StageProgress(
                    stage="train", done=update.env_steps, total=update.total_steps, unit="step", detail=detail
                )
            )

        try:
            result = experiment.run(progress, stages=bar, callbacks=[stopper])
        except KeyboardInterrupt as interrupt:
            bar.close()
            print(interrupted_message(experiment, interrupt), file=sys.stderr)
            return 130
    print(summarise(result, config))
    return 0


def interrupted_message(experiment: Experiment, interrupt: KeyboardInterrupt) -> str:
    """One line: where the run stopped, what was saved, and the command that continues it."""
    from seps.run_dir import RunDir

    if experiment.run_dir is None:
        return "seps train: interrupted before a run directory was made; nothing to resume"
    if isinstance(interrupt, RunInterrupted):
        name = interrupt.checkpoint.name if interrupt.checkpoint else "-"
        saved = f"stopped at env step {interrupt.env_steps:,}, checkpoint {name} saved"
    elif RunDir(experiment.run_dir).has_checkpoint():
        saved = f"interrupted; its last checkpoint is {RunDir(experiment.run_dir).latest_checkpoint().name}"
    elif RunDir(experiment.run_dir).has_partition():
        saved = "interrupted before the first checkpoint; its partition is kept, training restarts at step 0"
    else:
        saved = "interrupted during pre-training; a resume starts it again"
    return f"seps train: {saved}; resume with: seps train --resume {experiment.run_dir}"


def partition_changes(run_dir: Path) -> list[str]:
    """One line per re-partition of an adaptive run (none for a run that partitioned once)."""
    from seps.run_dir import RunDir

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
    if result.win_rates:
        best = max(rate for _, rate in result.win_rates)
        lines.append(f"evaluation win rate: max {best:.2f}   final: {result.win_rates[-1][1]:.2f}")
    lines.append(f"run directory: {result.run_dir}")
    return "\n".join(lines)
