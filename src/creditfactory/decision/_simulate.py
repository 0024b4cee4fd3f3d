"""Simulation mode: run strategies over history with known outcomes and compare them.

On the simulator's portfolio the outcome (``truth.bad``, ``truth.pd_true``) is known for every
application, declined ones included, so each figure comes twice: the *true* figure and what a
lender would *observe*, which is outcomes only for loans the incumbent policy booked.

Loan economics per approved application come from the lifetime cash-flow model of
:mod:`creditfactory.pricing` (``loan_value``): amount = ``min(amount_requested, limit)`` at the
strategy's APR and term. A loan that went bad is worth the model's NPV given a default within
12 months on book (the instalments it paid first, the loss on its exposure at default, the
recoveries after it), one that did not the NPV given no such default (prepayment and later
defaults of longer loans expected); the timing within those outcomes follows the loan's
``pd_true`` (else the model's PD, else the approved loans' bad rate). ``profit`` is their sum
less the acquisition and bureau cost of every application, approved or not;
``expected_profit_true`` / ``_model`` are the lifetime NPVs at the true / model PD (same
application cost). Losses are ``lgd x`` the exposure at default, not the amount lent.
``refer`` counts as a decline unless ``refer_as="approve"``. ``segment="arm:<split>"`` segments
by the arm of a champion/challenger split that each application went to (both strategies are
then compared on the same arms' populations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from creditfactory.decision._model_inputs import unseen_counts
from creditfactory.exceptions import DataError
from creditfactory.fraud import Provider
from creditfactory.pricing import DEFAULT_ECONOMICS, MAX_APR, LoanEconomics, loan_value

if TYPE_CHECKING:
    from creditfactory.decision._strategy import Strategy

TOTAL = "total"


@dataclass
class SimulationReport:
    """Figures of one or two strategies on the same history.

    ``summary``: one row per strategy and segment (plus ``total``); ``swap``: the swap-set
    matrix (approved by both, by this one only = swap-in, by the other only = swap-out, by
    neither) with counts and true and observed bad rates; ``names``: the two strategies.
    """

    summary: pl.DataFrame
    swap: pl.DataFrame | None
    names: tuple[str, str | None]
    segment: str
    #: per strategy, the applications that met each value a model never saw
    #: (``"<step>: unseen <input>"`` -> count; see the strategy's ``unseen:`` policy)
    unseen: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "segment": self.segment,
            "summary": self.summary.to_dicts(),
            "swap": None if self.swap is None else self.swap.to_dicts(),
            "unseen": {k: dict(v) for k, v in self.unseen.items()},
        }


def _history(history: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Applications joined with their outcomes, and the incumbent's decisions if known."""
    incumbent = None
    if hasattr(history, "applications") and hasattr(history, "truth"):
        apps = _polars(history.applications)
        truth = _polars(history.truth).select(
            "application_id", *[c for c in ("bad", "pd_true") if c in history.truth.columns]
        )
        apps = apps.join(truth, on="application_id", how="left", maintain_order="left")
        inc = getattr(history, "incumbent_decisions", None)
        if inc is not None:
            incumbent = _polars(inc)
    else:
        apps = _polars(history)
    if "bad" not in apps.columns:
        raise DataError("history: needs a 'bad' outcome column (or a Portfolio with truth)")
    if "application_id" not in apps.columns:
        raise DataError("history: needs an 'application_id' column")
    return apps, incumbent


def _polars(frame: Any) -> pl.DataFrame:
    return frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)


