"""The report's PNG plots: learning curves (paper Fig. 5), return against fixed K (Fig. 7), embeddings (Fig. 6).

matplotlib is optional (``pip install 'seps[plots]'``) and imported only when a plot is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seps.errors import MissingDependencyError, SepsError
from seps.registry import PARTITIONERS, resolve
from seps.report.results import CellRecord, env_label, mean_std, method_label, partitioner_label, varying

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("plots need matplotlib: pip install 'seps[plots]'") from None
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def learning_curves(records: list[CellRecord], out_dir: Path) -> list[Path]:
    """One figure per env: mean evaluation return over seeds against env steps, shaded ± one std, per method."""
    train = [r for r in records if r.cell.mode == "train" and r.done]
    if not train:
        return []
    plt = _pyplot()
    from matplotlib.ticker import EngFormatter

    shown = varying(r.cell for r in train)
    paths = []
    for env in dict.fromkeys(env_label(r.cell) for r in train):
        curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for record in (r for r in train if env_label(r.cell) == env):
            curve = record.curve()
            if curve is not None:
                curves.setdefault(method_label(record.cell, shown), []).append(curve)
        if not curves:
            continue
        figure, axes = plt.subplots(figsize=(7, 4.5))
        for label, seeds in curves.items():
            steps = np.unique(np.concatenate([s for s, _ in seeds]))
            steps = steps[steps <= min(s.max() for s, _ in seeds)]  # the range every seed reached
            values = np.stack([np.interp(steps, s, r) for s, r in seeds])
            mean, std = values.mean(axis=0), values.std(axis=0)
            (line,) = axes.plot(steps, mean, label=f"{label} (n={len(seeds)})", linewidth=1.8)
            axes.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
        axes.xaxis.set_major_formatter(EngFormatter())
        axes.set_xlabel("environment steps")
        axes.set_ylabel("evaluation return (sum over agents)")
        axes.set_title(f"{env}: learning curves (mean ± std over seeds)")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=9)
        figure.tight_layout()
        path = out_dir / f"curves_{_slug(env)}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths


def partition_histories(records: list[CellRecord], out_dir: Path) -> list[Path]:
    """One figure per env with re-partitioning runs: K and ARI of the partition in force against env steps."""
    adaptive = [r for r in records if r.cell.mode == "train" and len(r.partitions()) > 1]
    if not adaptive:
        return []
    plt = _pyplot()
    from matplotlib.ticker import EngFormatter

    shown = varying(r.cell for r in records if r.cell.mode == "train")
    paths = []
    for env in dict.fromkeys(env_label(r.cell) for r in adaptive):
        figure, (k_axes, ari_axes) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
        for index, record in enumerate(r for r in adaptive if env_label(r.cell) == env):
            history = record.partitions()
            steps = [r["step"] for r in history]
            label = f"{method_label(record.cell, shown)}, seed {record.cell.seed}"
            marker = MARKERS[index % len(MARKERS)]
            k_axes.step(
                steps, [r["current_k"] for r in history], where="post", marker=marker, markersize=3, label=label
            )
            if all(r["current_ari"] is not None for r in history):
                ari_axes.step(steps, [r["current_ari"] for r in history], where="post", marker=marker, markersize=3)
        k_axes.set_ylabel("K (groups in force)")
        ari_axes.set_ylabel("ARI vs true types")
        ari_axes.set_ylim(-0.05, 1.05)
        ari_axes.xaxis.set_major_formatter(EngFormatter())
        ari_axes.set_xlabel("environment steps")
        k_axes.set_title(f"{env}: the partition during training")
        for axes in (k_axes, ari_axes):
            axes.grid(alpha=0.3)
        k_axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / f"partitions_{_slug(env)}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths


def _fixed_k(record: CellRecord) -> bool:
    """A cell whose partitioner returns the K it was given (its ``chooses_k`` is False)."""
    partitioner = record.cell.partitioner
    if partitioner is None:
        return False
    from seps.builtin_components import load_builtins

    load_builtins()
    try:
        built = resolve(PARTITIONERS, partitioner.name, **partitioner.options)
    except SepsError:  # e.g. a user partitioner whose module this report cannot import
        return isinstance(partitioner.options.get("k"), int)
    return getattr(built, "chooses_k", True) is False


def returns_by_k(records: list[CellRecord], out_dir: Path) -> Path | None:
    """Max evaluation return against the number of groups K of fixed-K cells (with FuPS at 1 and NoPS at N)."""
    train = [r for r in records if r.cell.mode == "train" and r.done]
    fixed = [r for r in train if _fixed_k(r)]
    if not fixed:
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    envs = list(dict.fromkeys(env_label(r.cell) for r in fixed))
    figure, axes_list = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4.2), squeeze=False)
    for axes, env in zip(axes_list[0], envs, strict=True):
        by_k: dict[int, list[float]] = {}
        for record in (r for r in fixed if env_label(r.cell) == env):
            summary = record.summary
            assert summary is not None and summary.k is not None  # done train cells
            by_k.setdefault(summary.k, []).append(summary.best_return)
        ks = sorted(by_k)
        stats = [mean_std(by_k[k]) for k in ks]
        axes.errorbar(
            ks, [m for m, _ in stats], yerr=[s for _, s in stats], marker="o", capsize=4, label="SePS, fixed K"
        )
        # Reference points: every sharing mode that fixes its partition (FuPS at K = 1, NoPS at K = N, ...).
        baselines = [r for r in train if env_label(r.cell) == env and r.cell.partitioner is None]
        for index, method in enumerate(dict.fromkeys(r.cell.method for r in baselines)):
            runs = [r for r in baselines if r.cell.method == method]
            mean, std = mean_std([r.summary.best_return for r in runs if r.summary])
            k = runs[0].summary.k if runs[0].summary else None
            marker = MARKERS[(index + 1) % len(MARKERS)]
            label = method_label(runs[0].cell, set())
            axes.errorbar([k], [mean], yerr=[std], marker=marker, capsize=4, linestyle="none", label=label)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("number of parameter groups K")
        axes.set_ylabel("max evaluation return (mean ± std)")
        axes.set_title(env)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=9)
    figure.tight_layout()
    path = out_dir / "returns_by_k.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _project(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA to two components (SVD of the centred means); returns the points and explained variance ratios."""
    centred = means - means.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    points = centred @ vt[:2].T
    if points.shape[1] < 2:
        points = np.column_stack([points, np.zeros(len(points))])
    total = float((singular**2).sum()) or 1.0
    ratios = np.zeros(2)
    ratios[: min(2, len(singular))] = (singular[:2] ** 2) / total
    points[:, ratios < 1e-9] = 0.0  # a direction of rounding noise only: draw it flat, not at 1e-16 scale
    return points, ratios


