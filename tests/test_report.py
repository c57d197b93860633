"""Sweep reports: the return table (paper Table 2 style), partition quality, and the PNG plots."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from seps.errors import ConfigError
from seps.report import load_records, write_report
from seps.report.results import CellRecord
from seps.report.tables import return_table, win_rate_table
from seps.sweep import Cell, Component, run_sweep

TINY = {
    "total_steps": 400,
    "eval_interval": 200,
    "num_envs": 4,
    "hidden_sizes": [16, 16],
    "eval_episodes": 2,
    "collect": {"steps": 40, "num_envs": 2},
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def train_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "sweep"
    spec = {
        "methods": ["nops", "fups", "seps"],
        "envs": ["bps:1-1"],
        "seeds": [0, 1],
        "encoders": [{"name": "vae", "updates": 60, "batch_size": 64}],
        "partitioners": [{"name": "kmeans", "k": 2}, {"name": "fixed", "k": 1}],
        "config": TINY,
        "out": str(out),
    }
    assert run_sweep(spec, workers=0).ok
    return out


def table_rows(text: str, heading: str) -> dict[str, list[str]]:
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # without the header
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}


def test_report_has_the_return_table_with_mean_and_std_over_seeds(train_sweep):
    text = write_report(train_sweep).read_text()
    rows = table_rows(text, "Maximum evaluation return")
    assert set(rows) == {"NoPS", "FuPS", "SePS (kmeans(k=2))", "SePS (fixed(k=1))"}
    _, records = load_records(train_sweep)
    for label, method in (("NoPS", "nops"), ("FuPS", "fups")):
        values = [r.summary["max_eval_return"] for r in records if r.cell.method == method]
        expected = f"{np.mean(values):.2f} ± {np.std(values):.2f} (n=2)"
        assert rows[label][0].strip("*") == expected


def test_report_partition_table_and_all_plots(train_sweep):
    text = write_report(train_sweep).read_text()
    rows = table_rows(text, "Partition quality")
    assert rows["kmeans(k=2)"] == ["**1.00 ± 0.00 · K=2 · 2/2 exact**"]  # two agents of two types
    assert rows["fixed(k=1)"][0].startswith("0.00 ± 0.00 · K=1 · 0/2 exact")
    assert "(true K 2)" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert {Path(i).name for i in images} == {"curves_bps_1-1.png", "returns_by_k.png", "embeddings_bps_1-1.png"}
    for image in images:
        data = (train_sweep / image).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def record(method: str, seed: int, value: float, env: str = "bps-1") -> CellRecord:
    cell = Cell(mode="train", method=method, env=Component(name=env), seed=seed, learner=Component(name="a2c"))
    return CellRecord(cell=cell, directory=Path("/nonexistent"), summary={"max_eval_return": value}, error=None)


def test_bold_marks_the_best_mean_and_those_within_one_std_of_it():
    records = [record("nops", s, v) for s, v in enumerate((-10.0, -20.0))]  # -15 ± 5: best
    records += [record("fups", s, v) for s, v in enumerate((-19.0, -19.0))]  # -19 < -15 - 5? no: within
    records += [record("fups_id", s, v) for s, v in enumerate((-21.0, -21.0))]  # -21: outside
    rows = table_rows("## T\n" + return_table(records), "T")
    assert rows["NoPS"] == ["**-15.00 ± 5.00 (n=2)**"]
    assert rows["FuPS"] == ["**-19.00 ± 0.00 (n=2)**"]
    assert rows["FuPS+id"] == ["-21.00 ± 0.00 (n=2)"]


def test_win_rate_table_only_for_runs_that_report_wins():
    def won(method: str, seed: int, rate: float | None) -> CellRecord:
        cell = Cell(
            mode="train", method=method, env=Component(name="smac-mmm2"), seed=seed, learner=Component(name="a2c")
        )
        summary = {"max_eval_return": 1.0, "max_eval_win_rate": rate}
        return CellRecord(cell=cell, directory=Path("/nonexistent"), summary=summary, error=None)

    records = [won("seps", s, r) for s, r in enumerate((0.5, 0.7))] + [won("fups", s, 0.1) for s in range(2)]
    rows = table_rows("## T\n" + win_rate_table(records), "T")
    assert rows == {"SePS": ["**0.60 ± 0.10 (n=2)**"], "FuPS": ["0.10 ± 0.00 (n=2)"]}
    assert win_rate_table([record("seps", 0, 1.0)]) is None  # BPS reports no wins: no table


def test_partition_sweep_report_and_unfinished_cells(tmp_path):
    spec = {
        "mode": "partition",
        "envs": ["bps:2-2"],
        "seeds": [0, 1],
        "encoders": [{"name": "vae", "updates": 60, "batch_size": 64}],
        "partitioners": [{"name": "kmeans", "k": 2}, "tests.test_sweep:FailOnSeedOne"],
        "config": {"collect": {"steps": 40, "num_envs": 2}},
        "out": str(tmp_path / "sweep"),
    }
    run_sweep(spec, workers=0)
    text = write_report(tmp_path / "sweep", plots=False).read_text()
    assert "Maximum evaluation return" not in text and "3 of 4 cells finished" in text
    rows = table_rows(text, "Partition quality")
    _, records = load_records(tmp_path / "sweep")
    aris = [json.loads((r.directory / "done.json").read_text())["ari"] for r in records if "kmeans-k2" in r.name]
    assert rows["kmeans(k=2)"][0].strip("*").startswith(f"{np.mean(aris):.2f} ± {np.std(aris):.2f} · K=2")
    assert rows["FailOnSeedOne"][0].strip("*") == "0.00 ± 0.00 · K=1 · 0/1 exact"
    unfinished = table_rows(text, "Unfinished cells")
    assert list(unfinished.values()) == [["failed", "RuntimeError: planted failure for seed 1"]]


def test_report_of_a_directory_that_is_not_a_sweep_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="is not a sweep directory"):
        write_report(tmp_path)


def test_summaries_alone_re_render_the_report(train_sweep, tmp_path):
    from seps.report.summaries import export_summaries

    dest = tmp_path / "summaries"
    assert export_summaries(train_sweep, dest) == 8
    kept = {path.name for path in dest.rglob("*") if path.is_file()}
    summaries = {"cell.json", "done.json", "partition.json", "partitions.jsonl", "error.txt"}
    assert kept <= {"sweep.json", "sweep.yaml", *summaries}
    original = write_report(train_sweep, tmp_path / "a" / "report.md").read_text()
    copied = write_report(dest).read_text()
    for heading in ("Maximum evaluation return", "Partition quality"):
        assert table_rows(copied, heading) == table_rows(original, heading)
    assert "curves_bps_1-1.png" in copied  # learning curves from the evaluations in done.json


def test_table2_puts_the_papers_numbers_beside_ours():
    from seps.report.paper import paper_results, table2

    records = [
        record(m, s, v)
        for m, values in (("seps", (-180.0, -170.0)), ("fups", (-600.0, -610.0)))
        for s, v in enumerate(values)
    ]
    records.append(record("seps", 0, -1.0, env="bps:1-1"))  # not a paper task: left out
    rows = table_rows("## T\n" + table2(records), "T")
    assert list(rows) == ["bps-1"]
    nops_ours, nops_paper, seps_ours, seps_paper, fups_ours, fups_paper, *_ = rows["bps-1"]
    assert nops_ours == "—" and nops_paper == "-189.99 ± 12.96"  # below -179.69 - 7.02: not bold
    assert seps_ours == "**-175.00 ± 5.00 (n=2)**" and seps_paper == "**-179.69 ± 7.02**"
    assert fups_ours == "-605.00 ± 5.00 (n=2)" and fups_paper == "-612.18 ± 52.14"
    assert paper_results()[("crware-2", "nops")] == (0.28, 0.28)


def test_cells_count_as_fixed_k_by_their_partitioners_chooses_k_not_by_an_option_name():
    from seps.report.plots import _fixed_k
    from seps.sweep.components import Component
    from seps.sweep.grid import Cell

    def record(name: str, **options: object) -> object:
        cell = Cell(
            mode="train",
            method="seps",
            env=Component(name="bps-1", options={}),
            seed=0,
            partitioner=Component(name=name, options=options),
        )
        return type("Record", (), {"cell": cell})()

    assert _fixed_k(record("kmeans", k=3)) and _fixed_k(record("fixed", k="all"))
    assert not _fixed_k(record("kmeans_db", k_max=4)) and not _fixed_k(record("hdbscan"))
