"""The ``seps`` command line: list, partition, train, evaluate, sweep and report."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from seps.cli import evaluate_command, list_command, partition_command, report_command, sweep_command, train_command
from seps.errors import ConfigError, SepsError

COMMANDS = (list_command, partition_command, train_command, evaluate_command, sweep_command, report_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seps", description="Selective Parameter Sharing for multi-agent RL.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress of the library")
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it registers your components); the current directory is importable",
    )
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
        _import_user_modules(args.imports)
        return int(args.run(args) or 0)
    except SepsError as error:
        print(f"seps {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"seps {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `seps sweep --dry-run | head`: the reader left. Python's advice (docs, "Note on SIGPIPE"): point
        # stdout at devnull so the interpreter's final flush does not raise again, and exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _import_user_modules(modules: Sequence[str]) -> None:
    """Make the current directory importable, as ``python -m`` does, and import ``--import`` modules."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"--import {module}: {error}; run from the directory that holds it") from None
