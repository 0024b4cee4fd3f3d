"""The steps of a strategy flow, each compiled twice: a closure for one application and Polars
operations for a frame. ``_strategy`` parses the YAML into these.

Flow semantics (the same in both modes):

- a step runs only while the application is not declined (and, inside a split, only in its arm);
- ``rules``/``lists``: every rule of the step is evaluated; a rule *fires* when its expression is
  true (null does not fire); fired rules add their reason codes in order; a fired ``decline``
  rule ends the flow after the step; a fired ``refer`` rule marks the application for review;
  a ``lists`` check of a *provided* list (``provided: true``) asks the run's look-up provider
  (:class:`creditfactory.fraud.Provider`) instead of evaluating an expression, and its hits
  are recorded as ``list:field`` in ``list_hits`` whatever its action;
- the reasons of a decline come first, in the order they arose, then every other reason (a
  refer cell met before the knock-out), then the models': the first reason of a declined
  application is why it was declined;
- ``model`` binds score and probability; its reason codes are added after the strategy's own
  when the final decision is not ``approve``;
- ``table`` binds its outputs; a ``decision`` output of ``decline`` ends the flow, ``refer``
  marks for review; a ``reason`` output is added when not null;
- ``assign`` evaluates its expressions in order; ``split`` runs the sub-flow of one arm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from creditfactory.decision._domain import Domain
from creditfactory.decision._expr import Expression
from creditfactory.decision._expr_types import Type
from creditfactory.decision._hash import bucket, buckets
from creditfactory.decision._inputs import InputError
from creditfactory.decision._model_inputs import UNSEEN_REASON, unseen_entry, unseen_problem
from creditfactory.decision._models import DecisionModel
from creditfactory.decision._table import Lookup
from creditfactory.exceptions import ConfigError
from creditfactory.fraud import Provider

DECLINE, REFER, NONE = "decline", "refer", "none"
PL_DTYPES: dict[str, type[pl.DataType]] = {
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
    "str": pl.String,
}


class Run:
    """The state of one online decision; ``lookups`` answers the provided lists' checks."""

    __slots__ = (
        "declines",
        "hits",
        "lookups",
        "model_reasons",
        "reasons",
        "refer",
        "stop",
        "trace",
    )

    def __init__(self, lookups: Provider | None = None) -> None:
        self.lookups = lookups
        self.hits: list[str] = []  # provided lists hit, "list:field"
        self.stop = False
        self.refer = False
        self.declines: list[str] = []  # the reasons of decline rules and cells, in order
        self.reasons: list[str] = []  # every other reason, in order
        self.model_reasons: list[tuple[Any, Any, int]] = []  # (model, row, n), resolved last
        self.trace: list[str] = []

    def codes(self) -> list[str]:
        """The strategy's own reason codes: those that declined first, then the others."""
        return self.declines + self.reasons if self.declines else self.reasons

    def model_codes(self) -> list[str]:
        """The models' reason codes, in step order (computed only when needed)."""
        return [c for model, row, n in self.model_reasons for c in model.score_row(row, n)[2]]


OnlineStep = Callable[[dict[str, Any], Run], None]


