"""The portfolio analysis behind the report: every table computed once, in one result object."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.servicing._book import ServicingBook
from creditfactory.servicing._delinquency import roll_rates, vintage_curves
from creditfactory.servicing._flows import (
    delinquency_by_segment,
    expected_loss_by_bucket,
    exposure,
    flow_rates,
    net_flow_to_charge_off,
)

#: segments reported when the loans table has the column
SEGMENTS = ("product", "channel", "cohort", "vintage")


@dataclass(frozen=True)
class PortfolioAnalysis:
    """Portfolio analytics of a book as of a date; the report and the CLI only render it.

    Attributes
    ----------
    as_of : the last snapshot date used.
    overview : one row per headline metric (``metric``, ``value``).
    vintage30, vintage90 : ever-30+ / ever-90+ curves by monthly vintage (rows) and MOB.
    vintage90_by_product : ever-90+ curves by product and quarterly vintage.
    roll_rates : month-to-month bucket transition matrix (accounts); ``roll_rates_balance``
        the same weighted by exposure.
    flow_rates : balance flow rates by calendar month; ``net_flow`` the net flow to charge-off.
    segments : delinquency and loss by product, channel, cohort and vintage (where known).
    expected_loss : PD x LGD x EAD of the open book by bucket, with a total row.
    """

    as_of: pd.Timestamp
    overview: pd.DataFrame
    vintage30: pd.DataFrame
    vintage90: pd.DataFrame
    vintage90_by_product: pd.DataFrame
    roll_rates: pd.DataFrame
    roll_rates_balance: pd.DataFrame
    flow_rates: pd.DataFrame
    net_flow: pd.DataFrame
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    expected_loss: pd.DataFrame = field(default_factory=pd.DataFrame)
    lgd: float = 0.75
    horizon: int = 12


def _as_of(book: ServicingBook, as_of: object | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    perf, loans = book.performance, book.loans
    if as_of is None:
        return perf, loans
    try:
        cut = pd.Timestamp(as_of)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"as_of: not a date: {as_of!r}") from exc
    if cut.day == 1 and str(as_of).count("-") == 1:  # "2025-06": the whole month
        cut = cut + pd.offsets.MonthEnd(0)
    perf = perf[perf["month"] <= cut]
    if perf.empty:
        raise DataError(f"as_of: no performance on or before {cut.date()}")
    loans = loans[loans["disbursed_at"] <= cut].copy()  # booked by then, due or not
    seen = perf.groupby("loan_id")["mob"].max().reindex(loans["loan_id"]).fillna(0)
    span = pd.PeriodIndex(loans["disbursed_at"], freq="M")
    end = pd.Period(cut, freq="M")
    months = np.array([(end - s).n for s in span], dtype=np.int64)
    loans["months_observed"] = np.maximum(
        np.minimum(loans["months_observed"].to_numpy(np.int64), months),
        seen.to_numpy(np.int64),
    )
    return perf, loans


def analyse_portfolio(
    book: ServicingBook, as_of: object | None = None, lgd: float = 0.75, horizon: int = 12
) -> PortfolioAnalysis:
    """Vintages, roll and flow rates, net flow, delinquency and loss by segment and expected
    loss of ``book`` as of ``as_of`` (a date or ``YYYY-MM``; default: the whole book).

    ``lgd`` (default 0.75, the middle of unsecured consumer credit's 60-90%) and ``horizon``
    (months) set the expected loss."""
    if not 0 <= lgd <= 1:
        raise ConfigError(f"lgd: must be in [0, 1], not {lgd}")
    perf, loans = _as_of(book, as_of)
    last = perf.sort_values(["loan_id", "mob"]).groupby("loan_id").tail(1)
    closed = last["closed"].to_numpy(bool) if "closed" in last else np.zeros(len(last), bool)
    bucket = last["bucket"].astype(str).to_numpy()
    recent = (last["month"] > perf["month"].max() - pd.Timedelta(days=31)).to_numpy()
    live = recent & ~closed & (bucket != "charged_off")
    ead = exposure(last)[live]
    dpd = last["dpd"].to_numpy()[live]
    bad = (perf["dpd"] >= 90) | (perf["bucket"].astype(str) == "charged_off")
    written = float(perf["written_off"].sum()) if "written_off" in perf else 0.0
    overview = pd.DataFrame(
        [
            ("loans booked / 放款笔数", float(len(loans))),
            ("principal lent / 放款金额", float(loans["principal"].sum())),
            ("open accounts / 在贷笔数", float(live.sum())),
            ("exposure / 在贷余额", float(ead.sum())),
            ("30+ DPD share of exposure / 30+逾期率", _share(ead, dpd >= 30)),
            ("90+ DPD share of exposure / 90+逾期率", _share(ead, dpd >= 90)),
            ("loans ever 90+ / 曾90+占比", float(bad.groupby(perf["loan_id"]).any().mean())),
            ("written off / 核销金额", written),
            ("loss rate on principal / 损失率", written / float(loans["principal"].sum())),
        ],
        columns=["metric", "value"],
    )
    segments = {}
    for seg in SEGMENTS:
        if seg == "vintage" or (seg in loans and loans[seg].notna().any()):
            frame = loans if seg == "vintage" else loans[loans[seg].notna()]
            segments[seg] = delinquency_by_segment(perf, frame, seg)
    flows = flow_rates(perf)
    return PortfolioAnalysis(
        as_of=pd.Timestamp(perf["month"].max()),
        overview=overview,
        vintage30=vintage_curves(perf, loans, dpd=30),
        vintage90=vintage_curves(perf, loans, dpd=90),
        vintage90_by_product=vintage_curves(perf, loans, dpd=90, by="Q", segment="product"),
        roll_rates=roll_rates(perf),
        roll_rates_balance=roll_rates(perf, weight="balance"),
        flow_rates=flows,
        net_flow=net_flow_to_charge_off(perf),
        segments=segments,
        expected_loss=expected_loss_by_bucket(perf, lgd=lgd, horizon=horizon),
        lgd=lgd,
        horizon=horizon,
    )


def _share(weights: np.ndarray, mask: np.ndarray) -> float:
    total = float(weights.sum())
    return float(weights[mask].sum()) / total if total > 0 else float("nan")
