"""What a strategy's ``file:`` lists and ``path:`` models may read (issue 10, item 1).

Uploaded strategies (``FileAccess.none()``) read nothing and give one answer whatever the path;
the operator's strategies read regular files only, within a size limit and, with a root, only
inside it; errors name the reference as written, never the resolved path or a file's content.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.decision import FileAccess, Strategy
from creditfactory.exceptions import StrategyError

HEAD = """\
strategy: s
version: "1"
inputs: {phone: str, n: int}
"""
FLOW = """\
flow:
  - lists:
      checks:
        - {field: phone, list: bad, action: decline, reason: KO_LIST}
  - assign: {set: {limit: "1000"}}
"""


def with_list(ref: str, kind: str = "str") -> str:
    return HEAD + f"lists:\n  bad: {{file: {json.dumps(ref)}, type: {kind}}}\n" + FLOW


SPEC = {
    "format": "creditfactory.scoring_spec",
    "format_version": 1,
    "scaling": {"factor": 28.85, "offset": 487.1},
    "characteristics": [
        {"name": "n", "kind": "numerical", "code": "R001", "missing_points": 10.0,
         "special": [], "upper_edges": [25.0, 40.0], "points": [20.0, 40.0, 60.0]}
    ],
}  # fmt: skip


def with_model(ref: str) -> str:
    return (
        HEAD
        + f"models:\n  m: {{name: card, version: '1', path: {json.dumps(ref)}}}\n"
        + "flow:\n  - model: {model: m, bind: {score: score}}\n"
        + "  - assign: {set: {limit: '1000'}}\n"
    )


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, threading.Thread]]:
    """A FIFO with a writer blocked until someone opens it for reading (is_alive: unopened)."""
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    writer = threading.Thread(target=lambda: os.close(os.open(path, os.O_WRONLY)), daemon=True)
    writer.start()
    yield path, writer
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # release the writer
    writer.join(5)


def compile_within(text: str, files: FileAccess, seconds: float = 5.0) -> BaseException | None:
    """Compile in a thread; the error raised (None if it compiled); fails if it hangs."""
    out: list[BaseException | None] = []

    def run() -> None:
        try:
            Strategy.from_yaml(text, files=files)
            out.append(None)
        except BaseException as exc:  # handed to the test
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "compiling hung (a file was opened)"
    return out[0]


# ------------------------------------------------------------------------- uploads: no file
@pytest.mark.parametrize(
    "ref",
    ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/dev/zero", "/nonexistent/x",
     "../../etc/passwd", "blacklist.txt"],
)  # fmt: skip
def test_an_upload_names_no_file_whatever_the_path(ref: str) -> None:
    with pytest.raises(StrategyError) as info:
        Strategy.from_yaml(with_list(ref), files=FileAccess.none())
    message = str(info.value)
    assert message == (
        "<string>:5: list 'bad': a strategy uploaded to the service cannot read files; give the "
        "values inline, or keep identifiers in the service's hashed lists (/v1/lists)"
    )
    assert ref not in message


def test_an_upload_never_opens_the_file(fifo: tuple[Path, threading.Thread], tmp_path: Path):
    path, writer = fifo
    exc = compile_within(with_list(str(path)), FileAccess.none())
    assert isinstance(exc, StrategyError)
    link = tmp_path / "link"
    link.symlink_to(path)
    exc = compile_within(with_list(str(link)), FileAccess.none())
    assert isinstance(exc, StrategyError)
    writer.join(0.2)
    assert writer.is_alive()  # nobody opened the FIFO for reading


@pytest.mark.parametrize("ref", ["/etc/passwd", "/dev/zero", "/nonexistent", "../../m.json"])
def test_an_upload_loads_no_model_file(ref: str) -> None:
    with pytest.raises(StrategyError) as info:
        Strategy.from_yaml(with_model(ref), files=FileAccess.none())
    message = str(info.value)
    assert message == (
        "<string>:5: missing model card@1: not registered; register it with POST /v1/models "
        "(a strategy uploaded to the service cannot load model files)"
    )


# ------------------------------------------------------------------------- operator's files
def test_the_operator_reads_own_list_file(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("# comment\n13800000000\n\n 13900000000 \n")
    s = Strategy.from_yaml(with_list("bad.txt"), files=FileAccess.under(tmp_path))
    assert s.decide({"phone": "13900000000", "n": 1}).decision == "decline"
    assert s.decide({"phone": "13700000000", "n": 1}).decision == "approve"
    (tmp_path / "strategy.yaml").write_text(with_list("bad.txt"))
    loaded = Strategy.load(tmp_path / "strategy.yaml")  # relative to the file, any folder
    assert loaded.decide({"phone": "13800000000", "n": 1}).decision == "decline"


@pytest.mark.parametrize("ref", ["../outside.txt", "sub/../../outside.txt", "OUTSIDE", "link"])
def test_no_escape_from_the_root(tmp_path: Path, ref: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("13800000000\n")
    (root / "link").symlink_to(outside)
    ref = str(outside) if ref == "OUTSIDE" else ref
    with pytest.raises(StrategyError, match="outside the strategy's folder") as info:
        Strategy.from_yaml(with_list(ref), files=FileAccess.under(root))
    assert str(tmp_path) not in str(info.value).replace(ref, "")


def test_a_missing_file_outside_the_root_looks_like_any_other(tmp_path: Path) -> None:
    """No existence oracle: outside the root, existing or not, one answer."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "there.txt").write_text("x\n")
    answers = set()
    for ref in ("../there.txt", "../not-there.txt"):
        with pytest.raises(StrategyError) as info:
            Strategy.from_yaml(with_list(ref), files=FileAccess.under(root))
        answers.add(str(info.value).replace(ref, "REF"))
    assert len(answers) == 1


