"""``write_report``: the Markdown report of a sweep directory, with its tables and plots."""

from __future__ import annotations

import logging
from pathlib import Path

from seps.report.paper import table2
from seps.report.plots import embedding_projections, learning_curves, partition_histories, returns_by_k
from seps.report.results import load_records
from seps.report.tables import partition_table, return_table, status_table, win_rate_table

logger = logging.getLogger(__name__)


def write_report(sweep_dir: str | Path, out: str | Path | None = None, *, plots: bool = True) -> Path:
    """Write ``report.md`` (default: in the sweep directory) and its PNGs under ``plots/``; returns its path."""
    sweep_dir = Path(sweep_dir)
    manifest, records = load_records(sweep_dir)
    path = Path(out) if out is not None else sweep_dir / "report.md"
    plot_dir = path.parent / "plots"
    finished = sum(r.done for r in records)
    lines = [
        f"# Sweep report: {manifest.get('name', sweep_dir.name)}",
        "",
        f"Sweep directory `{sweep_dir}` ({manifest.get('mode', 'train')} sweep): "
        f"{finished} of {len(records)} cells finished.",
        "",
    ]
    table = return_table(records)
    if table:
        lines += [
            "## Maximum evaluation return",
            "",
            "Best mean evaluation return of each run, mean ± std over seeds (n = seeds). "
            "Bold: the best mean and every mean within one standard deviation of it.",
            "",
            table,
            "",
        ]
    table = table2(records)
    if table:
        lines += [
            "## Against the paper (Table 2)",
            "",
            "Maximum evaluation return with A2C, ours (mean ± std over seeds, n = seeds) beside the paper's "
            "Table 2. Bold, separately for ours and the paper's: the highest mean and every mean within one "
            "std of it (the paper's rule). N/A in the paper: NoPS on bps-h-3.",
            "",
            table,
            "",
        ]
    table = win_rate_table(records)
    if table:
        lines += [
            "## Maximum evaluation win rate",
            "",
            "Best share of evaluation episodes won (envs that report wins, e.g. SMAC), mean ± std over seeds. "
            "Bold as above.",
            "",
            table,
            "",
        ]
    table = partition_table(records)
    if table:
        lines += [
            "## Partition quality",
            "",
            "Adjusted Rand index of the groups found against the true agent types (mean ± std over seeds), "
            "the K chosen ('K=3 in 4, 4 in 1': K = 3 in four seeds) and how many seeds recovered the types "
            "exactly. Bold: best per env.",
            "",
            table,
            "",
        ]
    if plots:
        plot_dir.mkdir(parents=True, exist_ok=True)
        figures = [
            ("Learning curves", learning_curves(records, plot_dir)),
            ("The partition during training", partition_histories(records, plot_dir)),
            ("Return against the number of groups", [p for p in [returns_by_k(records, plot_dir)] if p]),
            ("Agent embeddings", embedding_projections(records, plot_dir)),
        ]
        for title, paths in figures:
            if paths:
                lines += [f"## {title}", ""]
                lines += [f"![{p.stem}]({p.relative_to(path.parent).as_posix()})" for p in paths]
                lines.append("")
    table = status_table(records)
    if table:
        lines += ["## Unfinished cells", "", "Re-run the sweep command to resume them.", "", table, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    logger.info("wrote %s", path)
    return path