@dataclass
class BatchPlan:
    """Polars operations for a frame, plus what the final select gathers."""

    dtypes: dict[str, type[pl.DataType]]  # Polars dtype classes (see PL_DTYPES)
    ops: list[tuple[str, Any]] = field(default_factory=list)
    reasons: list[tuple[str, str | pl.Expr]] = field(default_factory=list)
    declines: list[tuple[str, str | pl.Expr]] = field(default_factory=list)  # listed first
    model_reasons: list[tuple[str, Any, list[pl.Expr], int]] = field(default_factory=list)
    trace: list[tuple[str, str]] = field(default_factory=list)
    hits: list[tuple[str, str]] = field(default_factory=list)  # (flag column, "list:field")
    lookups: Provider | None = None
    n: int = 0

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"__{prefix}{self.n}"

    def cols(self, *exprs: pl.Expr) -> None:
        self.ops.append(("cols", list(exprs)))

    def frame(self, fn: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
        self.ops.append(("frame", fn))

    def guard(self, arm: pl.Expr) -> str:
        g = self.new("g")
        self.cols((~pl.col("__stop") & ~pl.col("__err") & arm).alias(g))
        return g

    def assign(self, var: str, value: pl.Expr, g: str) -> pl.Expr:
        dtype = self.dtypes[var]
        return pl.when(pl.col(g)).then(value.cast(dtype)).otherwise(pl.col(var)).alias(var)


class Step:
    """Base of the compiled steps."""

    kind = ""

    def __init__(self, name: str, line: int):
        self.name = name
        self.line = line

    def online(self) -> OnlineStep:
        raise NotImplementedError

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        raise NotImplementedError

    def outline(self) -> tuple[str, list[Any]]:
        """``(label, children)`` for display; a child is a string or another outline."""
        raise NotImplementedError


@dataclass
class Rule:
    name: str
    expr: Expression
    action: str
    reason: str | None
    bind: str | None = None
    line: int = 0

    @property
    def text(self) -> str:
        """The rule's condition as written."""
        return self.expr.text


def _batch_checks(
    plan: BatchPlan, guard: str, checks: list[tuple[pl.Expr, str, Any, str | None]]
) -> list[str]:
    """The batch form of rules and list checks: each check's flag column (``(condition,
    action, reason, bind)``, under ``guard``), its reason in the plan (a decline's with the
    declines, listed first), then the stop, refer and bound variables. Returns the flags'
    names, in check order."""
    names, declines, refers, bound = [], [], [], []
    flags = []
    for cond, action, reason, bind in checks:
        f = plan.new("f")
        names.append(f)
        flags.append((pl.col(guard) & cond).alias(f))
        if action == DECLINE:
            declines.append(pl.col(f))
            plan.declines.append((f, str(reason)))
        else:
            if action == REFER:
                refers.append(pl.col(f))
            if action != NONE:
                plan.reasons.append((f, str(reason)))
        if bind is not None:
            bound.append((f, bind))
    plan.cols(*flags)
    binds = [plan.assign(var, pl.col(f), guard) for f, var in bound]
    updates = []
    if declines:
        updates.append((pl.col("__stop") | pl.any_horizontal(declines)).alias("__stop"))
    if refers:
        updates.append((pl.col("__refer") | pl.any_horizontal(refers)).alias("__refer"))
    if binds or updates:
        plan.cols(*binds, *updates)
    return names


class RulesStep(Step):
    """Knock-out and refer rules (``rules``)."""

    kind = "rules"

    def __init__(self, name: str, line: int, rules: list[Rule]):
        super().__init__(name, line)
        self.rules = rules

    def online(self) -> OnlineStep:
        name = self.name
        # str(reason) as in batch(): a decline/refer rule always reports a string code
        entries = [(r.expr.fn, r.action, str(r.reason), r.bind) for r in self.rules]
        if all(r.bind is None and r.action != NONE for r in self.rules):
            # the common case, kept lean for the online path (an action-none check must not
            # refer, so it takes the general path below)
            def run_rules(env: dict[str, Any], run: Run) -> None:
                run.trace.append(name)
                for fn, action, reason, _ in entries:
                    if fn(env) is True:
                        if action == DECLINE:
                            run.declines.append(reason)
                            run.stop = True
                        else:
                            run.reasons.append(reason)
                            run.refer = True

            return run_rules

        def run_checks(env: dict[str, Any], run: Run) -> None:
            run.trace.append(name)
            declined = False
            for fn, action, reason, bind in entries:
                hit = fn(env) is True
                if bind is not None:
                    env[bind] = hit
                if hit and action != NONE:
                    if action == DECLINE:
                        run.declines.append(reason)
                        declined = True
                    else:
                        run.reasons.append(reason)
                        run.refer = True
            if declined:
                run.stop = True

        return run_checks

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        checks = [
            (r.expr.polars().fill_null(False), r.action, r.reason, r.bind) for r in self.rules
        ]
        _batch_checks(plan, g, checks)

    def outline(self) -> tuple[str, list[Any]]:
        kids = []
        for r in self.rules:
            act = r.action if r.action != NONE else f"bind {r.bind}"
            code = f" [{r.reason}]" if r.reason else ""
            what = r.expr.text if r.name == r.expr.text else f"{r.name}: {r.expr.text}"
            kids.append(f"{what} -> {act}{code}")
        return f"{self.kind} {self.name}", kids


@dataclass
class ListCheck:
    """One check of a ``lists`` step: is ``field`` on ``list``? A list held in the strategy is
    an expression (``expr``); a provided list is a look-up ``feature``
    (``list:<list>:<field>``), recorded as ``hit`` (``list:field``) when it is on it."""

    name: str
    action: str
    reason: str | None
    bind: str | None
    line: int
    expr: Expression | None = None
    feature: str | None = None
    hit: str = ""

    @property
    def text(self) -> str:
        return self.name


class ListsStep(Step):
    """List checks (``lists``): lists of the strategy, or looked up through the provider."""

    kind = "lists"

    def __init__(self, name: str, line: int, checks: list[ListCheck]):
        super().__init__(name, line)
        self.checks = checks
        self.features = tuple(dict.fromkeys(c.feature for c in checks if c.feature is not None))

    def online(self) -> OnlineStep:
        name, features = self.name, self.features
        entries = [
            (None if c.expr is None else c.expr.fn, c.feature, c.hit, c.action, str(c.reason),
             c.bind)
            for c in self.checks
        ]  # fmt: skip

        def look(env: dict[str, Any], run: Run) -> Mapping[str, Any]:
            if run.lookups is None:
                raise ConfigError(f"lists step {name!r}: no look-up provider given")
            return run.lookups.row(features, env)

        def screen(env: dict[str, Any], run: Run, found: Mapping[str, Any]) -> None:
            run.trace.append(name)
            declined = False
            for fn, feature, hit_name, action, reason, bind in entries:
                if fn is not None:
                    hit = fn(env) is True
                else:
                    hit = found[feature] is True  # type: ignore[index]
                    if hit:
                        run.hits.append(hit_name)
                if bind is not None:
                    env[bind] = hit
                if hit and action != NONE:
                    if action == DECLINE:
                        run.declines.append(reason)
                        declined = True
                    else:
                        run.reasons.append(reason)
                        run.refer = True
            if declined:
                run.stop = True

        if features and all(c.feature is not None and c.bind is None for c in self.checks):
            # only provided lists, nothing bound: an application on none of them (the usual
            # case) costs the look-up and one scan of its answers
            def run_provided(env: dict[str, Any], run: Run) -> None:
                found = look(env, run)
                if True in found.values():
                    screen(env, run, found)
                else:
                    run.trace.append(name)

            return run_provided

        def run_lists(env: dict[str, Any], run: Run) -> None:
            screen(env, run, look(env, run) if features else {})

        return run_lists

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        looked: dict[str, str] = {}
        if self.features:
            features, lookups, prefix = list(self.features), plan.lookups, plan.new("lk")
            if lookups is None:
                raise ConfigError(f"lists step {self.name!r}: no look-up provider given")
            looked = {f: f"{prefix}_{i}" for i, f in enumerate(features)}

            def look(df: pl.DataFrame) -> pl.DataFrame:
                found = lookups.frame(features, df)
                return df.hstack([found[f].alias(looked[f]) for f in features])

            plan.frame(look)
        checks = []
        for c in self.checks:
            if c.feature is not None:
                cond = pl.col(looked[c.feature]).fill_null(False)
            else:
                assert c.expr is not None
                cond = c.expr.polars().fill_null(False)
            checks.append((cond, c.action, c.reason, c.bind))
        flags = _batch_checks(plan, g, checks)
        plan.hits += [
            (f, c.hit) for f, c in zip(flags, self.checks, strict=True) if c.feature is not None
        ]

    def outline(self) -> tuple[str, list[Any]]:
        kids = []
        for c in self.checks:
            act = c.action if c.action != NONE else (f"bind {c.bind}" if c.bind else "record")
            code = f" [{c.reason}]" if c.reason else ""
            where = " (provided)" if c.feature is not None else ""
            kids.append(f"{c.name}{where} -> {act}{code}")
        return f"lists {self.name}", kids


class ModelStep(Step):
    kind = "model"

    def __init__(
        self,
        name: str,
        line: int,
        model: DecisionModel,
        features: dict[str, str],
        binds: dict[str, str],
        n_reasons: int,
        alias: str = "",
        unseen: str = "missing",
    ):
        super().__init__(name, line)
        self.model = model
        self.features = features  # model feature -> strategy variable
        self.binds = binds  # "score"/"pd" -> variable
        self.n_reasons = n_reasons
        self.stable = True  # every feature is a strategy input (set by the loader)
        self.alias = alias or model.name
        self.unseen = unseen  # the strategy's policy for values the model never saw
        domain = getattr(model, "domain", None)
        self.domain: Domain | None = domain if isinstance(domain, Domain) and domain.keys else None

    def online(self) -> OnlineStep:
        name, model, n = self.name, self.model, self.n_reasons
        feats = list(self.features.items())
        bind_score = self.binds.get("score")
        bind_pd = self.binds.get("pd")

        # Reason codes are worked out at the end, and only for declines and referrals; when
        # every feature is an input (which later steps cannot change) the row is the env itself.
        same_names = self.stable and all(f == v for f, v in feats)
        check = self._online_unseen()

        def run_model(env: dict[str, Any], run: Run) -> None:
            run.trace.append(name)
            row = env if same_names else {f: env[v] for f, v in feats}
            if check is not None:
                check(row, run)
            score, pd_, _ = model.score_row(row, 0)
            if bind_score is not None:
                env[bind_score] = score
            if bind_pd is not None:
                env[bind_pd] = pd_
            if n:
                run.model_reasons.append((model, row, n))

        return run_model

    def _online_unseen(self) -> Callable[[dict[str, Any], Run], None] | None:
        """The unseen-value check of one row (``None`` when the model has no categories)."""
        if self.domain is None:
            return None
        unseen_row, policy, name = self.domain.unseen_row, self.unseen, self.name
        problem = unseen_problem(self.model.name)

        def check(row: dict[str, Any], run: Run) -> None:
            bad = unseen_row(row)
            if not bad:
                return
            variables = [self.features[f] for f in bad]
            if policy == "reject":
                text = "; ".join(f"{v}: {problem}" for v in variables)
                raise InputError(f"invalid application: {text}", variables)
            run.trace.extend(unseen_entry(name, v) for v in variables)
            if policy == "refer":
                run.refer = True
                run.reasons.append(UNSEEN_REASON)

        return check

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        prefix = plan.new("m")
        model, n, domain = self.model, self.n_reasons, self.domain
        select = [pl.col(v).alias(f) for f, v in self.features.items()]
        flags = {f: f"{prefix}_u{j}" for j, f in enumerate(domain.keys if domain else ())}

        def score(df: pl.DataFrame) -> pl.DataFrame:
            # reason codes are left for the end: only declined or referred rows need them
            inputs = df.select(select)
            out = model.score_frame(inputs, 0)
            cols = [out[c].alias(f"{prefix}_{c}") for c in ("score", "pd")]
            if domain is not None:
                live = df[g]
                unseen = domain.unseen_frame(inputs)
                cols += [(live & unseen[f]).alias(flag) for f, flag in flags.items()]
            return df.hstack(cols)

        plan.frame(score)
        plan.model_reasons.append((g, model, select, n))
        binds = [plan.assign(var, pl.col(f"{prefix}_{out}"), g) for out, var in self.binds.items()]
        if binds:
            plan.cols(*binds)
        if flags:
            self._batch_unseen(plan, flags)

    def _batch_unseen(self, plan: BatchPlan, flags: dict[str, str]) -> None:
        """Trace entries and the policy's effect of the unseen-value flag columns."""
        any_unseen = pl.any_horizontal([pl.col(c) for c in flags.values()])
        # traced under every policy (a rejected row's trace says why, as its error does)
        for f, c in flags.items():
            plan.trace.append((c, unseen_entry(self.name, self.features[f])))
        if self.unseen == "reject":
            problem = unseen_problem(self.model.name)
            texts = [
                pl.when(pl.col(c)).then(pl.lit(f"{self.features[f]}: {problem}"))
                for f, c in flags.items()
            ]
            plan.cols(
                pl.when(any_unseen)
                .then(pl.concat_str(texts, separator="; ", ignore_nulls=True))
                .otherwise(pl.col("error"))
                .alias("error"),
                (pl.col("__err") | any_unseen).alias("__err"),
            )
            return
        if self.unseen == "refer":
            flag = plan.new("u")
            plan.cols(any_unseen.alias(flag))
            plan.reasons.append((flag, UNSEEN_REASON))
            plan.cols((pl.col("__refer") | pl.col(flag)).alias("__refer"))

    def outline(self) -> tuple[str, list[Any]]:
        binds = ", ".join(f"{k} -> {v}" for k, v in self.binds.items())
        kids = [f"features: {', '.join(self.features)}", f"binds: {binds}",
                f"reason codes: {self.n_reasons}"]  # fmt: skip
        if self.domain is not None:
            kids.append(f"unseen categories: {self.unseen}")
        return f"model {self.name}: {self.model.name}@{self.model.version}", kids


class TableStep(Step):
    kind = "table"

    def __init__(
        self,
        name: str,
        line: int,
        lookup: Lookup,
        outputs: dict[str, Type],
        rows: list[dict[str, Any]],
        default: dict[str, Any],
        lines: list[int],
    ):
        super().__init__(name, line)
        self.lookup = lookup
        self.outputs = outputs  # variable -> type (including "decision" and "reason" if used)
        self.rows = rows
        self.default = default
        self.lines = lines
        self.shown = [", ".join(f"{k}={v}" for k, v in row.items()) for row in rows]

    def _values(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.rows]

    def online(self) -> OnlineStep:
        name, lookup = self.name, self.lookup
        variables = [k for k in self.outputs if k not in ("decision", "reason")]
        table = [tuple(r.get(k) for k in variables) for r in self.rows]
        dflt = tuple(self.default.get(k) for k in variables)
        decisions = [*self._values("decision"), self.default.get("decision")]
        reasons = [*self._values("reason"), self.default.get("reason")]

        def run_table(env: dict[str, Any], run: Run) -> None:
            run.trace.append(name)
            i = lookup.row(env)
            values = dflt if i is None else table[i]
            for var, v in zip(variables, values, strict=True):
                env[var] = v
            if i is None:
                i = -1
            d = decisions[i]
            if d == DECLINE:
                if reasons[i] is not None:
                    run.declines.append(reasons[i])
                run.stop = True
            else:
                if reasons[i] is not None:
                    run.reasons.append(reasons[i])
                if d == REFER:
                    run.refer = True

        return run_table

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        rowcol = plan.new("row")
        plan.cols(self.lookup.row_expr().alias(rowcol))
        idx = [*range(len(self.rows)), -1]

        def mapped(key: str, dtype: type[pl.DataType]) -> pl.Expr:
            values = [*self._values(key), self.default.get(key)]
            return pl.col(rowcol).replace_strict(idx, values, return_dtype=dtype)

        binds = [
            plan.assign(var, mapped(var, plan.dtypes[var]), g)
            for var in self.outputs
            if var not in ("decision", "reason")
        ]
        updates = []
        decisions = [*self._values("decision"), self.default.get("decision")]
        for flag, value in (("__stop", DECLINE), ("__refer", REFER)):
            rows = [i for i, d in zip(idx, decisions, strict=True) if d == value]
            if rows:
                hit = pl.col(g) & pl.col(rowcol).is_in(pl.Series(rows, dtype=pl.Int64).implode())
                updates.append((pl.col(flag) | hit).alias(flag))
        if "reason" in self.outputs:
            # two entries: a declining cell's reason is listed with the declines (first)
            reason = mapped("reason", pl.String)
            declining = [i for i, d in zip(idx, decisions, strict=True) if d == DECLINE]
            is_decline = pl.col(rowcol).is_in(pl.Series(declining, dtype=pl.Int64).implode())
            fd, fo = plan.new("f"), plan.new("f")
            given = pl.col(g) & reason.is_not_null()
            updates.append((given & is_decline).alias(fd))
            updates.append((given & ~is_decline).alias(fo))
            plan.declines.append((fd, reason))
            plan.reasons.append((fo, reason))
        if binds or updates:
            plan.cols(*binds, *updates)

    def outline(self) -> tuple[str, list[Any]]:
        dims = " x ".join(d.name for d in self.lookup.dims)
        kids: list[Any] = []
        for text, line in zip(self.shown, self.lines, strict=True):
            kids.append(f"line {line}: {text}")
        if self.default:
            kids.append("default: " + ", ".join(f"{k}={v}" for k, v in self.default.items()))
        return f"table {self.name}: {dims} -> {', '.join(self.outputs)}", kids


class AssignStep(Step):
    kind = "assign"

    def __init__(self, name: str, line: int, items: list[tuple[str, Expression, bool]]):
        super().__init__(name, line)
        self.items = items  # (variable, expression, cast to float)

    def online(self) -> OnlineStep:
        name = self.name
        items = [(v, e.fn, to_float) for v, e, to_float in self.items]

        def run_assign(env: dict[str, Any], run: Run) -> None:
            run.trace.append(name)
            for var, fn, to_float in items:
                value = fn(env)
                env[var] = float(value) if to_float and value is not None else value

        return run_assign

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        live = pl.col(g)

        def masked(name: str) -> pl.Expr:
            return pl.when(live).then(pl.col(name))

        for var, expr, _ in self.items:
            # a NumPy solver (the lifetime model's price) gets nulls on the rows this step
            # leaves alone (declined before it, or in another arm), which it skips: their
            # values are discarded by assign() anyway, and every other row is computed alike
            value = expr.polars(masked) if expr.vectorised else expr.polars()
            plan.cols(plan.assign(var, value, g))

    def outline(self) -> tuple[str, list[Any]]:
        return f"assign {self.name}", [f"{v} = {e.text}" for v, e, _ in self.items]


class SplitStep(Step):
    kind = "split"

    def __init__(
        self, name: str, line: int, key: str, salt: str, arms: list[tuple[str, float, list[Step]]]
    ):
        super().__init__(name, line)
        self.key = key
        self.salt = salt
        self.arms = arms
        cum, total = [], 0.0
        for _, share, _ in arms[:-1]:
            total += share
            cum.append(total)
        self.cuts = cum  # arm i when bucket < cuts[i]; the last arm takes the rest

    def online(self) -> OnlineStep:
        name, key, salt, cuts = self.name, self.key, self.salt, self.cuts
        arms = [(f"{name}:{a}", [s.online() for s in steps]) for a, _, steps in self.arms]

        def run_split(env: dict[str, Any], run: Run) -> None:
            run.trace.append(name)
            b = bucket(env[key], salt)
            i = 0
            while i < len(cuts) and b >= cuts[i]:
                i += 1
            label, steps = arms[i]
            run.trace.append(label)
            for step in steps:
                step(env, run)
                if run.stop:
                    break

        return run_split

    def batch(self, plan: BatchPlan, arm: pl.Expr) -> None:
        g = plan.guard(arm)
        plan.trace.append((g, self.name))
        bcol, acol = plan.new("bucket"), plan.new("arm")
        key, salt = self.key, self.salt

        def add_bucket(df: pl.DataFrame) -> pl.DataFrame:
            return df.with_columns(pl.Series(bcol, buckets(df[key].to_arrow(), salt)))

        plan.frame(add_bucket)
        idx = pl.sum_horizontal([(pl.col(bcol) >= c).cast(pl.Int64) for c in self.cuts])
        plan.cols(idx.alias(acol) if self.cuts else pl.lit(0, pl.Int64).alias(acol))
        for i, (arm_name, _, steps) in enumerate(self.arms):
            in_arm = arm & (pl.col(acol) == i)
            ga = plan.guard(in_arm)
            plan.trace.append((ga, f"{self.name}:{arm_name}"))
            for step in steps:
                step.batch(plan, in_arm)

    def outline(self) -> tuple[str, list[Any]]:
        kids = [
            (f"arm {a} ({share:.0%})", [s.outline() for s in steps])
            for a, share, steps in self.arms
        ]
        return f"split {self.name} by hash of {self.key} (salt {self.salt!r})", kids
