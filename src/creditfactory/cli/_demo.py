"""``creditfactory demo``: the main job end to end on the embedded defaults.

1. simulate a lending book with known truth (SQLite-free: Parquet files);
2. fit an application scorecard on the loans the incumbent booked, as a lender would;
3. run the reference strategy with that scorecard on every application, in batch, and compare
   it with the incumbent policy on true outcomes (approval, bad rate, loss, profit, swap sets),
   then separate selection from pricing: each lender's approvals at each lender's prices,
   valued with the twin's offer oracle (true take-up and PD at that offer) and the lifetime
   cash-flow model;
   and show a fraud ring the strategy's anti-fraud step caught (the twin's truth beside it);
4. decide one application online and explain it;
5. start the decision service on 127.0.0.1, post a few applications (one retried with the same
   idempotency key), verify the audit ledger and stop the service.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from creditfactory.cli._common import console, fail
from creditfactory.cli._simulate import print_summary, simulate_with_progress
from creditfactory.cli._strategy import print_simulation
from creditfactory.data import Portfolio, SimulationConfig

REFERENCE = Path(__file__).resolve().parents[3] / "examples" / "strategies" / "reference.yaml"
IDENTIFIERS = ("application_id", "id_number", "phone", "device_id")


def demo(
    applications: Annotated[int, typer.Option(help="Applications to simulate.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    out: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path("data/demo"),
    strategy_file: Annotated[
        Path, typer.Option("--strategy", help="Strategy to run (default: the reference).")
    ] = REFERENCE,
    service: Annotated[bool, typer.Option(help="Also run the HTTP service part.")] = True,
) -> None:
    """Simulate a book, fit a scorecard, run the reference strategy in batch against the
    incumbent, decide one application online, and exercise the decision service."""
    if not strategy_file.is_file():
        fail(f"--strategy: {strategy_file} does not exist")
    console.rule("[bold]creditfactory demo[/]")
    console.print("[bold]1. Simulating a lending book with known ground truth[/]")
    book = simulate_with_progress(SimulationConfig(n_applications=applications, seed=seed))
    where = book.write(out / "book")
    print_summary(book)
    console.print(f"book written to {where}/")

    console.print("\n[bold]2. Fitting the application scorecard on booked, seasoned loans[/]")
    from creditfactory.decision import ModelRegistry, Strategy, load_model

    shipped = Strategy.load(strategy_file)
    card_dir, pd_card = _fit_scorecard(book, shipped, out / "scorecard")

    console.print("\n[bold]3. The reference strategy in batch, against the incumbent policy[/]")
    registry = ModelRegistry([load_model(card_dir, "application_scorecard", "1")])
    strategy = Strategy.load(strategy_file, models=registry)
    started = time.perf_counter()
    decisions = strategy.decide_batch(book.applications)
    seconds = time.perf_counter() - started
    counts = decisions["decision"].value_counts()
    console.print(
        f"decided {len(decisions):,} applications in {seconds:.2f} s "
        f"({len(decisions) / seconds:,.0f} a second): "
        + ", ".join(f"{counts.get(k, 0):,} {k}" for k in ("approve", "refer", "decline"))
    )
    report = strategy.simulate(book, segment="product")
    print_simulation(report, "on the demo book")
    _verdict(report.summary, strategy.name)
    _selection_and_pricing(book, strategy.name, decisions, pd_card, strategy_file)
    _ring_caught(book, decisions)

    console.print("\n[bold]4. One application decided online, with its explanation[/]")
    _online(strategy, book, decisions)

    if service:
        console.print("\n[bold]5. The decision service on 127.0.0.1[/]")
        _service(shipped, strategy_file, book=book, workdir=out / "service")
    console.rule("[bold green]demo finished[/]")


def _fit_scorecard(book: Portfolio, strategy: Any, where: Path) -> tuple[Path, np.ndarray]:
    from creditfactory.exceptions import CreditFactoryError
    from creditfactory.scorecard import Scorecard, ScorecardWarning, auc

    declared = [spec.name for spec in strategy.inputs]
    features = [c for c in declared if c in book.applications.columns and c not in IDENTIFIERS]
    observed = book.observed_outcomes(months=12, dpd=90)
    train = book.applications.merge(observed[["application_id", "bad"]], on="application_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        try:
            card = Scorecard().fit(train[features], train["bad"])
        except CreditFactoryError as exc:
            fail(f"scorecard: {exc}")
    card.save(str(where))
    truth = book.truth[["application_id", "bad", "pd_true"]]
    ttd = book.applications.merge(truth, on="application_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        p_ttd = card.predict_proba(ttd[features])[:, 1]
    table = Table(title="Application scorecard", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("trained on (booked loans with 12 months on book)", f"{len(train):,}")
    table.add_row("observed bad rate in training", f"{train['bad'].mean():.2%}")
    table.add_row(
        "characteristics offered / kept", f"{len(features)} / {len(card.selected_features_)}"
    )
    table.add_row("AUC, through the door (true outcomes)", f"{auc(ttd['bad'], p_ttd):.3f}")
    table.add_row(
        "AUC of the truth itself (ceiling)",
        f"{auc(ttd['bad'], ttd['pd_true']):.3f}" if "pd_true" in ttd else "-",
    )
    console.print(table)
    console.print(f"artefact written to {where}/")
    return where, np.asarray(p_ttd, dtype=float)


def _verdict(summary: Any, name: str) -> None:
    total = summary.filter(summary["segment"] == "total")
    rows = {r["strategy"]: r for r in total.iter_rows(named=True)}
    mine, inc = rows.get(name), rows.get("incumbent")
    if mine is None or inc is None:
        return
    console.print(
        f"[bold]{name}[/] approves {mine['approval_rate']:.1%} "
        f"(incumbent {inc['approval_rate']:.1%}) at a true bad rate of "
        f"{mine['bad_rate_true']:.2%} (incumbent {inc['bad_rate_true']:.2%}); realised loss "
        f"{mine['realised_loss']:,.0f} vs {inc['realised_loss']:,.0f} CNY, profit "
        f"{mine['profit']:,.0f} vs {inc['profit']:,.0f} CNY (outcomes as realised in the book, "
        "where every application is valued at the offer it was booked or simulated at, take-up "
        "ignored: the table below prices each offer with the twin's oracle)."
    )


PROFIT_INCLUDES = (
    "Profit is the lifetime cash flow of each loan (creditfactory.pricing): instalments until "
    "default, prepayment or maturity, funding at {cof:.0%} a year on the balance, losses at "
    "{lgd:.0%} of the exposure at default (recoveries over a year counted), {loan:.0f} "
    "CNY to book a loan and {month:.0f} CNY a month to service it, and {app:.0f} CNY of "
    "acquisition and bureau cost for every application, approved or not."
)


def _selection_and_pricing(
    book: Portfolio, name: str, decisions: Any, pd_card: np.ndarray, strategy_file: Path
) -> None:
    import pandas as pd
    import yaml

    from creditfactory.data import incumbent_price
    from creditfactory.decision import selection_and_pricing
    from creditfactory.pricing import DEFAULT_ECONOMICS as ECO
    from creditfactory.pricing import LoanEconomics, risk_based_apr

    apps = book.applications
    ids = apps["application_id"].to_numpy()
    ok = decisions["decision"].to_numpy() == "approve"
    mine = pd.DataFrame(
        {
            "application_id": ids[ok],
            "amount": np.minimum(
                apps["amount_requested"].to_numpy(float), decisions["limit"].to_numpy(float)
            )[ok],
            "term": apps["term_requested"].to_numpy(np.int64)[ok],
        }
    )
    inc = book.incumbent_decisions
    inc = inc[inc["decision"] == "approve"]
    theirs = pd.DataFrame(
        {
            "application_id": inc["application_id"].to_numpy(),
            "amount": inc["amount_approved"].to_numpy(float),
            "term": inc["term"].to_numpy(np.int64),
        }
    )
    # the reference's pricing formula (its params) at its scorecard's PD; the incumbent's own
    params = yaml.safe_load(strategy_file.read_text(encoding="utf-8")).get("params", {})
    eco = LoanEconomics(
        lgd=params.get("lgd", ECO.lgd), cost_of_funds=params.get("cost_of_funds", ECO.cost_of_funds)
    )
    target = params.get("target_return", 0.05)
    position = pd.Series(np.arange(len(ids)), index=ids)
    cfg = book.config
    if cfg is None:  # a book from elsewhere: no incumbent pricing to compare with
        return

    def reference_price(sel: pd.DataFrame) -> np.ndarray:
        p = pd_card[position[sel["application_id"]].to_numpy()]
        return np.asarray(
            risk_based_apr(
                p, sel["amount"].to_numpy(float), sel["term"].to_numpy(float), target, eco
            )
        )

    def incumbent_prices(sel: pd.DataFrame) -> np.ndarray:
        rows = position[sel["application_id"]].to_numpy()
        amount, term = np.full(len(ids), np.nan), np.full(len(ids), np.nan)
        amount[rows], term[rows] = sel["amount"].to_numpy(float), sel["term"].to_numpy(float)
        price = incumbent_price(apps, cfg, amount, term)[rows]
        return np.asarray(np.maximum(price, cfg.apr_floor), dtype=float)

    table_data = selection_and_pricing(
        book,
        {name: mine, "incumbent": theirs},
        {name: reference_price, "incumbent": incumbent_prices},
        economics=eco,
        max_apr=params.get("max_apr", cfg.apr_cap),
    )
    table = Table(title="Selection and pricing, from the twin's offer oracle (expected)")
    names = max(len(name), len("incumbent"))
    for col in ("selection", "pricing"):
        table.add_column(col, no_wrap=True, min_width=names)
    for col in ("loans", "APR", "bad rate", "lent", "profit"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in table_data.iter_rows(named=True):
        table.add_row(
            r["selection"], r["pricing"], f"{r['expected_loans']:,.0f}", f"{r['mean_apr']:.2%}",
            f"{r['bad_rate']:.2%}", f"{r['lent'] / 1e6:,.1f} mn",
            f"{r['expected_profit'] / 1e3:,.0f} k",
        )  # fmt: skip
    console.print(table)
    console.print(
        "selection: whose approvals; pricing: whose prices; loans: how many approved "
        "applicants would take the offer (expected, from the twin's oracle); APR: their mean; "
        "bad rate: expected share of those loans 90+ days past due within 12 months; lent and "
        "profit: expected, in CNY (mn: millions, k: thousands)."
    )
    cell = {
        (r["selection"], r["pricing"]): r["expected_profit"]
        for r in table_data.iter_rows(named=True)
    }
    selection = cell[(name, "incumbent")] - cell[("incumbent", "incumbent")]
    pricing = cell[(name, name)] - cell[(name, "incumbent")]
    console.print(
        f"selection effect (both at the incumbent's prices): {selection:+,.0f} CNY; pricing effect "
        f"({name}'s approvals, its prices vs the incumbent's): {pricing:+,.0f} CNY."
    )
    console.print(
        PROFIT_INCLUDES.format(
            cof=eco.cost_of_funds,
            lgd=eco.lgd,
            loan=eco.cost_per_loan,
            month=eco.cost_per_month,
            app=eco.cost_per_application,
        )
    )


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _value(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "missing"
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


def _readable(text: str, row: dict[str, Any]) -> str:
    """A reason's text with the applicant's own values of the inputs it names."""
    names = [n for n in dict.fromkeys(_NAME.findall(text)) if n in row]
    if not names:
        return text or "(no description)"
    return f"{text} ({', '.join(f'{n} = {_value(row[n])}' for n in names)})"


def _versions(decision: Any) -> str:
    models = ", ".join(f"{name} {version}" for name, version in decision.model_versions.items())
    return f"strategy {decision.strategy} {decision.version}" + (f"; {models}" if models else "")


def _ring_caught(book: Portfolio, decisions: Any) -> None:
    """A fraud ring the strategy stopped: its members as the strategy saw them, point in time,
    with the twin's truth beside them; then how many of the twin's ring members and honest
    applicants the anti-fraud checks stopped."""
    from creditfactory.fraud import fraud_features

    codes = decisions["reasons"].map(lambda r: [c for c in r if str(c).startswith("FR_")])
    rings = np.flatnonzero(codes.map(lambda c: "FR_RING" in c).to_numpy())
    if not len(rings):
        console.print("\n[bold]A fraud ring[/]: the strategy declined no application as a ring")
        return
    apps = book.applications
    feats = fraud_features(apps)  # point in time: what the strategy saw
    truth = book.truth.set_index("application_id").loc[apps["application_id"]]
    ring_of = truth["ring_id"].to_numpy(dtype=object)
    # the true ring of the first application declined as a ring member, all its applications
    ring = ring_of[rings[0]]
    members = np.flatnonzero(ring_of == ring) if isinstance(ring, str) else rings[:1]
    table = Table(title=f"A fraud ring caught (the twin's ring {ring}) / 识别出的欺诈团伙")
    for col in ("application", "applied at", "device", "phone", "ring size", "points", "decision",
                "fraud checks / 反欺诈"):  # fmt: skip
        table.add_column(col)
    for i in members[:10]:
        table.add_row(
            str(apps["application_id"].iat[i]),
            str(apps["applied_at"].iat[i])[:16],
            str(apps["device_id"].iat[i]),
            str(apps["phone"].iat[i]),
            str(feats["ring_size"].iat[i]),
            f"{feats['fraud_points'].iat[i]:.2f}",
            str(decisions["decision"].iat[i]),
            ", ".join(codes.iat[i]) or "–",
        )
    console.print()
    console.print(table)
    fired = codes.map(bool).to_numpy()
    in_ring = truth["ring_id"].notna().to_numpy()
    honest = ~truth["is_fraud"].to_numpy(bool)
    console.print(
        f"anti-fraud checks fired on {fired[in_ring].mean():.1%} of the twin's "
        f"{int(in_ring.sum()):,} ring-member applications and on {fired[honest].mean():.2%} "
        f"of honest applicants (point in time: each from the applications before it)"
    )


def _online(strategy: Any, book: Portfolio, decisions: Any) -> None:
    apps = book.applications
    # a decline with several reasons shows the most; the batch decisions say where one is
    n_reasons = decisions["reasons"].map(len).to_numpy()
    declined = decisions["decision"].to_numpy() == "decline"
    candidates = np.flatnonzero(declined & (n_reasons >= 2))
    pick = int(candidates[0]) if len(candidates) else int(np.flatnonzero(declined)[0])
    row = apps.iloc[pick].to_dict()  # the engine reads NaN as null
    started = time.perf_counter()
    decision = strategy.decide(row)
    micros = (time.perf_counter() - started) * 1e6
    table = Table(
        title=f"Application {row['application_id']}, decided online in {micros:,.0f} µs",
        show_header=False,
    )
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("decision", f"[bold]{decision.decision}[/]")
    if decision.decision == "approve":
        table.add_row(
            "limit / APR / term",
            f"{decision.limit:,.0f} CNY / {decision.apr:.2%} / {decision.term} months",
        )
    because = {"decline": "declined because", "refer": "referred because"}
    for i, (code, text) in enumerate(strategy.explain(decision)):
        label = because.get(decision.decision, "reason") if i == 0 else "further reason"
        table.add_row(label, f"{code}: {_readable(text, {**row, **decision.values})}")
    table.add_row("path", " → ".join(decision.trace))
    table.add_row("versions", _versions(decision))
    console.print(table)
    console.print(
        "The first reason is the one that decided; further reasons are the other rules it met "
        "and the scorecard's characteristics that cost the applicant most points (model reason "
        "codes R...), with the applicant's values; path: the steps the strategy ran."
    )


def _service(shipped: Any, shipped_path: Path, book: Portfolio, workdir: Path) -> None:
    from creditfactory.api import service_demo

    rows = book.applications.head(5).to_dict("records")  # service_demo makes them JSON
    result = service_demo(shipped_path, rows, workdir)
    engine = "engine process" if result["engine"] == "process" else "one process"
    table = Table(title=f"Decisions from {result['url']} ({engine})")
    for col, justify in (
        ("application", "left"),
        ("HTTP", "right"),
        ("decision", "left"),
        ("limit CNY", "right"),
        ("APR", "right"),
        ("reasons", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    seen: list[str] = []
    for row, d in zip(rows, result["decisions"], strict=True):
        limit, apr = d.get("limit"), d.get("apr")
        reasons = [str(r) for r in d.get("reasons") or []]
        seen += [r for r in reasons if r not in seen]
        table.add_row(
            str(row["application_id"]),
            str(d.get("status")),
            str(d.get("decision")),
            "–" if limit is None else f"{limit:,.0f}",
            "–" if apr is None else f"{apr:.2%}",
            ", ".join(reasons) or "–",
        )  # fmt: skip
    console.print(table)
    texts = shipped.reason_texts()
    console.print(
        "HTTP: the answer's status (201: decided and stored); limit and APR: offered on an "
        "approval or a referral, – on a decline; reasons, the deciding one first:"
    )
    for code in seen:
        console.print(f"  {code}: {texts.get(code, '(no description)')}")
    console.print(
        f"retry with the same Idempotency-Key: HTTP {result['retry_status']}, "
        + (
            "the stored decision answered again"
            if result["retry_same_decision"]
            else "[red]a different decision[/]"
        )
    )
    ledger = result["ledger"]
    if ledger.get("ok"):
        console.print(
            f"audit ledger: {ledger.get('checked', 0):,} entries checked, the chain is intact "
            f"(head {ledger.get('head', '')})"
        )
    else:
        console.print(f"[red]audit ledger broken[/]: {ledger.get('first_problem')}")
    console.print(
        "service stopped cleanly"
        if result["stopped_cleanly"]
        else f"[red]service did not stop cleanly[/] (exit code {result['exit_code']})"
    )
