"""The batch factory: chunked, and resumable after an interruption with every row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from creditfactory.batch import decide_file, parts_dir
from creditfactory.cli import app
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.exceptions import ConfigError, DataError

N = 3000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.conftest import SERVICE_STRATEGY

    root = tmp_path_factory.mktemp("batch")
    apps = pl.from_pandas(simulate(SimulationConfig(n_applications=N, seed=5)).applications)
    apps.write_parquet(root / "apps.parquet", row_group_size=700)
    strategy = root / "strategy.yaml"
    strategy.write_text(SERVICE_STRATEGY.format(version="1", multiple=3), encoding="utf-8")
    return root / "apps.parquet", strategy


@pytest.fixture(scope="module")
def expected(files: tuple[Path, Path]) -> pl.DataFrame:
    """The whole file decided in one call, with the input position as ``row``."""
    apps, strategy = files
    out = Strategy.load(strategy).decide_batch(pl.read_parquet(apps))
    return out.with_columns(pl.int_range(0, N, dtype=pl.Int64).alias("row"))


class KilledError(Exception):
    pass


def test_chunked_run_equals_one_batch_call(
    files: tuple[Path, Path], expected: pl.DataFrame, tmp_path: Path
) -> None:
    apps, strategy = files
    seen: list[tuple[int, int]] = []
    report = decide_file(
        Strategy.load(strategy), apps, tmp_path / "out.parquet", chunk_size=400,
        progress=lambda c, cs, r, rs: seen.append((c, r)),
    )  # fmt: skip
    assert (report.rows, report.chunks, report.chunks_decided, report.chunks_resumed) == (
        N,
        8,
        8,
        0,
    )
    assert seen[0] == (0, 0)
    assert seen[-1] == (8, N)
    assert_frame_equal(pl.read_parquet(tmp_path / "out.parquet"), expected)
    assert sum(report.decisions.values()) == N
    assert not parts_dir(tmp_path / "out.parquet").exists()


def test_interrupted_run_resumes_and_decides_each_row_once(
    files: tuple[Path, Path], expected: pl.DataFrame, tmp_path: Path
) -> None:
    apps, strategy = files
    out = tmp_path / "out.parquet"

    def stop_after_three(chunks_done: int, *_: int) -> None:
        if chunks_done == 3:
            raise KilledError

    with pytest.raises(KilledError):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=400, progress=stop_after_three)
    assert not out.exists()
    assert len(list(parts_dir(out).glob("part-*.parquet"))) == 3
    (parts_dir(out) / "part-000005.tmp").write_bytes(b"half a chunk")  # cut off mid-write
    decided: list[int] = []

    class Counting:
        def __init__(self, inner: Strategy):
            self.inner, self.name, self.version = inner, inner.name, inner.version

        def decide_batch(self, frame: pl.DataFrame) -> pl.DataFrame:
            decided.append(frame.height)
            return self.inner.decide_batch(frame)

    report = decide_file(Counting(Strategy.load(strategy)), apps, out, chunk_size=400)
    assert (report.chunks_resumed, report.chunks_decided) == (3, 5)
    assert sum(decided) == N - 3 * 400  # only the rest was decided again
    result = pl.read_parquet(out)
    assert result["row"].to_list() == list(range(N))
    assert result["application_id"].n_unique() == N
    assert_frame_equal(result, expected)


def test_resume_refuses_a_different_run(files: tuple[Path, Path], tmp_path: Path) -> None:
    apps, strategy = files
    out = tmp_path / "out.parquet"

    def stop(chunks_done: int, *_: int) -> None:
        if chunks_done == 1:
            raise KilledError

    with pytest.raises(KilledError):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=400, progress=stop)
    with pytest.raises(ConfigError, match="differs in chunk_size, chunks; pass restart=True"):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=500)
    report = decide_file(Strategy.load(strategy), apps, out, chunk_size=500, restart=True)
    assert report.chunks_resumed == 0
    assert report.rows == N
    with pytest.raises(ConfigError, match="chunk_size: must be at least 1"):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=0)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        decide_file(Strategy.load(strategy), tmp_path / "bad.parquet", out)


def test_cli_batch_decide(files: tuple[Path, Path], expected: pl.DataFrame, tmp_path: Path) -> None:
    apps, strategy = files
    out = tmp_path / "cli.parquet"
    args = ["batch", "decide", "--strategy", str(strategy), "--input", str(apps), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--chunk-size", "1000"])
    assert result.exit_code == 0, result.output
    assert f"{N:,} rows in 3 chunks" in result.output
    assert_frame_equal(pl.read_parquet(out), expected)


@pytest.mark.slow
def test_killed_process_resumes(
    files: tuple[Path, Path], expected: pl.DataFrame, tmp_path: Path
) -> None:
    """SIGKILL the CLI half-way, run it again: every application decided exactly once."""
    apps, strategy = files
    out = tmp_path / "killed.parquet"
    code = "import sys; from creditfactory.cli import main; sys.argv[0] = 'creditfactory'; main()"
    cmd = [sys.executable, "-c", code, "batch", "decide", "--strategy", str(strategy),
           "--input", str(apps), "--out", str(out), "--chunk-size", "10"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = parts_dir(out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if work.exists() and len(list(work.glob("part-*.parquet"))) >= 30:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    before = len(list(work.glob("part-*.parquet")))
    assert 30 <= before < N // 10
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{before} resumed" in result.stdout.replace("\n", " ")
    assert_frame_equal(pl.read_parquet(out), expected)


def test_ledger_records_each_chunk_once_across_a_resume(
    files: tuple[Path, Path], tmp_path: Path, db_url: str
) -> None:
    import json

    from creditfactory.batch import LedgerRecorder, file_sha256
    from creditfactory.store import Store, entries, verify

    apps, strategy = files
    store = Store(db_url)
    store.migrate()
    out = tmp_path / "out.parquet"

    class KilledWhileRecording(LedgerRecorder):
        def chunk(self, run_id: str, chunk: int, *args: object) -> None:
            if chunk == 2:  # the part is on disk, the ledger entry never written
                raise KilledError
            super().chunk(run_id, chunk, *args)  # type: ignore[arg-type]

    with pytest.raises(KilledError):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=1000,
                    recorder=KilledWhileRecording(store))  # fmt: skip
    assert len(list(parts_dir(out).glob("part-*.parquet"))) == 3
    report = decide_file(Strategy.load(strategy), apps, out, chunk_size=1000,
                         recorder=LedgerRecorder(store))  # fmt: skip
    assert report.chunks_resumed == 3
    with store.session() as s:
        rows = [e for e in entries(s) if e.kind.startswith("batch.")]
        assert verify(s).ok
    chunks = sorted(e.payload["chunk"] for e in rows if e.kind == "batch.chunk")
    assert chunks == [0, 1, 2]
    complete = [e for e in rows if e.kind == "batch.complete"]
    assert len(complete) == 1
    assert complete[0].payload["sha256"] == file_sha256(out)
    assert complete[0].payload["decisions"] == report.decisions
    assert json.dumps(complete[0].payload["rows"]) == str(N)
    store.dispose()


def test_resume_redoes_a_part_that_is_not_its_chunk(
    files: tuple[Path, Path], expected: pl.DataFrame, tmp_path: Path
) -> None:
    apps, strategy = files
    out = tmp_path / "out.parquet"

    def stop(chunks_done: int, *_: int) -> None:
        if chunks_done == 2:
            raise KilledError

    with pytest.raises(KilledError):
        decide_file(Strategy.load(strategy), apps, out, chunk_size=1000, progress=stop)
    work = parts_dir(out)
    (work / "part-000002.parquet").write_bytes((work / "part-000001.parquet").read_bytes())
    report = decide_file(Strategy.load(strategy), apps, out, chunk_size=1000)
    assert (report.chunks_resumed, report.chunks_decided) == (2, 1)
    assert_frame_equal(pl.read_parquet(out), expected)


def test_batch_with_lists_decides_like_the_online_service(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The hashed lists make the same decisions, limits and reason codes online and in batch:
    the strategy's lists step looks them up in the store's lists (online through the factory's
    cache, in batch through one read of them)."""
    from creditfactory.decision import InputError
    from creditfactory.factory import Decide, Factory, FactoryConfig
    from creditfactory.fraud import Lookups
    from creditfactory.store import (
        Store,
        activate,
        add_list_entries,
        add_strategy,
        stored_lists,
    )

    apps_path, strategy_path = files
    apps = pl.read_parquet(apps_path).head(300)
    i = pl.int_range(pl.len())
    apps = apps.with_columns(  # a few rows the strategy must refuse: age above 100, income < 0
        pl.when(i % 37 == 5)
        .then(150)
        .otherwise(pl.col("age"))
        .cast(apps["age"].dtype)
        .alias("age"),
        pl.when(i % 41 == 7).then(-1.0).otherwise(pl.col("monthly_income")).alias("monthly_income"),
    )
    small = tmp_path / "apps.parquet"
    apps.write_parquet(small)
    store = Store(f"sqlite:///{tmp_path / 'lists.db'}")
    store.migrate()
    secret = "s3cret"
    phones, ids = apps["phone"].to_list(), apps["id_number"].to_list()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_path.read_text(), "ana").id, "boss")
        add_list_entries(s, secret, "blacklist", "phone", phones[0:300:7], "ana")
        add_list_entries(s, secret, "blacklist", "id_number", ids[0:300:11], "ana")
        add_list_entries(s, secret, "greylist", "phone", phones[1:300:5], "ana")
        add_list_entries(s, secret, "whitelist", "id_number", ids[2:300:3], "ana")
    factory = Factory(FactoryConfig(str(store.engine.url), list_secret=secret), store)
    online = {}
    invalid: dict[str, list[str]] = {}  # rows online refuses, with the fields it names
    rows = apps.to_dicts()
    outs = factory.decide([Decide(i, row, "channel") for i, row in enumerate(rows)])
    factory.close()
    for row, out in zip(rows, outs, strict=True):
        if isinstance(out, InputError):
            invalid[row["application_id"]] = sorted(out.fields)
            continue
        assert not isinstance(out, Exception), out
        d = out.decision
        online[row["application_id"]] = (d.decision, d.limit, d.apr, d.term, d.reasons,
                                          sorted(d.list_hits))  # fmt: skip
    with store.sessions() as session:
        lookups = Lookups({"list": stored_lists(session, secret)})
    decide_file(Strategy.load(strategy_path), small, tmp_path / "out.parquet", chunk_size=70,
                lookups=lookups)  # fmt: skip
    batch = pl.read_parquet(tmp_path / "out.parquet")
    compared = flagged_alone = listed_invalid = 0
    black = set(phones[0:300:7]) | set(ids[0:300:11])
    ident = {a: {p, n} for a, p, n in zip(apps["application_id"], phones, ids, strict=True)}
    for r in batch.iter_rows(named=True):
        if r["application_id"] in invalid:  # batch flags them too, naming the same fields
            assert r["error"] is not None
            for field in invalid[r["application_id"]]:
                assert field in r["error"], (field, r["error"])
            # as documented: refer, INVALID_INPUT alone, not screened (online refuses the row)
            assert (r["decision"], r["reasons"], r["list_hits"]) == ("refer", ["INVALID_INPUT"], [])
            flagged_alone += 1
            listed_invalid += bool(ident[r["application_id"]] & black)
        else:
            assert r["error"] is None, r
        if r["application_id"] in online:
            got = (r["decision"], r["limit"], r["apr"], r["term"], r["reasons"],
                   sorted(r["list_hits"]))  # fmt: skip
            assert got == online[r["application_id"]], r["application_id"]
            compared += 1
    assert compared > 240
    assert compared + len(invalid) == len(apps) == batch.height
    assert len(invalid) >= 10
    assert flagged_alone >= 5
    assert listed_invalid >= 1  # an invalid row on the blacklist is among them
    assert {f for fs in invalid.values() for f in fs} == {"age", "monthly_income"}
    kinds = {d[0] for d in online.values()}
    assert {"approve", "decline", "refer"} <= kinds
    assert any("LIST_GREYLIST_PHONE" in d[4] for d in online.values())
    assert any(d[4][:1] == ["LIST_BLACKLIST_ID_NUMBER"] for d in online.values())
    store.dispose()


