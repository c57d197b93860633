"""``seps list``: print every registry."""

from __future__ import annotations

import argparse
from typing import Any

from seps.builtin_components import load_builtins
from seps.registry import REGISTRIES


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("list", help="list the registered components")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style pattern, e.g. 'bps*'")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    load_builtins()
    for kind, registry in REGISTRIES.items():
        names = registry.list(args.pattern)
        families = [f"{prefix}:..." for prefix in registry.families()]
        print(f"{kind}: {', '.join(names + families) or '(none)'}")
    return 0
