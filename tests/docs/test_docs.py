"""The doc runner: every ```bash, ```sh and ```python block of README.md and docs/*.md runs.

Rules (also in CONTRIBUTING.md, "Docs that run"):

- Each page runs in its own temporary copy of the repository (``.git``, ``.venv``, caches and
  the working folders ``data/`` and ``models/`` at the root left out; ``.venv`` is a link to the
  running interpreter's environment, so ``.venv/bin/creditfactory`` works as written), its
  blocks in page order, from the copy's root.
- Shell blocks run in ``bash -e -o pipefail`` with the venv's ``bin`` first on ``PATH`` and
  ``PYTHONPATH`` on the tree under test's ``src``; the variables a block exports reach the
  page's later shell blocks. Python blocks share one namespace per page and run in this process.
- A line that runs ``make`` (``make demo``, ``make test``, ``make bench``, ``make drills``) is not
  run: ``make test`` is this suite, and the others are the demo, benchmarks and drills CI runs
  by name. No other line is skipped.
- ``<!-- doc-runner: serve -->`` on the line before a shell block: the block's last command starts
  the service; it runs in the background until the page ends, and the runner waits for
  ``/health``. On such a page the port written as ``:8000`` or ``--port 8000`` is replaced by a
  free port.
- ``<!-- doc-runner: skip -->`` does not exist, on purpose: a block that cannot run is ```text.

A failing block is reported as ``page:line`` with the block's output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "doc_runner_warm", Path(__file__).with_name("_warm.py")
)
assert _spec is not None
assert _spec.loader is not None
_warm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_warm)
RUNNABLE = {"bash": "shell", "sh": "shell", "python": "python"}
SERVE_MARKER = "<!-- doc-runner: serve -->"
MAKE_LINE = re.compile(r"^\s*make(\s|$)")
DOC_PORT = re.compile(r"(?:(?<=:)|(?<=--port )|(?<=--port=))8000\b")  # localhost:8000, --port 8000
# left out of a page's copy: the repository's own and the user's working files (a demo book,
# fitted models, databases) at its root, and caches anywhere
ROOT_IGNORED = {".git", ".venv", "data", "models", "build", "dist", "creditfactory.db"}
ANYWHERE_IGNORED = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis", "*.egg-info"
)


def _ignored(directory: str, names: list[str]) -> set[str]:
    skip = set(ANYWHERE_IGNORED(directory, names))
    if Path(directory) == ROOT:
        skip |= ROOT_IGNORED & set(names)
    if Path(directory) == ROOT / "benchmarks":
        skip |= {"results"} & set(names)
    return skip


BLOCK_TIMEOUT = 300.0
NEEDS = {"curl": "curl"}  # commands pages use that are not Python's: Debian package of each


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line of its opening fence, its language and its text."""

    page: str
    line: int
    kind: str  # "shell" or "python"
    text: str
    serve: bool = False

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md, so a new page is picked up without touching this file."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def fenced(text: str) -> list[tuple[int, str, list[str]]]:
    """Every fenced block of a Markdown page: (0-based line of its opening fence, language,
    lines)."""
    found: list[tuple[int, str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.group(2), opening.group(3).lower()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        found.append((start, lang, body))
    return found


def blocks(text: str, page: str) -> list[Block]:
    """The runnable fenced blocks of a Markdown page, in order (other languages are prose)."""
    lines = text.splitlines()
    found: list[Block] = []
    for start, lang, body in fenced(text):
        if lang not in RUNNABLE:
            continue
        previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        found.append(
            Block(page, start + 1, RUNNABLE[lang], "\n".join(body) + "\n", previous == SERVE_MARKER)
        )
    return found


COMMAND = re.compile(r"^\s*(\$ )?(\.venv/bin/)?(creditfactory|curl|python) ")


def untagged_commands(text: str, page: str) -> list[str]:
    """Blocks with no language that hold commands: they would escape the runner. A command
    meant to run is ```bash; a synopsis or output is ```text."""
    return [
        f"{page}:{start + 1}: {next(ln for ln in body if COMMAND.match(ln)).strip()}"
        for start, lang, body in fenced(text)
        if lang == "" and any(COMMAND.match(ln) for ln in body)
    ]


def shell_script(text: str) -> str:
    """The block as it runs: ``make`` lines (with their continuation lines) left out."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if skipping or MAKE_LINE.match(line):
            skipping = line.rstrip().endswith("\\")
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_repo(dest: Path, warm: str | None = None) -> Path:
    """The page's copy. Its ``.venv`` is the running environment: a link to it, or with ``warm``
    (the warm interpreter's address) a folder of links to its parts whose
    ``bin/creditfactory`` is the warm interpreter's shim (tests/docs/_warm.py)."""
    work = dest / "repo"
    shutil.copytree(ROOT, work, ignore=_ignored, symlinks=True)
    prefix = Path(sys.prefix)
    if warm is None:
        (work / ".venv").symlink_to(prefix, target_is_directory=True)
        return work
    venv = work / ".venv"
    (venv / "bin").mkdir(parents=True)
    for part in prefix.iterdir():
        if part.name != "bin":
            (venv / part.name).symlink_to(part, target_is_directory=part.is_dir())
    for tool in (prefix / "bin").iterdir():
        if tool.name != "creditfactory":
            (venv / "bin" / tool.name).symlink_to(tool)
    script = venv / "bin" / "creditfactory"
    script.write_text(_warm.shim(str(prefix / "bin" / "creditfactory")), encoding="utf-8")
    script.chmod(0o755)
    return work


class PageRun:
    """Runs one page's blocks in order in ``work``; holds the shell environment and namespace."""

    def __init__(self, work: Path, port: int | None, warm: str | None = None) -> None:
        self.work = work
        self.port = port
        # the copy's .venv/bin: the running environment's, with the warm shim when there is one
        venv_bin = str(work / ".venv" / "bin") if warm else str(Path(sys.prefix) / "bin")
        self.env = {**shell_env(venv_bin), **({WARM_VARIABLE: warm} if warm else {})}
        self.namespace: dict[str, object] = {"__name__": "__doc__"}
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []

    def run(self, block: Block) -> None:
        text = block.text if self.port is None else DOC_PORT.sub(str(self.port), block.text)
        if block.kind == "python":
            self._python(block, text)
        else:
            self._shell(block, text)

    def _python(self, block: Block, text: str) -> None:
        # padded so a traceback's line numbers are the page's own
        code = compile("\n" * block.line + text, block.page, "exec")
        failure = None
        try:
            # as a reader runs it: warnings are shown, not raised (pytest's filter is "error")
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                exec(code, self.namespace)
        except Exception as exc:
            failure = "".join(traceback.format_exception(exc)[-12:])
        if failure is not None:
            pytest.fail(f"{block.where}: the python block failed:\n{failure}", pytrace=False)

    def _shell(self, block: Block, text: str) -> None:
        script = shell_script(text)
        server = None
        if block.serve:
            lines = [ln for ln in script.splitlines() if ln.strip()]
            server, script = lines[-1], "\n".join(lines[:-1]) + "\n"
        env_file = self.work / ".doc-runner-env"
        wrapped = f"set -e -o pipefail\n{script}\nenv -0 > {env_file}\n"
        try:
            done = subprocess.run(
                ["bash", "-c", wrapped], cwd=self.work, env=self.env, capture_output=True,
                timeout=BLOCK_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            done = None
        if done is None:
            pytest.fail(
                f"{block.where}: the shell block ran over {BLOCK_TIMEOUT:g} s", pytrace=False
            )
        if done.returncode != 0:
            out = (done.stdout + done.stderr).decode(errors="replace")[-4000:]
            pytest.fail(
                f"{block.where}: the shell block exited with status {done.returncode}:\n{out}",
                pytrace=False,
            )
        raw = env_file.read_bytes()
        env_file.unlink()
        self.env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
        if server is not None:
            self._serve(block, server)

    def _serve(self, block: Block, command: str) -> None:
        log = self.work / f".doc-runner-serve-{block.line}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=self.work, env=self.env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.servers.append((proc, log))
        url = f"http://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"{block.where}: the service exited with status {proc.returncode}:\n"
                    f"{log.read_text(errors='replace')[-4000:]}",
                    pytrace=False,
                )
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(url, timeout=1.0) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"{block.where}: the service did not answer on {url} in 60 s", pytrace=False)

    def close(self) -> None:
        for proc, _ in self.servers:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@contextlib.contextmanager
def page_run(work: Path, serve: bool, warm: str | None = None) -> Iterator[PageRun]:
    run = PageRun(work, _free_port() if serve else None, warm)
    old = Path.cwd()
    os.chdir(work)
    try:
        yield run
    finally:
        os.chdir(old)
        run.close()


def shell_env(venv_bin: str) -> dict[str, str]:
    """The environment a page's shell blocks start with (and the warm interpreter starts in)."""
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        # the tree under test, with its compiled bytecode (the copy's would be compiled anew)
        "PYTHONPATH": str(ROOT / "src"),
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }
    env.pop("VIRTUAL_ENV", None)
    env.pop(WARM_VARIABLE, None)
    return env


WARM_VARIABLE = "CREDITFACTORY_DOC_WARM"


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The warm interpreter's address (tests/docs/_warm.py), or ``None`` when it did not start:
    the pages' commands then run the console script directly (slower, same outcome)."""
    folder = tmp_path_factory.mktemp("warm")
    address = str(folder / "socket")
    log = folder / "warm.log"
    real = str(Path(sys.prefix) / "bin" / "creditfactory")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_warm.py")), address, real],
            env=shell_env(str(Path(sys.prefix) / "bin")), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=err, start_new_session=True,
        )  # fmt: skip
    assert proc.stdout is not None
    ready = proc.stdout.readline() == b"ready\n"  # after its warm-up; nothing if it failed
    try:
        yield address if ready else None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_runs_as_written(page: Path, tmp_path: Path, warm: str | None) -> None:
    rel = str(page.relative_to(ROOT))
    found = blocks(page.read_text(encoding="utf-8"), rel)
    if not found:
        pytest.skip(f"{rel} has no bash, sh or python block")
    tools = sorted(
        {t for b in found if b.kind == "shell" for t in NEEDS if re.search(rf"\b{t}\b", b.text)}
    )
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = (
            f"{rel} runs {missing[0]}, which is not installed (Debian package {NEEDS[missing[0]]}; "
            "make test installs it when run as root)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    work = _copy_repo(tmp_path, warm)
    with page_run(work, serve=any(b.serve for b in found), warm=warm) as run:
        for block in found:
            run.run(block)


def test_no_command_hides_in_an_untagged_block() -> None:
    found = [
        hit
        for page in pages()
        for hit in untagged_commands(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
    ]
    assert not found, "tag these blocks ```bash (run) or ```text (not run):\n" + "\n".join(found)


# the runner's own rules, on small pages whose outcome is known


def test_untagged_command_blocks_are_found() -> None:
    page = (
        "```\ncreditfactory simulate -n 10\n```\n```text\ncreditfactory x\n```\n```\nlayout/\n```\n"
    )
    assert untagged_commands(page, "p.md") == ["p.md:1: creditfactory simulate -n 10"]


def test_the_copy_keeps_the_package_and_leaves_out_working_folders(tmp_path: Path) -> None:
    work = _copy_repo(tmp_path)
    assert (work / "src" / "creditfactory" / "data" / "__init__.py").is_file()
    assert (work / "examples" / "loans.csv.gz").is_file()
    assert not (work / ".git").exists()
    assert (work / ".venv" / "bin").is_dir()  # the running environment, linked


def test_blocks_are_found_with_their_lines_and_kinds() -> None:
    page = "intro\n```bash\necho hi\n```\n```text\nnot run\n```\n```python\nx = 1\n```\n"
    found = blocks(page, "p.md")
    assert [(b.line, b.kind, b.text) for b in found] == [
        (2, "shell", "echo hi\n"),
        (8, "python", "x = 1\n"),
    ]


def test_only_the_documented_port_is_replaced() -> None:
    text = "serve --port 8000; curl localhost:8000/x --applications 8000 18000 :80001\n"
    assert DOC_PORT.sub("54321", text) == (
        "serve --port 54321; curl localhost:54321/x --applications 8000 18000 :80001\n"
    )


def test_the_serve_marker_applies_to_the_next_block_only() -> None:
    page = f"{SERVE_MARKER}\n\n```bash\nserve\n```\n```sh\ncurl\n```\n"
    assert [b.serve for b in blocks(page, "p.md")] == [True, False]


def test_make_lines_and_their_continuations_are_the_only_lines_left_out() -> None:
    text = "make demo   # comment\nmake bench \\\n  ARGS=x\necho make\nmaker --x\n"
    assert shell_script(text) == "echo make\nmaker --x\n"


def test_a_failing_block_names_its_page_and_line(tmp_path: Path) -> None:
    page = "# p\n\n```python\nx = 1\n```\n\n```python\ny = x + undefined_name\n```\n"
    with page_run(tmp_path, serve=False) as run:
        first, second = blocks(page, "docs/p.md")
        run.run(first)
        with pytest.raises(
            pytest.fail.Exception, match=r"(?s)docs/p\.md:7: .*line 8.*undefined_name"
        ):
            run.run(second)


def test_shell_blocks_share_exports_and_fail_on_the_first_error(tmp_path: Path) -> None:
    page = '```bash\nexport A=1\n```\n```bash\ntest "$A" = 1\nfalse\necho unreachable\n```\n'
    first, second = blocks(page, "p.md")
    with page_run(tmp_path, serve=False) as run:
        run.run(first)
        assert run.env["A"] == "1"
        with pytest.raises(pytest.fail.Exception, match=r"(?s)p\.md:4: .*status 1") as info:
            run.run(second)
    assert "unreachable" not in str(info.value)


def test_the_warm_interpreter_runs_commands_as_the_console_script_does(
    tmp_path: Path, warm: str | None
) -> None:
    if os.environ.get("CI") == "true":
        assert warm is not None, "the doc runner's warm interpreter did not start"
    if warm is None:
        pytest.skip("the warm interpreter did not start (the pages ran the console script)")
    work = _copy_repo(tmp_path, warm)
    assert "_warm.py" in (work / ".venv" / "bin" / "creditfactory").read_text()
    page = (
        "```bash\nmkdir sub && cd sub\ncreditfactory simulate -n 200 --seed 3 --out book "
        "| tail -1 > said.txt\n../.venv/bin/creditfactory --help > /dev/null\n```\n"
        "```bash\nexport CREDITFACTORY_STRATEGY_FILE_MAX_BYTES=10\n"
        "creditfactory strategy check examples/strategies/reference.yaml\n```\n"
    )
    first, second = blocks(page, "p.md")
    with page_run(work, serve=False, warm=warm) as run:
        run.run(first)
        assert (work / "sub" / "book" / "applications.parquet").is_file()  # in the block's folder
        assert (work / "sub" / "said.txt").read_text().startswith("wrote book/")  # its stdout
        # the exported variable reaches the command, whose failure fails the block
        with pytest.raises(pytest.fail.Exception, match=r"(?s)p\.md:6: .*status 2.*10 bytes"):
            run.run(second)