def test_cli_batch_with_database_records_and_screens(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from creditfactory.store import Store, add_list_entries, entries

    apps, strategy = files
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url)
    store.migrate()
    first_phone = pl.read_parquet(apps, n_rows=1)["phone"][0]
    with store.session() as s:
        add_list_entries(s, "k", "blacklist", "phone", [first_phone], "ana")
    out = tmp_path / "cli.parquet"
    args = ["batch", "decide", "--strategy", str(strategy), "--input", str(apps), "--out", str(out)]
    no_db = CliRunner().invoke(app, [*args, "--lists"])
    assert no_db.exit_code == 2
    assert "--lists needs --database-url" in " ".join(no_db.output.split())
    monkeypatch.setenv("CREDITFACTORY_LIST_SECRET", "k")
    result = CliRunner().invoke(app, [*args, "--database-url", url, "--lists"])
    assert result.exit_code == 0, result.output
    first = pl.read_parquet(out, n_rows=1).row(0, named=True)
    assert first["decision"] == "decline"
    assert first["reasons"][0] == "LIST_BLACKLIST_PHONE"
    with store.session() as s:
        kinds = [e.kind for e in entries(s)]
    assert kinds.count("batch.chunk") == 1
    assert kinds[-1] == "batch.complete"
    store.dispose()
