"""``creditfactory strategy``: the operator's own list files are read, special files are not,
and the size limit is a flag (or ``CREDITFACTORY_STRATEGY_FILE_MAX_BYTES``)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.cli._strategy import DEFAULT_MAX_BYTES
from creditfactory.decision import FileAccess

STRATEGY = """\
strategy: s
version: "1"
inputs: {phone: str}
lists:
  bad: {file: REF}
flow:
  - lists: {checks: [{field: phone, list: bad, action: decline, reason: KO_LIST}]}
  - assign: {set: {limit: "1000"}}
"""


def write(tmp_path: Path, ref: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(STRATEGY.replace("REF", ref))
    return path


def test_the_cli_reads_its_own_list_file(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("13800000000\n")
    runner = CliRunner()
    result = runner.invoke(app, ["strategy", "decide", str(write(tmp_path, "bad.txt")),
                                 '{"phone": "13800000000"}'])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "KO_LIST" in result.output


def test_the_cli_refuses_special_files_and_big_ones(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["strategy", "check", str(write(tmp_path, "/dev/zero"))])
    assert result.exit_code == 2
    assert "cannot read file '/dev/zero': not a regular file" in result.output
    (tmp_path / "bad.txt").write_text("13800000000\n" * 10)
    path = write(tmp_path, "bad.txt")
    result = runner.invoke(app, ["strategy", "check", str(path), "--max-file-bytes", "100"])
    assert result.exit_code == 2
    assert "larger than 100 bytes" in result.output
    env = {"CREDITFACTORY_STRATEGY_FILE_MAX_BYTES": "119"}
    result = runner.invoke(app, ["strategy", "check", str(path)], env=env)
    assert "larger than 119 bytes" in result.output
    assert runner.invoke(app, ["strategy", "check", str(path)]).exit_code == 0


def test_one_default() -> None:
    assert DEFAULT_MAX_BYTES == FileAccess.DEFAULT_MAX_BYTES
