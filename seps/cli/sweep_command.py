"""``seps sweep SWEEP.yaml``: run (or resume) a grid of runs or partitions, locally or on Ray."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from seps.cli.options import integer

if TYPE_CHECKING:
    from seps.sweep import Outcome, SweepStatus


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run a grid of experiments from a YAML file; re-run the same command to resume it"
    )
    parser.add_argument("spec", metavar="SWEEP.yaml", help="sweep file (see docs/sweeps.md)")
    parser.add_argument("--workers", type=integer, default=1, help="cells run in parallel (0: in this process)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local", help="local process pool or Ray")
    parser.add_argument("--address", default=None, help="Ray cluster address, e.g. 'auto' or 'ray://head:10001'")
    parser.add_argument("--out", default=None, help="sweep directory (default: the file's 'out', else sweeps/NAME)")
    parser.add_argument("--dry-run", action="store_true", help="check the file and list the cells; run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from seps.sweep import plan_sweep, run_sweep

    if args.dry_run:
        spec, cells = plan_sweep(args.spec, out=args.out)
        print(f"{spec.name}: {len(cells)} cells ({spec.mode}) -> {spec.out}")
        for cell in cells:
            print(f"  {cell.name}")
        return 0
    bar: tqdm | None = None

    def progress(status: SweepStatus, outcome: Outcome | None) -> None:
        nonlocal bar
        if args.no_progress:
            return
        if bar is None:
            bar = tqdm(total=status.total, unit="cell", dynamic_ncols=True)
        bar.update(status.finished - bar.n)
        bar.set_postfix_str(f"running {status.running}, failed {status.failed}, done earlier {status.skipped}")
        if outcome is not None and outcome.status == "failed":
            bar.write(f"failed: {outcome.name}: {outcome.error}")

    try:
        result = run_sweep(
            args.spec,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            out=args.out,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    done, earlier, failed = (len(result.by_status(s)) for s in ("done", "skipped", "failed"))
    print(f"sweep {result.sweep_dir}: {done} cells run now, {earlier} finished earlier, {failed} failed")
    for outcome in result.failed:
        print(f"  failed {outcome.name}: {outcome.error} (traceback in its directory)")
    if failed:
        print("re-run the same command to retry the failed cells")
    print(f"report: seps report {result.sweep_dir}")
    return 1 if failed else 0
