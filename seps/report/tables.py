"""The report's Markdown tables: maximum evaluation return (paper Table 2) and partition quality."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import numpy as np

from seps.records import RunSummary
from seps.report.results import CellRecord, env_label, mean_std, method_label, partitioner_label, varying


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def return_table(records: list[CellRecord]) -> str | None:
    """Max evaluation return, mean ± std over seeds, per method x env; bold: best mean and those within its std."""
    return _best_of_runs(records, lambda summary: summary.best_return)


def win_rate_table(records: list[CellRecord]) -> str | None:
    """Max evaluation win rate (envs that report wins, e.g. SMAC), laid out as :func:`return_table`."""
    return _best_of_runs(records, lambda summary: summary.max_eval_win_rate)


def _best_of_runs(records: list[CellRecord], metric: Callable[[RunSummary], float | None]) -> str | None:
    values: dict[tuple[str, str], list[float]] = {}
    train = [r for r in records if r.cell.mode == "train" and r.done]
    shown = varying(r.cell for r in train)
    for record in train:
        assert record.summary is not None  # done cells only
        value = metric(record.summary)
        if value is not None:
            key = (method_label(record.cell, shown), env_label(record.cell))
            values.setdefault(key, []).append(value)
    if not values:
        return None
    methods = _ordered([method for method, _ in values])
    envs = _ordered([env for _, env in values])
    stats = {key: mean_std(v) for key, v in values.items()}
    rows = [[method] for method in methods]
    for env in envs:
        present = [(m, stats[(m, env)]) for m in methods if (m, env) in stats]
        best_mean, best_std = max((s for _, s in present), key=lambda s: s[0])
        for row, method in zip(rows, methods, strict=True):
            if (method, env) not in stats:
                row.append("—")
                continue
            mean, std = stats[(method, env)]
            text = f"{mean:.2f} ± {std:.2f} (n={len(values[(method, env)])})"
            row.append(f"**{text}**" if mean >= best_mean - best_std else text)
    return _markdown(["method", *envs], rows)


def partition_table(records: list[CellRecord]) -> str | None:
    """ARI against the true types (mean ± std over seeds) and the chosen K, per partitioner x env."""
    rows_by_key: dict[tuple[str, str], list[tuple[int, float | None]]] = {}
    partitioned = [r for r in records if r.done and r.cell.partitioner is not None]
    shown = varying(r.cell for r in partitioned)
    true_k: dict[str, int | None] = {}
    for record in partitioned:
        partition, final = record.partition(), record.final_partition()
        if partition is None or final is None:
            continue
        env = env_label(record.cell)
        types = partition.get("agent_types")
        true_k[env] = None if types is None else len(set(types))
        axes = [f"{key}={json.dumps(value)}" for key, value in record.cell.axes.items() if key in shown]
        label = partitioner_label(record.cell, shown) + (f" ({', '.join(axes)})" if axes else "")
        k, ari = final  # adaptive runs: the partition in force at the end
        rows_by_key.setdefault((label, env), []).append((k, None if ari is None else float(ari)))
    if not rows_by_key:
        return None
    labels = _ordered([key[0] for key in rows_by_key])
    envs = _ordered([key[1] for key in rows_by_key])
    known = {key: [a for _, a in v if a is not None] for key, v in rows_by_key.items()}
    best = {env: max(np.mean(a or [-np.inf]) for (_, e), a in known.items() if e == env) for env in envs}
    rows = []
    for label in labels:
        row = [label]
        for env in envs:
            entries = rows_by_key.get((label, env))
            if not entries:
                row.append("—")
                continue
            ks = Counter(k for k, _ in entries)
            k_text = (
                f"K={next(iter(ks))}"
                if len(ks) == 1
                else "K=" + ", ".join(f"{k} in {n}" for k, n in sorted(ks.items()))
            )
            scores = [a for _, a in entries if a is not None]
            if not scores:  # no ground-truth types: the K found is all there is to show
                row.append(f"{k_text} · no ground-truth types (n={len(entries)})")
                continue
            mean, std = mean_std(scores)
            perfect = sum(a > 1 - 1e-9 for a in scores)
            text = f"{mean:.2f} ± {std:.2f} · {k_text} · {perfect}/{len(entries)} exact"
            row.append(f"**{text}**" if mean >= best[env] - 1e-9 else text)
        rows.append(row)
    header = [f"{env} (true K {true_k[env]})" if true_k[env] is not None else env for env in envs]
    return _markdown(["partitioner", *header], rows)


def status_table(records: list[CellRecord]) -> str | None:
    """Cells that failed or have not finished, with their one-line error."""
    rows = [[f"`{r.name}`", "failed" if r.error else "unfinished", r.error or ""] for r in records if not r.done]
    return _markdown(["cell", "status", "error"], rows) if rows else None
