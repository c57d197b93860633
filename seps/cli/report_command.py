"""``seps report SWEEP_DIR``: tables and plots of a sweep, as Markdown with PNGs."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="write report.md (tables + PNG plots) for a sweep directory")
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR")
    parser.add_argument("--out", default=None, help="report file (default SWEEP_DIR/report.md; plots go next to it)")
    parser.add_argument("--no-plots", action="store_true", help="tables only (no matplotlib needed)")
    parser.add_argument(
        "--summaries",
        metavar="DIR",
        default=None,
        help="also copy the cells' small summaries (no run directories) to DIR; `seps report DIR` re-renders",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from seps.report import write_report
    from seps.report.summaries import export_summaries

    if args.summaries is not None:
        copied = export_summaries(args.sweep_dir, args.summaries)
        print(f"copied the summaries of {copied} cells to {args.summaries}")
    path = write_report(args.sweep_dir, args.out, plots=not args.no_plots)
    plots = sorted((path.parent / "plots").glob("*.png")) if not args.no_plots else []
    print(f"wrote {path}" + (f" and {len(plots)} plots in {path.parent / 'plots'}" if plots else ""))
    return 0
