"""A compiled strategy: :class:`Strategy` with ``decide`` (online) and ``decide_batch``."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from creditfactory.decision._batch_lists import lists_by_pattern
from creditfactory.decision._files import FileAccess
from creditfactory.decision._inputs import (
    NOT_FINITE,
    TERM_MAX,
    InputSpec,
    OutputError,
    fast_checks,
    output_problems,
    validate_frame,
    validate_row,
)
from creditfactory.decision._loader import Compiled, compile_strategy
from creditfactory.decision._model_inputs import UNSEEN_REASON, UNSEEN_TEXT
from creditfactory.decision._models import ModelRegistry
from creditfactory.decision._reason_text import (
    DEFAULT_LANG,
    ReasonCatalogue,
    ReasonText,
    Texts,
    parse_texts,
)
from creditfactory.decision._steps import PL_DTYPES, BatchPlan, ModelStep, Run
from creditfactory.decision._yaml import loads_yaml, read_source
from creditfactory.exceptions import DataError, StrategyError
from creditfactory.fraud import FraudSource, HashedLists, Lookups, Provider

INVALID_INPUT = "INVALID_INPUT"
INVALID_OUTPUT = "INVALID_OUTPUT"
_FMAX = sys.float_info.max
# without a provider, a strategy's provided lists have no entries (see Strategy.decide)
NO_LOOKUPS = Lookups({"list": HashedLists.empty()})


@dataclass(slots=True)
class Decision:
    """The outcome of one application.

    ``decision`` is ``"approve"``, ``"decline"`` or ``"refer"``; ``limit``, ``apr`` and ``term``
    are null on a decline; ``reasons`` lists reason codes: on a decline those that
    declined first, then the strategy's other reasons in the order they arose, then the
    models' (when the decision is not an approval); ``trace`` lists the
    steps run; ``values`` holds the strategy's declared ``outputs``; ``list_hits`` the
    provided lists the application is on, as ``list:field``, among those the flow checked.
    """

    decision: str
    limit: float | None
    apr: float | None
    term: int | None
    reasons: list[str]
    trace: list[str]
    strategy: str
    version: str
    model_versions: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    list_hits: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for JSON, the API and the audit ledger)."""
        return {
            "decision": self.decision,
            "limit": self.limit,
            "apr": self.apr,
            "term": self.term,
            "reasons": list(self.reasons),
            "trace": list(self.trace),
            "strategy": self.strategy,
            "version": self.version,
            "model_versions": dict(self.model_versions),
            "values": dict(self.values),
            "list_hits": list(self.list_hits),
        }