def test_special_files_are_never_opened(fifo: tuple[Path, threading.Thread]) -> None:
    path, writer = fifo
    for files in (FileAccess.under(path.parent), FileAccess.anywhere(path.parent)):
        exc = compile_within(with_list(path.name), files)
        assert isinstance(exc, StrategyError)
        assert "not a regular file" in str(exc)
    exc = compile_within(with_list("/dev/zero"), FileAccess.anywhere())
    assert isinstance(exc, StrategyError)
    assert str(exc).endswith("cannot read file '/dev/zero': not a regular file")
    writer.join(0.2)
    assert writer.is_alive()


def test_the_size_limit(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("1380000000\n" * 10)  # 110 bytes
    files = FileAccess.under(tmp_path, max_bytes=110)
    assert Strategy.from_yaml(with_list("bad.txt"), files=files)
    with pytest.raises(StrategyError, match=r"cannot read file 'bad.txt': larger than 109 bytes"):
        Strategy.from_yaml(with_list("bad.txt"), files=FileAccess.under(tmp_path, max_bytes=109))


def test_errors_name_the_reference_not_the_path_nor_the_content(tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_text("1\n2\nsecret-admin-key\n")
    with pytest.raises(StrategyError) as info:
        Strategy.from_yaml(with_list("ids.txt", "int"), files=FileAccess.under(tmp_path))
    assert str(info.value) == "<string>:5: list 'bad': file 'ids.txt', line 3: not an int"
    with pytest.raises(StrategyError) as info:
        Strategy.from_yaml(with_list("nope.txt"), files=FileAccess.under(tmp_path))
    assert str(info.value) == "<string>:5: list 'bad': cannot read file 'nope.txt': no such file"
    assert str(tmp_path) not in str(info.value)


def test_model_files_obey_the_same_rules(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "models").mkdir(parents=True)
    (root / "models" / "card.json").write_text(json.dumps(SPEC))
    files = FileAccess.under(root)
    s = Strategy.from_yaml(with_model("models/card.json"), files=files)
    assert s.decide({"phone": "1", "n": 30}).values == {}
    (tmp_path / "card.json").write_text(json.dumps(SPEC))
    (root / "models" / "link.json").symlink_to(tmp_path / "card.json")
    for ref in ("../card.json", "models/link.json", str(tmp_path / "card.json")):
        with pytest.raises(StrategyError, match="outside the strategy's folder"):
            Strategy.from_yaml(with_model(ref), files=files)
    (root / "models" / "broken.json").write_text('{"format": "nope"}')
    with pytest.raises(StrategyError) as info:
        Strategy.from_yaml(with_model("models/broken.json"), files=files)
    assert "cannot load 'models/broken.json'" in str(info.value)
    assert str(tmp_path) not in str(info.value)
    (root / "models" / "dir").mkdir()  # a scorecard folder with a link out: refused too
    (root / "models" / "dir" / "scorecard.json").symlink_to(tmp_path / "card.json")
    with pytest.raises(StrategyError, match="outside the strategy's folder"):
        Strategy.from_yaml(with_model("models/dir"), files=files)
    (root / "models" / "gbm").mkdir()  # a challenger whose metadata names a file outside
    (root / "models" / "gbm" / "challenger.json").write_text('{"model_file": "../../../x.txt"}')
    with pytest.raises(StrategyError, match="outside the strategy's folder"):
        Strategy.from_yaml(with_model("models/gbm"), files=files)


def test_a_strategy_file_that_is_a_fifo_is_refused(fifo: tuple[Path, threading.Thread]) -> None:
    path, writer = fifo
    with pytest.raises(StrategyError, match=r"cannot read strategy file \(not a regular file\)"):
        Strategy.load(path)
    writer.join(0.2)
    assert writer.is_alive()


# ------------------------------------------------------------------------- malformed YAML
DEEP = HEAD + "description: " + "[" * 20_000 + "]" * 20_000 + "\n" + FLOW.replace("bad", "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEEP, "line 4: nested more than 64 levels deep"),
        (HEAD + "description: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "nested more than"),
        (HEAD + "? [a, b]\n: 1\n", "line 4: a key must be a text"),
        ("strategy: [1, 2]\nversion: '1'\ninputs: {n: int}\nflow: []\n", "strategy: expected a"),
        (HEAD + "params: [1]\nflow: []\n", "params: expected a mapping"),
        (HEAD + "lists: [1]\nflow: []\n", "lists: expected a mapping"),
        (HEAD + "models: [1]\nflow: []\n", "models: expected a mapping"),
        (HEAD + "outputs: {a: 1}\nflow: []\n", "outputs: expected a list"),
        (HEAD + "key: [1]\nflow: []\n", "key: a list is not a declared input"),
        (HEAD + "description: !!binary aGVsbG8=\nflow: []\n", "description: expected a text"),
        (HEAD + "flow:\n  - table: {dimensions: {a: {expr: n, domain: 5}}, rows: []}\n",
         "domain must be"),
        (HEAD + "flow:\n  - table: {dimensions: {a: n}, rows: [{a: [0, null]}], default: [1]}\n",
         "default: expected a mapping"),
        (HEAD + "flow:\n  - assign: {set: {limit: '" + "(" * 3000 + "1" + ")" * 3000 + "'}}\n",
         "nests too deeply"),
        (HEAD + "params: {p: " + "9" * 5000 + "}\nflow: []\n", "a value that cannot be read"),
        (HEAD.replace('"1"', "2001-13-45") + "flow: []\n", "a value that cannot be read"),
        ("!!timestamp " + HEAD + "flow: []\n", "a value that cannot be read"),
        (HEAD + "description: &a [*a]\nflow: []\n", "found unconstructable recursive node"),
        (HEAD + "lists: {l: {values: [[1], {a: 1}]}}\nflow: []\n", "every item must be a str"),
    ],
)  # fmt: skip
def test_malformed_strategies_are_strategy_errors(text: str, message: str) -> None:
    with pytest.raises(StrategyError, match=re.escape(message)):
        Strategy.from_yaml(text, files=FileAccess.none())


def test_aliases_do_not_blow_up_messages() -> None:
    """A billion-laughs name is refused by its kind, never printed (nor turned into text)."""
    levels = ["&a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"&{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = f"description: [{', '.join(levels)}]\nstrategy: *i\nversion: '1'\n"
    exc = compile_within(text + "inputs: {n: int}\nflow: []\n", FileAccess.none())
    assert isinstance(exc, StrategyError)
    assert str(exc).endswith(": strategy: expected a text, got a list")


REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "reference.yaml"
TOKENS = ["[", "]", "{", "}", ":", "- ", "&a ", "*a", "!!binary ", "!!set ", "!!timestamp ",
          "!!int ", "? ", "\n", "  ", "'", "#", "9" * 30, "2001-13-45", ".nan", "~", "<<: ", "|",
          "\t", "---\n", "file: /dev/zero", "path: /etc/passwd", "age"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6000), st.integers(0, 20), st.lists(st.sampled_from(TOKENS))),
        min_size=1,
        max_size=4,
    )
)
def test_a_mangled_strategy_is_a_strategy_error_or_compiles(
    edits: list[tuple[int, int, list[str]]],
) -> None:
    """Whatever an upload holds, compiling it raises StrategyError or nothing (never a 500)."""
    text = REFERENCE.read_text(encoding="utf-8")
    for pos, cut, tokens in edits:
        text = text[:pos] + "".join(tokens) + text[pos + cut :]
    with contextlib.suppress(StrategyError):
        Strategy.from_yaml(text, files=FileAccess.none())