def _book(
    strategy: Strategy,
    apps: pl.DataFrame,
    refer_as: str,
    arm_of: str | None = None,
    unseen: dict[str, dict[str, int]] | None = None,
    lookups: Provider | None = None,
) -> tuple[pl.DataFrame, str]:
    pd_var = strategy.pd_variable
    out = strategy._batch(apps, extra=[pd_var] if pd_var else [], lookups=lookups)
    if unseen is not None:
        unseen[strategy.name] = unseen_counts(out["trace"])
    ok = ("approve", "refer") if refer_as == "approve" else ("approve",)
    approved = out["decision"].is_in(list(ok))
    book = pl.DataFrame(
        {
            "approved": approved,
            "amount": pl.select(
                pl.min_horizontal(apps["amount_requested"], out["limit"].fill_null(float("inf")))
            ).to_series(),
            "apr": out["apr"],
            "term": out["term"].cast(pl.Float64),
            "pd_model": out[pd_var]
            if pd_var
            else pl.Series([None] * apps.height, dtype=pl.Float64),
        }
    )
    if arm_of is not None:  # the arm of split ``arm_of`` each application went to
        prefix = f"{arm_of}:"
        arm = out["trace"].list.eval(pl.element().filter(pl.element().str.starts_with(prefix)))
        book = book.with_columns(
            arm=arm.list.first().str.strip_prefix(prefix).fill_null("(not reached)")
        )
    return book, strategy.name


def _incumbent_book(apps: pl.DataFrame, inc: pl.DataFrame) -> pl.DataFrame:
    inc = apps.select("application_id").join(
        inc, on="application_id", how="left", maintain_order="left"
    )
    return pl.DataFrame(
        {
            "approved": (inc["decision"] == "approve").fill_null(False),
            "amount": inc["amount_approved"],
            "apr": inc["apr"],
            "term": inc["term"].cast(pl.Float64),
            "pd_model": pl.Series([None] * apps.height, dtype=pl.Float64),
        }
    )


def _values(
    amount: np.ndarray, apr: np.ndarray, term: np.ndarray, pd: np.ndarray, eco: LoanEconomics
) -> Any:
    """``loan_value`` on the rows where every input is usable; NaN elsewhere."""
    ok = np.isfinite(amount) & np.isfinite(apr) & np.isfinite(term) & np.isfinite(pd)
    ok &= (amount > 0) & (apr > 0) & (term >= 1)
    names = [f.name for f in dataclasses.fields(loan_value(1.0, 0.1, 1, 0.01))]
    out = {n: np.full(len(amount), np.nan) for n in names}
    if ok.any():
        v = loan_value(amount[ok], apr[ok], np.floor(term[ok]), pd[ok], eco)
        for n in names:
            out[n][ok] = getattr(v, n)
    return out


def _economics(
    book: pl.DataFrame, apps: pl.DataFrame, known: pl.Series, seg: str, eco: LoanEconomics
) -> pl.DataFrame:
    has_pd_true = "pd_true" in apps.columns
    df = book.with_columns(
        segment=apps[seg].cast(pl.String),
        bad=apps["bad"].cast(pl.Float64),
        pd_true=apps["pd_true"] if has_pd_true else pl.lit(None, dtype=pl.Float64),
        known=known,
    )
    df = df.with_columns(pl.col("amount", "apr", "term", "pd_model").fill_nan(None))
    # applications cost the same whoever approves them: charged per application below
    per_loan = dataclasses.replace(eco, cost_per_application=0.0)
    approved = df["approved"].to_numpy()

    def col(name: str) -> np.ndarray:
        x = df[name].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
        x[~approved] = np.nan
        return x

    amount, apr, term = col("amount"), col("apr"), col("term")
    pd_true, pd_model, bad = col("pd_true"), col("pd_model"), col("bad")
    fallback = float(np.nanmean(bad)) if np.isfinite(bad).any() else 0.05
    pd_timing = np.where(
        np.isfinite(pd_true), pd_true, np.where(np.isfinite(pd_model), pd_model, fallback)
    )
    timed = _values(amount, apr, term, pd_timing, per_loan)
    true = _values(amount, apr, term, pd_true, per_loan)
    model = _values(amount, apr, term, pd_model, per_loan)
    went_bad = bad == 1.0
    realised = np.where(went_bad, timed["value_if_bad"], timed["value_if_good"])
    loss = np.where(went_bad, eco.lgd * timed["ead_if_bad"], 0.0)
    a = pl.col("approved")

    def on_approved(x: np.ndarray) -> pl.Expr:  # declined applications contribute nothing
        return pl.when(a).then(pl.Series(x).fill_nan(None)).otherwise(0.0)

    return df.with_columns(
        exposure=pl.when(a).then(pl.col("amount")).otherwise(0.0),
        realised=on_approved(realised),
        loss=on_approved(loss),
        el_true=on_approved(true["expected_loss"]),
        npv_true=on_approved(true["npv"]),
        el_model=pl.when(a).then(pl.Series(model["expected_loss"]).fill_nan(None)),
        npv_model=pl.when(a).then(pl.Series(model["npv"]).fill_nan(None)),
        bad_known=pl.when(a & pl.col("known")).then(pl.col("bad")),
        app_cost=pl.lit(eco.cost_per_application),
    )