class Strategy:
    """A decision strategy compiled once from YAML; run online, in batch or in simulation.

    Examples
    --------
    >>> s = Strategy.from_yaml('''
    ... strategy: tiny
    ... version: "1"
    ... inputs: {age: {type: int, min: 0, max: 120}, income: {type: float, min: 0}}
    ... flow:
    ...   - rules:
    ...       rules:
    ...         - {name: young, when: "age < 18", action: decline, reason: KO_AGE}
    ...   - assign: {set: {limit: "min(income * 3, 50000)", apr: "0.18"}}
    ... ''')
    >>> s.decide({"age": 30, "income": 8000.0}).limit
    24000.0
    >>> s.decide({"age": 16, "income": 8000.0}).reasons
    ['KO_AGE']
    """

    def __init__(self, compiled: Compiled, source: str = "<string>"):
        self._c = compiled
        self.source = source
        self.text = compiled.text  # the YAML the strategy was compiled from
        self.name = compiled.name
        self.version = compiled.version
        self.inputs: list[InputSpec] = compiled.inputs
        self.outputs = list(compiled.outputs)
        self.model_versions = {m.name: m.version for m in compiled.models.values()}
        #: what a model step does with a value its model never saw: missing, refer or reject
        self.unseen = compiled.unseen
        # the provider's lists the strategy looks up when deciding (``provided:``)
        self.provided_lists: list[str] = sorted(set(compiled.provided.values()))
        #: inputs the look-ups answer when deciding (``provided: fraud:ring_size``): name -> feature
        self.provided_inputs: dict[str, str] = dict(getattr(compiled, "provided_inputs", {}))
        self._provided_names = tuple(dict.fromkeys(self.provided_inputs.values()))
        self._sent = [i for i in self.inputs if i.name not in self.provided_inputs]
        self._looked = [i for i in self.inputs if i.name in self.provided_inputs]
        self._steps = [s.online() for s in compiled.steps]
        self._init = dict.fromkeys(compiled.variables)
        self._value_names = list(compiled.outputs)
        self._fast = fast_checks(self._sent if self._provided_names else self.inputs)
        self._fast_looked = fast_checks(self._looked)
        self.caps: dict[str, float] = dict(getattr(compiled, "caps", {}))
        self.texts: Texts = getattr(compiled, "texts", None) or Texts()
        self._catalogue: ReasonCatalogue | None = None
        # the online check's bounds: finite, within the declared caps, a term of 32 bits
        self._hi = (
            min(_FMAX, self.caps.get("limit", _FMAX)),
            min(_FMAX, self.caps.get("apr", _FMAX)),
            min(TERM_MAX, self.caps.get("term", TERM_MAX)),
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(
        cls,
        path: str | Path,
        models: ModelRegistry | None = None,
        lists: Mapping[str, Any] | None = None,
        files: FileAccess | None = None,
    ) -> Strategy:
        """Read, check and compile a strategy file.

        ``models`` resolves the ``models:`` section before any artefact ``path``; ``lists``
        replaces the contents of declared lists (e.g. today's blacklist from a database).
        ``files`` says what ``file:`` lists and ``path:`` models may read (by default any
        regular file of at most 16 MiB, relative paths next to the strategy file; the strategy
        file itself obeys the same size limit).

        Raises
        ------
        StrategyError
            Naming the file, the line and the problem (unknown variable, type mismatch, table
            gap or overlap, missing model ...).
        """
        path = Path(path)
        files = files if files is not None else FileAccess.anywhere(path.parent)
        text = read_source(path, max(files.max_bytes, 1))
        doc = loads_yaml(text, str(path))
        compiled = compile_strategy(doc, str(path), models, files, dict(lists or {}))
        compiled.text = text
        compiled.caps = parse_caps(doc, str(path))  # type: ignore[attr-defined]
        compiled.texts = parse_texts(  # type: ignore[attr-defined]
            doc, str(path), [s.name for s in compiled.inputs]
        )
        return cls(compiled, str(path))

    @classmethod
    def from_yaml(
        cls,
        text: str,
        models: ModelRegistry | None = None,
        base: str | Path = ".",
        lists: Mapping[str, Any] | None = None,
        files: FileAccess | None = None,
    ) -> Strategy:
        """Compile a strategy from YAML text.

        ``files`` says what ``file:`` lists and ``path:`` models may read; by default any
        regular file of at most 16 MiB, relative paths resolved against ``base``. Give
        ``FileAccess.none()`` for text you did not write (the service does for uploads).
        """
        doc = loads_yaml(text, "<string>")
        files = files if files is not None else FileAccess.anywhere(base)
        compiled = compile_strategy(doc, "<string>", models, files, dict(lists or {}))
        compiled.text = text
        compiled.caps = parse_caps(doc, "<string>")  # type: ignore[attr-defined]
        compiled.texts = parse_texts(  # type: ignore[attr-defined]
            doc, "<string>", [s.name for s in compiled.inputs]
        )
        return cls(compiled)

    def _default_lookups(self) -> Provider:
        """The look-ups without a provider: empty provided lists and, when the strategy has
        fraud inputs, a fresh fraud source (one decision: the application alone; a batch: the
        frame is the history)."""
        if not self._provided_names:
            return NO_LOOKUPS
        return Lookups({"list": HashedLists.empty(), "fraud": FraudSource(clock=_utc_now)})

    # ------------------------------------------------------------------ online
    def decide(self, application: Mapping[str, Any], lookups: Provider | None = None) -> Decision:
        """Decide one application.

        ``lookups`` answers the checks of provided lists (the service passes its store's lists,
        batch and simulation a file's or a frame's: :mod:`creditfactory.fraud`); without it
        every provided list is empty.

        Raises
        ------
        InputError
            A declared input is missing, null, mistyped or out of range (the message names it).
        OutputError
            The flow gave a limit or APR that is not finite, or a term beyond 32 bits (names
            the output; in batch such a row is ``refer`` with reason ``INVALID_OUTPUT``).
        """
        env = self._init.copy()
        if lookups is None:
            lookups = self._default_lookups()
        if self._provided_names:  # the sent inputs first, then the looked-up ones
            validate_row(self._sent, application, env, self._fast)
            found = lookups.row(self._provided_names, application)
            looked = {i: found[f] for i, f in self.provided_inputs.items()}
            validate_row(self._looked, looked, env, self._fast_looked)
        else:
            validate_row(self.inputs, application, env, self._fast)
        run = Run(lookups)
        for step in self._steps:
            step(env, run)
            if run.stop:
                break
        if run.stop:
            return Decision(
                "decline", None, None, None, run.codes() + run.model_codes(), run.trace,
                self.name, self.version, self.model_versions,
                {k: env[k] for k in self._value_names}, run.hits,
            )  # fmt: skip
        decision = "refer" if run.refer else "approve"
        reasons = run.reasons + run.model_codes() if run.refer else run.reasons
        limit, apr, term = env["limit"], env["apr"], env["term"]
        hi_limit, hi_apr, hi_term = self._hi
        if not (
            (limit is None or -_FMAX <= limit <= hi_limit)
            and (apr is None or -_FMAX <= apr <= hi_apr)
            and (term is None or 0 <= term <= hi_term)
        ):  # NaN fails the range tests too
            problems = output_problems(limit, apr, term, self.caps)
            text = "; ".join(f"{n}: {p}" for n, p in problems)
            raise OutputError(
                f"the strategy's outputs are not a loan: {text}", [n for n, _ in problems]
            )
        return Decision(
            decision, limit, apr, term, reasons, run.trace,
            self.name, self.version, self.model_versions,
            {k: env[k] for k in self._value_names}, run.hits,
        )  # fmt: skip

    # ------------------------------------------------------------------ batch
    def decide_batch(self, frame: Any, lookups: Provider | None = None) -> Any:
        """Decide every row of a frame (Polars or pandas), vectorised; one output row per input.

        ``lookups`` answers the provided lists' checks, as in :meth:`decide`. Columns: the
        ``key`` input (when declared), ``decision``, ``limit``, ``apr``, ``term``, ``reasons``
        (list of codes), ``trace`` (list of steps), ``list_hits`` (only when the strategy has
        provided lists: ``list:field`` of each hit), ``error`` (null, or the input
        problems of a row, which is then ``refer`` with reason ``INVALID_INPUT``), the declared
        ``outputs``, ``strategy`` and ``version``. Returns the same kind of frame it was given.
        """
        is_pandas = not isinstance(frame, pl.DataFrame | pl.LazyFrame)
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        elif is_pandas:
            try:
                frame = pl.from_pandas(frame)
            except Exception as exc:  # pragma: no cover - pyarrow conversion failure
                raise DataError(f"cannot convert the frame to Polars: {exc}") from exc
        out = self._batch(frame, lookups=lookups)
        return out.to_pandas() if is_pandas else out

    def iter_steps(self) -> list[Any]:
        """Every compiled step, arms of splits included, in flow order."""
        out: list[Any] = []

        def walk(steps: list[Any]) -> None:
            for step in steps:
                out.append(step)
                for _, _, arm_steps in getattr(step, "arms", []):
                    walk(arm_steps)

        walk(self._c.steps)
        return out

    @property
    def pd_variable(self) -> str | None:
        """The variable bound to the first model's probability of bad, if any."""
        for step in self.iter_steps():
            if isinstance(step, ModelStep):  # the one kind of step that binds
                pd_var = step.binds.get("pd")
                if pd_var is not None:
                    return pd_var
        return None

    def simulate(self, history: Any, against: Strategy | None = None, **options: Any) -> Any:
        """Back-test on history with known outcomes; see :func:`simulate_strategy` (its
        ``lookups`` answers the provided lists, as in :meth:`decide`).

        ``history`` is a simulated ``Portfolio`` (true and lender-observed figures; the
        incumbent policy is the comparison when ``against`` is None) or a frame of applications
        with a ``bad`` column. Returns a :class:`SimulationReport`.
        """
        from creditfactory.decision._simulate import simulate_strategy

        return simulate_strategy(self, history, against, **options)

    def _batch(
        self, frame: pl.DataFrame, extra: list[str] | None = None, lookups: Provider | None = None
    ) -> pl.DataFrame:
        if lookups is None:
            lookups = self._default_lookups()
        if self._provided_names:  # provided inputs: looked up over the whole frame
            found = lookups.frame(self._provided_names, frame)
            frame = frame.with_columns(
                found.get_column(f).alias(i) for i, f in self.provided_inputs.items()
            )
        valid, error = validate_frame(self.inputs, frame)
        plan = BatchPlan({v: PL_DTYPES[t.kind] for v, t in self._c.variables.items()})
        plan.lookups = lookups
        for step in self._c.steps:
            step.batch(plan, pl.lit(True))
        init = [pl.lit(None, dtype=plan.dtypes[v]).alias(v) for v in self._c.variables]
        df = valid.with_columns(
            *init,
            error,
            pl.lit(False).alias("__stop"),
            pl.lit(False).alias("__refer"),
            error.is_not_null().alias("__err"),
        )
        lf = df.lazy()
        for kind, op in plan.ops:
            # "frame" ops (model scoring, hashing) need the materialised frame
            lf = lf.with_columns(op) if kind == "cols" else op(lf.collect()).lazy()
        return self._final(lf.collect(), plan, extra or [])

    def _final(self, df: pl.DataFrame, plan: BatchPlan, extra: list[str]) -> pl.DataFrame:
        df = _check_outputs(df, self.caps)
        err, stop, refer = pl.col("__err"), pl.col("__stop"), pl.col("__refer")
        decision = (
            pl.when(err | pl.col("__bad")).then(pl.lit("refer"))
            .when(stop).then(pl.lit("decline"))
            .when(refer).then(pl.lit("refer"))
            .otherwise(pl.lit("approve"))
        )  # fmt: skip
        entries: list[tuple[str, str | pl.Expr]] = [
            *plan.declines, *plan.reasons, ("__err", INVALID_INPUT), ("__bad", INVALID_OUTPUT),
        ]  # fmt: skip
        tails = []
        if plan.model_reasons:  # the models' reasons follow when the decision is not approve
            not_approved = df.select(pl.col("__stop") | pl.col("__refer")).to_series()
            tails = [
                _model_reasons(df, g, not_approved, model, select, n)
                for g, model, select, n in plan.model_reasons
            ]
        reasons = lists_by_pattern(df, entries, "reasons", tails)
        trace = lists_by_pattern(df, list(plan.trace), "trace")
        hits = [] if not plan.hits else [pl.lit(lists_by_pattern(df, list(plan.hits), "list_hits"))]
        kept = ~stop & ~err & ~pl.col("__bad")
        cols = [] if self._c.key is None else [pl.col(self._c.key)]
        cols += [
            decision.alias("decision"),
            pl.when(kept).then(pl.col("limit")).alias("limit"),
            pl.when(kept).then(pl.col("apr")).alias("apr"),
            pl.when(kept).then(pl.col("term")).alias("term"),
            pl.lit(reasons).alias("reasons"),
            pl.lit(trace).alias("trace"),
            *[h.alias("list_hits") for h in hits],
            pl.col("error"),
            *[pl.col(v) for v in dict.fromkeys([*self.outputs, *extra]) if v != self._c.key],
            pl.lit(self.name).alias("strategy"),
            pl.lit(self.version).alias("version"),
        ]
        return df.select(cols)

    # ------------------------------------------------------------------ description
    def warnings(self) -> list[str]:
        """What is valid but unwise: each numeric input without a ``min`` or a ``max`` (any
        finite number, up to 1.8e308, then reaches the formulas: an absurd income approved at
        the product cap). ``strategy check`` prints these.

        >>> Strategy.from_yaml(
        ...     "strategy: x\\nversion: '1'\\ninputs: {age: {type: int, min: 18}}\\nflow: []"
        ... ).warnings()
        ["input 'age' has no max: declare a realistic one"]
        """
        out = []
        for spec in self.inputs:
            if spec.kind not in ("int", "float") or spec.values is not None:
                continue
            missing = [k for k, v in (("min", spec.minimum), ("max", spec.maximum)) if v is None]
            if missing:
                what = " or ".join(missing)
                out.append(f"input {spec.name!r} has no {what}: declare a realistic one")
        return out

    def reason_texts(self) -> dict[str, str]:
        """What each reason code this strategy can give stands for (code -> text)."""
        texts: dict[str, str] = {}
        for step in self.iter_steps():
            if step.kind in ("rules", "lists"):
                for r in step.rules if step.kind == "rules" else step.checks:
                    if r.reason:
                        what = r.text if r.name == r.text else f"{r.name}: {r.text}"
                        texts.setdefault(r.reason, f"{step.name}: {what}")
            elif step.kind == "table":
                for row, shown, line in zip(step.rows, step.shown, step.lines, strict=True):
                    if row.get("reason"):
                        texts.setdefault(row["reason"], f"{step.name} (line {line}): {shown}")
                if step.default.get("reason"):
                    texts.setdefault(step.default["reason"], f"{step.name}: no row matched")
            elif step.kind == "model":
                for code, text in getattr(step.model, "reason_texts", {}).items():
                    texts.setdefault(code, f"{step.model.name}: {text}")
        texts.setdefault(INVALID_INPUT, "the application does not match the declared inputs")
        if self.unseen == "refer":
            texts.setdefault(UNSEEN_REASON, UNSEEN_TEXT)
        return texts

    def reason_catalogue(self) -> ReasonCatalogue:
        """The texts of this strategy's reason codes in English and Chinese (built once)."""
        if self._catalogue is None:
            staff = self.reason_texts()  # what each code stands for, for staff
            rules: dict[str, tuple[str, str]] = {}
            for step in self.iter_steps():
                if step.kind in ("rules", "lists"):
                    kind = "rule" if step.kind == "rules" else "list"
                    checks = getattr(step, "rules", None) or getattr(step, "checks", [])
                    for r in checks:
                        if r.reason:
                            rules.setdefault(r.reason, (kind, staff.get(r.reason, r.reason)))
                elif step.kind == "table":
                    for row in step.rows:
                        if row.get("reason"):
                            code = row["reason"]
                            rules.setdefault(code, ("rule", staff.get(code, code)))
                    if step.default.get("reason"):
                        rules.setdefault(step.default["reason"], ("no_match", step.name))
            models = [(s.model, s.features) for s in self.iter_steps() if isinstance(s, ModelStep)]
            self._catalogue = ReasonCatalogue(rules, self.texts, models)
        return self._catalogue

    def explain_reasons(
        self,
        decision: Decision | list[str],
        application: Mapping[str, Any] | None = None,
        lang: str = DEFAULT_LANG,
    ) -> tuple[list[ReasonText], list[ReasonText]]:
        """``(explanations, adverse_action)`` of a decision (or its reason codes): every code
        with its text in ``lang`` (``en`` or ``zh-CN``) and, from the application's values, what
        each model reason cost; then the at most four reasons the applicant may be told.

        >>> s = Strategy.from_yaml(
        ...     "strategy: x\\nversion: '1'\\ninputs: {age: int}\\n"
        ...     "reasons: {KO: {en: 'Age {age} is under 18', zh-CN: '年龄{age}岁，未满18岁'}}\\n"
        ...     "flow:\\n"
        ...     "  - rules: {rules: [{name: young, when: 'age < 18', action: decline, reason: KO}]}"
        ... )
        >>> every, told = s.explain_reasons(s.decide({"age": 16}), {"age": 16}, "zh-CN")
        >>> told[0].text
        '年龄16岁，未满18岁'
        """
        codes = decision.reasons if isinstance(decision, Decision) else list(decision)
        catalogue = self.reason_catalogue()
        every = catalogue.explain(codes, application, lang)
        return every, catalogue.adverse_action(every, lang) if codes else []

    def with_reason_texts(self, lang: str = DEFAULT_LANG) -> Any:
        """This strategy, with ``decide_batch`` adding ``reason_texts`` (each row's reasons as
        texts in ``lang``): give it to ``creditfactory.batch.decide_file`` for scored files
        people can read (``creditfactory batch decide --lang``).

        >>> s = Strategy.from_yaml(
        ...     "strategy: x\\nversion: '1'\\ninputs: {age: int}\\n"
        ...     "reasons: {KO: {en: 'Age {age} is under 18'}}\\nflow:\\n"
        ...     "  - rules: {rules: [{name: young, when: 'age < 18', action: decline, reason: KO}]}"
        ... )
        >>> import polars as pl
        >>> out = s.with_reason_texts().decide_batch(pl.DataFrame({"age": [16, 30]}))
        >>> out["reason_texts"].to_list()
        [['Age 16 is under 18'], []]
        """
        from creditfactory.decision._reason_text import TextedStrategy

        return TextedStrategy(self, lang)

    def explain(self, decision: Decision) -> list[tuple[str, str]]:
        """Each reason code of ``decision`` with what it stands for, in order.

        >>> s = Strategy.from_yaml(
        ...     "strategy: x\\nversion: '1'\\ninputs: {age: int}\\nflow:\\n"
        ...     "  - rules: {rules: [{name: young, when: 'age < 18', action: decline, reason: KO}]}"
        ... )
        >>> s.explain(s.decide({"age": 16}))
        [('KO', 'rules_1: young: age < 18')]
        """
        texts = self.reason_texts()
        return [(code, texts.get(code, "")) for code in decision.reasons]

    def outline(self) -> tuple[str, list[Any]]:
        """The flow as ``(label, children)`` for display (the CLI draws it as a tree)."""
        inputs = [
            f"{s.name}: {s.type}"
            + (
                f" in [{s.minimum:g}, {s.maximum:g}]"
                if s.minimum is not None and s.maximum is not None
                else ""
            )
            + (
                f" (provided: {self.provided_inputs[s.name]}, looked up when deciding)"
                if s.name in self.provided_inputs
                else ""
            )
            for s in self.inputs
        ]
        kids: list[Any] = [(f"inputs ({len(inputs)})", inputs)]
        if self._c.lists or self._c.provided:
            kids.append(
                (
                    "lists",
                    [f"{k}: {len(v.values)} {v.kind} items" for k, v in self._c.lists.items()]
                    + [
                        f"{k}: provided ({v}, looked up when deciding)"
                        for k, v in self._c.provided.items()
                    ],
                )
            )
        if self._c.constants:
            kids.append(("params", [f"{k} = {v!r}" for k, v in self._c.constants.items()]))
        kids.append(("flow", [s.outline() for s in self._c.steps]))
        if self.outputs:
            kids.append(("outputs", list(self.outputs)))
        return f"strategy {self.name} v{self.version}", kids

    def __repr__(self) -> str:
        return f"Strategy({self.name!r}, version={self.version!r}, steps={len(self._steps)})"


def _check_outputs(df: pl.DataFrame, caps: Mapping[str, float]) -> pl.DataFrame:
    """``df`` with ``__bad`` (the row's limit, APR or term is not a loan's, as
    :func:`output_problems` says online) and those problems in ``error``."""
    live = ~pl.col("__stop") & ~pl.col("__err")
    parts: list[pl.Expr] = []
    for name in ("limit", "apr", "term"):
        if name == "term":
            x = pl.col("term").cast(pl.Int64)
            broken, what = (x < 0) | (x > TERM_MAX), f"outside 0 .. {TERM_MAX}"
        else:
            x = pl.col(name).cast(pl.Float64)
            broken, what = ~x.is_finite(), NOT_FINITE
        flagged = pl.when((live & broken).fill_null(False)).then(pl.lit(f"{name}: {what}"))
        if name in caps:
            above = (live & ~broken & (x > caps[name])).fill_null(False)
            text = pl.lit(f"{name}: above the cap {caps[name]:g}")
            parts.append(flagged.when(above).then(text))
        else:
            parts.append(flagged)
    text = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return df.with_columns(
        (text != "").fill_null(False).alias("__bad"),
        pl.when(text != "").then(text).otherwise(pl.col("error")).alias("error"),
    )


CAPPED = ("limit", "apr", "term")


def parse_caps(doc: Any, source: str) -> dict[str, float]:
    """The strategy's ``caps:`` (``{limit: 500000, apr: 0.24, term: 60}``): the most it may
    ever give; above is an error for that application, not an approval.

    Raises
    ------
    StrategyError
        An unknown output, or a cap that is not a non-negative finite number.
    """
    raw = doc.get("caps") if isinstance(doc, Mapping) else None
    if raw is None:
        return {}
    line_of = getattr(doc, "line_of", lambda _: 0)
    if not isinstance(raw, Mapping):
        raise StrategyError(f"{source}:{line_of('caps')}: caps: expected a mapping")
    out: dict[str, float] = {}
    for name, value in raw.items():
        line = getattr(raw, "line_of", lambda _: line_of("caps"))(name)
        if name not in CAPPED:
            raise StrategyError(
                f"{source}:{line}: caps: {name!r} is not one of {', '.join(CAPPED)}"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (0 <= value < math.inf)
        ):
            raise StrategyError(
                f"{source}:{line}: caps: {name} must be a non-negative number, got {value!r}"
            )
        out[name] = value
    return out


def _bounds(spec: InputSpec) -> str:
    parts = []
    if spec.minimum is not None:
        parts.append(f">= {spec.minimum:g}")
    if spec.maximum is not None:
        parts.append(f"<= {spec.maximum:g}")
    if spec.values is not None:
        parts.append(f"one of {len(spec.values)} values")
    return f" ({', '.join(parts)})" if parts else ""


def _model_reasons(
    df: pl.DataFrame, guard: str, not_approved: pl.Series, model: Any, select: list[pl.Expr], n: int
) -> tuple[np.ndarray, pl.Series]:
    """The model's reason codes for rows it scored that end declined or referred, none
    elsewhere: ``(codes per row, the codes of all rows in row order)``."""
    mask = df[guard] & not_approved
    rows = mask.arg_true()
    counts = np.zeros(df.height, dtype=np.int64)
    if rows.len() == 0:
        return counts, pl.Series("", [], dtype=pl.String)
    # scored on the model's columns of those rows only; every other row has no codes, and the
    # rows come in order, so the codes are already in place
    sub = model.score_frame(df.select(select)[rows], n)["reasons"]
    counts[rows.to_numpy()] = sub.list.len().to_numpy()
    arr = sub.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return counts, pl.Series("", arr.flatten()).cast(pl.String)


def _utc_now() -> datetime:
    """The arrival time of an application that gives none (as the service stamps it)."""
    return datetime.now(UTC).replace(tzinfo=None)
