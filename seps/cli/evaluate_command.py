"""``seps evaluate RUN_DIR``: evaluate a run's last checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

from seps.cli.options import integer
from seps.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate the last checkpoint of a run directory")
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=integer, default=None, help="default: the run's eval_episodes")
    parser.add_argument("--sampled", action="store_true", help="sample actions instead of taking the greedy ones")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from seps.experiment import resume  # torch: imported once the arguments are known to be good

    if args.episodes is not None and args.episodes <= 0:
        raise ConfigError(f"--episodes must be > 0: {args.episodes}")
    experiment = resume(args.run_dir)
    returns = experiment.evaluate(episodes=args.episodes, greedy=not args.sampled if args.sampled else None)
    mode = "sampled" if args.sampled else "greedy"
    print(f"{args.run_dir}: {len(returns)} {mode} episodes, return {returns.mean():.2f} ± {returns.std():.2f}")
    return 0