def _summarise(df: pl.DataFrame, name: str) -> pl.DataFrame:
    a = pl.col("approved")
    app_cost = pl.col("app_cost").sum()
    aggs = [
        pl.len().alias("applications"),
        a.sum().alias("approved"),
        a.mean().alias("approval_rate"),
        pl.col("bad").filter(a).mean().alias("bad_rate_true"),
        pl.col("bad_known").mean().alias("bad_rate_observed"),
        (pl.col("bad_known").count() / a.sum()).alias("known_share"),
        pl.col("exposure").sum(),
        pl.when(pl.col("el_model").count() > 0)
        .then(pl.col("el_model").sum())
        .alias("expected_loss_model"),
        pl.col("el_true").sum().alias("expected_loss_true"),
        pl.col("loss").sum().alias("realised_loss"),
        pl.when(pl.col("npv_model").count() > 0)
        .then(pl.col("npv_model").sum() - app_cost)
        .alias("expected_profit_model"),
        (pl.col("npv_true").sum() - app_cost).alias("expected_profit_true"),
        (pl.col("realised").sum() - app_cost).alias("profit"),
    ]
    by = df.group_by("segment").agg(aggs).sort("segment")
    total = df.select(aggs).with_columns(segment=pl.lit(TOTAL))
    return pl.concat([by, total.select(by.columns)]).select(
        pl.lit(name).alias("strategy"), pl.all()
    )