def embedding_projections(records: list[CellRecord], out_dir: Path, max_panels: int = 6) -> list[Path]:
    """Per env: the agents' embeddings in 2-D (PCA), coloured by group, true type as marker shape (lowest seed)."""
    partitioned = [r for r in records if r.done and r.cell.partitioner is not None]
    if not partitioned:
        return []
    plt = _pyplot()
    from matplotlib.lines import Line2D

    shown = varying(r.cell for r in partitioned)
    paths = []
    for env in dict.fromkeys(env_label(r.cell) for r in partitioned):
        panels: dict[str, CellRecord] = {}
        for record in sorted((r for r in partitioned if env_label(r.cell) == env), key=lambda r: r.cell.seed):
            label = partitioner_label(record.cell, shown)
            if label not in panels and record.embeddings() is not None and len(panels) < max_panels:
                panels[label] = record
        if not panels:
            continue
        columns = min(3, len(panels))
        rows = -(-len(panels) // columns)
        width = max(4.6 * columns, 6.0)
        figure, axes_grid = plt.subplots(rows, columns, figsize=(width, 4.2 * rows + 0.4), squeeze=False)
        colours = plt.get_cmap("tab10")
        for axes, (label, record) in zip(axes_grid.flat, panels.items(), strict=False):
            means, known_types = record.embeddings()  # type: ignore[misc]
            types = np.zeros(len(means), dtype=np.int64) if known_types is None else known_types
            partition = record.partition() or {}
            labels = np.asarray(partition.get("labels", np.zeros(len(means), dtype=int)))
            points, ratios = _project(np.asarray(means, dtype=np.float64))
            type_ids = {t: i for i, t in enumerate(np.unique(types))}
            for agent, (x, y) in enumerate(points):
                axes.scatter(
                    x,
                    y,
                    color=colours(int(labels[agent]) % 10),
                    marker=MARKERS[type_ids[types[agent]] % len(MARKERS)],
                    s=70,
                    edgecolors="black",
                    linewidths=0.5,
                )
            ari = partition.get("ari")
            title = f"{label}: K={int(labels.max()) + 1}" + (f", ARI={ari:.2f}" if ari is not None else "")
            axes.set_title(f"{title} (seed {record.cell.seed})", fontsize=10)
            axes.set_xlabel(f"PC 1 ({ratios[0]:.0%} of variance)")
            axes.set_ylabel(f"PC 2 ({ratios[1]:.0%} of variance)")
            axes.grid(alpha=0.3)
            handles = [
                Line2D([], [], color=colours(g % 10), marker="o", linestyle="none", label=f"group {g}")
                for g in range(int(labels.max()) + 1)
            ][:10]
            handles += [
                Line2D([], [], color="grey", marker=MARKERS[i % len(MARKERS)], linestyle="none", label=f"type {t}")
                for t, i in type_ids.items()
                if known_types is not None
            ]
            axes.legend(handles=handles, fontsize=7, loc="best", ncol=2 if len(handles) > 8 else 1)
        for axes in list(axes_grid.flat)[len(panels) :]:
            axes.set_visible(False)
        figure.suptitle(f"{env}: agent embeddings, PCA\ncolour: group found, shape: true type", fontsize=11)
        figure.tight_layout()
        path = out_dir / f"embeddings_{_slug(env)}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths
