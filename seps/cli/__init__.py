"""The ``seps`` command line: list, partition, train, evaluate, sweep and report."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from seps.cli import evaluate_command, list_command, partition_command, report_command, sweep_command, train_command
from seps.errors import SepsError

COMMANDS = (list_command, partition_command, train_command, evaluate_command, sweep_command, report_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seps", description="Selective Parameter Sharing for multi-agent RL.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress of the library")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seps`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except SepsError as error:
        print(f"seps {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"seps {args.command}: interrupted", file=sys.stderr)
        return 130