def _swap(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    df = pl.DataFrame(
        {"a": a["approved"], "b": b["approved"], "bad": a["bad"], "known": a["known"]}
    )
    cell = (
        pl.when(pl.col("a") & pl.col("b")).then(pl.lit("both approve"))
        .when(pl.col("a")).then(pl.lit("swap-in (this only)"))
        .when(pl.col("b")).then(pl.lit("swap-out (other only)"))
        .otherwise(pl.lit("both decline"))
    )  # fmt: skip
    order = ["both approve", "swap-in (this only)", "swap-out (other only)", "both decline"]
    out = df.group_by(cell.alias("cell")).agg(
        pl.len().alias("applications"),
        pl.col("bad").mean().alias("bad_rate_true"),
        pl.col("known").sum().alias("known"),
        pl.col("bad").filter(pl.col("known")).mean().alias("bad_rate_observed"),
    )
    out = pl.DataFrame({"cell": order}).join(out, on="cell", how="left", maintain_order="left")
    return out.with_columns(pl.col("applications", "known").fill_null(0))


def simulate_strategy(
    strategy: Strategy,
    history: Any,
    against: Strategy | None = None,
    *,
    segment: str = "channel",
    refer_as: str = "decline",
    economics: LoanEconomics = DEFAULT_ECONOMICS,
    lookups: Provider | None = None,
) -> SimulationReport:
    """Run ``strategy`` (and ``against``, or else the history's incumbent policy) over history,
    valuing every approved loan with the lifetime model under ``economics``; ``lookups``
    answers both strategies' provided lists (:meth:`Strategy.decide`)."""
    if refer_as not in ("decline", "approve"):
        raise DataError(f"refer_as: 'decline' or 'approve', not {refer_as!r}")
    apps, incumbent = _history(history)
    arm_of = segment.removeprefix("arm:") if segment.startswith("arm:") else None
    if arm_of is not None and not any(
        s.kind == "split" and s.name == arm_of for s in strategy.iter_steps()
    ):
        raise DataError(f"segment: {strategy.name!r} has no split step {arm_of!r}")
    if arm_of is None and segment not in apps.columns:
        raise DataError(f"segment: no column {segment!r} in the history")
    if incumbent is not None:
        inc = apps.select("application_id").join(
            incumbent, on="application_id", how="left", maintain_order="left"
        )
        known = (inc["decision"] == "approve").fill_null(False)
    else:
        known = pl.Series([True] * apps.height)  # outside the simulator, all outcomes are seen
    unseen: dict[str, dict[str, int]] = {}
    book, name = _book(strategy, apps, refer_as, arm_of, unseen, lookups)
    if arm_of is not None:  # both strategies are compared on this strategy's arms
        apps = apps.with_columns(book["arm"].alias(segment))
        book = book.drop("arm")
    mine = _economics(book, apps, known, segment, economics)
    parts = [_summarise(mine, name)]
    other_name, swap = None, None
    if against is not None:
        other, other_name = _book(against, apps, refer_as, None, unseen, lookups)
    elif incumbent is not None:
        other, other_name = _incumbent_book(apps, incumbent), "incumbent"
    if other_name is not None:
        theirs = _economics(other, apps, known, segment, economics)
        parts.append(_summarise(theirs, other_name))
        swap = _swap(mine, theirs)
    return SimulationReport(
        pl.concat(parts), swap, (name, other_name), segment, {k: v for k, v in unseen.items() if v}
    )


Pricer = Callable[[pd.DataFrame], np.ndarray]


def selection_and_pricing(
    book: Any,
    selections: Mapping[str, pd.DataFrame],
    pricers: Mapping[str, Pricer],
    *,
    economics: LoanEconomics = DEFAULT_ECONOMICS,
    max_apr: float = MAX_APR,
) -> pl.DataFrame:
    """Separate selection from pricing: every lender's approvals at every lender's prices,
    valued with the twin's offer oracle and the lifetime model.

    Parameters
    ----------
    book : Portfolio
        A simulated book (``creditfactory.data.offer_outcomes`` needs its truth).
    selections : mapping of name to DataFrame
        Each lender's approved applications: ``application_id``, ``amount``, ``term``.
    pricers : mapping of name to callable
        Each lender's pricing: given a selection frame, the APR of each row (before the cap).
    economics, max_apr
        The lifetime model's assumptions; prices are capped at ``max_apr``.

    Returns
    -------
    polars.DataFrame
        One row per selection and pricing: ``approved``, ``expected_loans`` (sum of the true
        take-up probabilities at that offer), ``take_up``, ``mean_apr`` and ``bad_rate`` of the
        expected loans (the true 12-month PD at that offer), ``lent`` (expected CNY lent) and
        ``expected_profit``: the expected lifetime NPV of the loans taken up, less the
        acquisition and bureau cost of every application of the book.
    """
    from creditfactory.data import offer_outcomes  # the twin's oracle (a lower package)

    per_loan = dataclasses.replace(economics, cost_per_application=0.0)
    application_cost = economics.cost_per_application * len(book.applications)
    rows = []
    for sel_name, sel in selections.items():
        for price_name, pricer in pricers.items():
            apr = np.minimum(np.asarray(pricer(sel), dtype=float), max_apr)
            ok = np.isfinite(apr) & (apr > 0)
            offers = pd.DataFrame(
                {
                    "application_id": sel["application_id"].to_numpy()[ok],
                    "amount": sel["amount"].to_numpy(float)[ok],
                    "apr": apr[ok],
                    "term": sel["term"].to_numpy(np.int64)[ok],
                }
            )
            truth = offer_outcomes(book, offers)
            take = truth["take_up"].to_numpy(float)
            pd12 = truth["pd_12m"].to_numpy(float)
            amount, term = offers["amount"].to_numpy(), offers["term"].to_numpy(float)
            npv = loan_value(amount, offers["apr"].to_numpy(), term, pd12, per_loan).npv
            loans = float(take.sum())
            rows.append(
                {
                    "selection": sel_name,
                    "pricing": price_name,
                    "approved": len(sel),
                    "priced": int(ok.sum()),
                    "expected_loans": loans,
                    "take_up": loans / max(int(ok.sum()), 1),
                    "mean_apr": float((take * offers["apr"]).sum() / loans) if loans else None,
                    "bad_rate": float((take * pd12).sum() / loans) if loans else None,
                    "lent": float((take * amount).sum()),
                    "expected_profit": float((take * npv).sum()) - application_cost,
                }
            )
    return pl.DataFrame(rows)
