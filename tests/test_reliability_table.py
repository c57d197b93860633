"""Every row of docs/reliability.md's bad-input table: its message, exit code 2, one line, no file created."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from seps import build
from seps.cli import main
from seps.errors import ConfigError
from seps.run_dir import RunDir

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
SWEEP = "methods: [fups]\nenvs: [bps-1]\nseeds: [0]\nlearners: [{name: a2c, lr: fast}]\n"


def table_rows() -> list[tuple[str, str]]:
    text = DOC.read_text().split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(.+?)` \| (.+?) \|$", text, re.M)
    assert len(rows) >= 15
    return rows


def snapshot(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns for p in directory.rglob("*")}


@pytest.mark.parametrize(("given", "message"), table_rows(), ids=[row[0][:60] for row in table_rows()])
def test_bad_input_row(given, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    RunDir.create(tmp_path, "RUN").write_config(build("seps").resolved_config())
    (tmp_path / "lr_fast.yaml").write_text(SWEEP)
    (tmp_path / "ok.yaml").write_text(SWEEP.replace("lr: fast", "lr: 1e-3"))
    before = snapshot(tmp_path)
    expected = re.compile(".*".join(re.escape(part) for part in message.split("…")))
    if given.startswith("build("):
        with pytest.raises(ConfigError) as error:
            eval(given, {"build": build})  # the documented Python input, as written
        text = str(error.value)
    else:
        assert given.startswith("seps ")
        code = main(shlex.split(given)[1:])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        command = next(
            word for word in shlex.split(given)[1:] if not word.startswith("-") and word != "my_partitioners"
        )
        prefix = f"seps {command}: error: "
        assert err.startswith(prefix)
        text = err[len(prefix) :].strip()
    assert expected.fullmatch(text), text
    assert snapshot(tmp_path) == before  # no run directory, no file


@pytest.mark.parametrize(
    "argv",
    [
        ["partition", "--out", "/proc/forbidden"],
        ["partition", "--partitioner", "kmeans", "-o", "partitioner.k=1000"],
        ["train", "--partitioner", "kmeans", "-o", "partitioner.k=1000"],
        ["train", "--run-root", "/proc/forbidden"],
    ],
)
def test_argument_errors_fail_before_torch_is_imported(argv, tmp_path):
    # Importing torch and sklearn.metrics takes most of a CLI start; these errors must not wait for them.
    code = (
        "import sys\nfrom seps.cli import main\n"
        f"code = main({argv!r})\n"
        "heavy = [m for m in ('torch', 'sklearn.metrics') if m in sys.modules]\n"
        "print(code, heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(DOC.parents[1])}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "2 []", result.stdout + result.stderr
    assert not any(tmp_path.iterdir())
