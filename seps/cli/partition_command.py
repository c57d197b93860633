"""``seps partition``: run collect -> encode -> cluster and report the groups found."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from seps.checks import check_partitioner_fits, check_seed
from seps.cli.options import check_writable_dir, integer, parse_options, take_renamed_flag
from seps.collect import CollectConfig
from seps.errors import ConfigError
from seps.export import FORMATS, export_text
from seps.methods import DEFAULT_PARTITIONER
from seps.registry import PARTITIONERS, resolve
from seps.threads import check_threads

if TYPE_CHECKING:
    from seps.pipeline import PartitionResult

logger = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("partition", help="find the agent -> parameter-group map (no RL)")
    parser.add_argument("--env", default="bps-1", help="registered env name (see `seps list`)")
    parser.add_argument("--encoder", default="vae", help="registered encoder or 'module:Class'")
    parser.add_argument(
        "--partitioner", default=None, help="registered partitioner or 'module:Class' (default kmeans_db)"
    )
    parser.add_argument("--cluster", default=None, help=argparse.SUPPRESS)  # old name of --partitioner
    parser.add_argument("--seed", type=integer, default=0)
    parser.add_argument("--collect-steps", type=integer, default=None, help="batched env steps of random actions")
    parser.add_argument("--num-envs", type=integer, default=None, help="parallel env copies while collecting")
    parser.add_argument("--transitions", default=None, help="reuse a transitions .npz instead of collecting")
    parser.add_argument(
        "-o", "--option", action="append", metavar="SECTION.KEY=VALUE", help="encoder.*, partitioner.* or env.* option"
    )
    parser.add_argument("--out", default=None, help="directory for partition.json, embeddings.npz, transitions.npz")
    parser.add_argument(
        "--export",
        action="append",
        choices=FORMATS,
        default=None,
        help="also write the groups for another framework: BenchMARL group_map, RLlib policies + mapping, "
        "or plain JSON (agent name -> group); to --out/<format>.json, else printed (repeatable)",
    )
    parser.add_argument("--threads", type=integer, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Everything that can fail on the arguments alone fails here, before torch is even imported.
    out = check_writable_dir(args.out) if args.out else None
    check_seed(args.seed)
    take_renamed_flag(args, "cluster", "partitioner")
    options = parse_options(args.option, ("encoder", "partitioner", "env"))
    partitioner = resolve(PARTITIONERS, args.partitioner or DEFAULT_PARTITIONER, **options["partitioner"])
    check_partitioner_fits(partitioner, args.env, **options["env"])
    collect_options = {
        key: value for key, value in (("steps", args.collect_steps), ("num_envs", args.num_envs)) if value is not None
    }
    if args.num_envs is None and str(args.env).startswith(("smac-", "smacv2:")):
        from seps.envs.smac import COLLECT_COPIES

        collect_options["num_envs"] = COLLECT_COPIES  # each copy is a StarCraft II process
        logger.warning(
            "%s: collecting with %d copies (one StarCraft II each); --num-envs changes it", args.env, COLLECT_COPIES
        )
    try:
        collect_config = CollectConfig(**collect_options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"collect: {error}") from None
    from seps.cli.stage_bar import StageBar
    from seps.pipeline import partition_agents
    from seps.records import Transitions

    transitions = Transitions.load(args.transitions) if args.transitions else None
    with StageBar(enabled=not args.no_progress) as bar:
        result = partition_agents(
            args.env,
            args.encoder,
            partitioner,
            seed=args.seed,
            collect_config=collect_config,
            encoder_options=options["encoder"],
            env_options=options["env"],
            transitions=transitions,
            threads=check_threads(args.threads),
            progress=bar,
        )
    print(format_result(result, args.env))
    if out is not None:
        write_result(result, out)
        print(f"wrote {out}/partition.json, embeddings.npz, transitions.npz")
    for fmt in args.export or ():
        text = export_text(result.partition, fmt, result.agent_names)
        if out is None:
            print(f"{fmt} export:\n{text}")
        else:
            (out / f"{fmt}.json").write_text(text + "\n")
            print(f"wrote {out}/{fmt}.json")
    return 0


def format_result(result: PartitionResult, env_name: str) -> str:
    partition = result.partition
    lines = [f"env {env_name}: {partition.n_agents} agents -> K = {partition.k} groups ({partition.method})"]
    lines += [f"  group {g}: agents {ids}" for g, ids in partition.groups().items()]
    if partition.scores:
        lines.append("score per K: " + ", ".join(f"{k}: {v:.4f}" for k, v in sorted(partition.scores.items())))
    ari = result.ari
    lines.append(
        "adjusted Rand index vs true types: no ground-truth types (the env does not define agent types)"
        if ari is None
        else f"adjusted Rand index vs true types: {ari:.3f}"
    )
    if result.embeddings.updates is not None:
        lines.append(f"encoder: {result.embeddings.updates:,} updates")
    lines.append("time: " + ", ".join(f"{stage} {s:.1f}s" for stage, s in result.seconds.items()))
    lines.append(f"total {sum(result.seconds.values()):.1f}s")
    return "\n".join(lines)


def write_result(result: PartitionResult, out: Any) -> None:
    from seps.pipeline import save_partition

    out.mkdir(parents=True, exist_ok=True)
    save_partition(out, result.partition, result.agent_types, result.embeddings)
    result.transitions.save(out / "transitions.npz")
