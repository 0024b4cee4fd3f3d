"""The root command loads each command's module when the command runs, not before.

``creditfactory --help`` lists the commands from the one-line help written in ``cli/_app.py``:
each line must be the command's own help, every listed command must load, and the root's help
(and a light command) must not import the heavy libraries.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.cli._app import COMMANDS, load_command

runner = CliRunner()
HEAVY = ("sklearn", "scipy", "polars", "plotly", "sqlalchemy", "fastapi")


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_line_is_the_commands_own_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    # a sub-app stays a group (`creditfactory fraud scan`), even with a single command
    is_app = isinstance(COMMANDS[name][1](), typer.Typer)
    assert isinstance(command, typer.core.TyperGroup) == is_app
    assert " ".join(COMMANDS[name][0].split()) == _first_paragraph(command.help)


def test_the_root_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, (summary, _) in COMMANDS.items():
        assert f" {name} " in result.output
        assert summary.split(".")[0][:40] in result.output


def test_a_subcommand_help_and_a_typo_still_work() -> None:
    result = runner.invoke(app, ["strategy", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "check" in result.output
    result = runner.invoke(app, ["stratgy", "check"])
    assert result.exit_code == 2
    assert "No such command 'stratgy'" in result.output
    assert "Did you mean 'strategy'?" in result.output


def test_every_command_of_the_app_is_listed() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert list(group.commands) == list(COMMANDS)


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys\nfrom creditfactory.cli import main\n"
        "sys.argv = ['creditfactory', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("MODULES"))
    return set(line.split()[1:])


def test_the_root_help_imports_no_heavy_library() -> None:
    loaded = _modules_after("--help")
    assert "creditfactory" in loaded
    assert not loaded & {*HEAVY, "pandas", "numpy"}, sorted(loaded & {*HEAVY, "pandas", "numpy"})


def test_a_light_command_imports_only_what_it_needs() -> None:
    # `strategy --help` loads the strategy commands (pandas comes with the CLI's table writer)
    # but not the simulator's, the models' or the service's libraries
    loaded = _modules_after("strategy", "--help")
    assert {"creditfactory", "typer"} <= loaded
    assert not loaded & {"sklearn", "plotly", "sqlalchemy", "fastapi"}
