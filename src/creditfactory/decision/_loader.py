"""From a strategy's YAML to compiled steps; errors name the file, the line and the problem.

``file:`` lists and ``path:`` models read only what the :class:`FileAccess` given allows (nothing
for a strategy uploaded to the service); errors name the reference as written, never a resolved
path, and never echo a list file's content.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import stat
from dataclasses import dataclass, field
from typing import Any

from creditfactory.decision._domain import model_schema
from creditfactory.decision._expr import Expression
from creditfactory.decision._expr_parse import KEYWORDS, ExpressionError
from creditfactory.decision._expr_types import NamedList, Type, literal_type, unify
from creditfactory.decision._files import FileAccess, FileRefusedError
from creditfactory.decision._inputs import InputSpec
from creditfactory.decision._model_inputs import parse_unseen, type_problem
from creditfactory.decision._models import DecisionModel, ModelRegistry, PointsModel, load_model
from creditfactory.decision._steps import (
    DECLINE,
    NONE,
    REFER,
    AssignStep,
    ListCheck,
    ListsStep,
    ModelStep,
    Rule,
    RulesStep,
    SplitStep,
    Step,
    TableStep,
)
from creditfactory.decision._table import Dim, Lookup, TableError, build_cells, parse_cell
from creditfactory.decision._yaml import LDict, LList
from creditfactory.exceptions import ArtefactError, CreditFactoryError, StrategyError
from creditfactory.fraud import list_feature

OUTPUT_TYPES = {"limit": Type("float", True), "apr": Type("float", True), "term": Type("int", True)}
RESERVED = frozenset({"decision", "reasons", "trace", "error", "strategy", "version"})
TOP_KEYS = frozenset(
    {"strategy", "version", "description", "inputs", "key", "lists", "params", "models", "flow",
     "outputs", "caps", "unseen", "reasons", "labels"}
)  # fmt: skip
KINDS = ("int", "float", "bool", "str")
# what a malformed document may raise deep in the compiler; it becomes a StrategyError
_MALFORMED = (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError)


def brief(value: Any) -> str:
    """A short text for ``value`` in an error message: a scalar's repr (cut at 60 characters),
    or what kind of thing it is (a nested value may be huge, or an alias of itself)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a number"
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


@dataclass
class Compiled:
    name: str
    version: str
    description: str
    inputs: list[InputSpec]
    key: str | None
    lists: dict[str, NamedList]
    constants: dict[str, Any]
    models: dict[str, Any]
    steps: list[Step]
    variables: dict[str, Type]
    outputs: list[str]
    scope: dict[str, Type] = field(default_factory=dict)
    text: str = ""
    unseen: str = "missing"  # the policy for values a model never saw (_model_inputs)
    # lists looked up at decision time: declared name -> the provider's list name
    provided: dict[str, str] = field(default_factory=dict)
    # inputs looked up at decision time: input name -> the look-ups' feature name
    provided_inputs: dict[str, str] = field(default_factory=dict)


class Ctx:
    def __init__(self, source: str):
        self.source = source
        self.scope: dict[str, Type] = {}
        self.inputs: set[str] = set()
        self.lists: dict[str, NamedList] = {}
        self.provided: dict[str, str] = {}  # provided list -> the provider's list name
        self.provided_inputs: dict[str, str] = {}  # input -> the look-ups' feature name
        self.constants: dict[str, Any] = {}
        self.models: dict[str, Any] = {}
        self.variables: dict[str, Type] = dict(OUTPUT_TYPES)
        self.step_names: set[str] = set()
        self.unseen = "missing"  # the strategy's policy for values a model never saw

    def err(self, line: int, msg: str) -> StrategyError:
        return StrategyError(f"{self.source}:{line}: {msg}")

    def expr(self, text: Any, line: int, what: str) -> Expression:
        if isinstance(text, bool | int | float):
            text = str(text).lower() if isinstance(text, bool) else repr(text)
        if not isinstance(text, str):
            raise self.err(line, f"{what}: expected an expression, got {type(text).__name__}")
        try:
            return Expression(text, self.scope, self.lists, self.constants)
        except ExpressionError as exc:
            raise self.err(
                line, f"{what}: {exc} (in {brief(text)} at column {exc.pos + 1})"
            ) from None
        except RecursionError:
            raise self.err(line, f"{what}: the expression nests too deeply") from None

    def name(self, value: Any, line: int, what: str) -> str:
        if not isinstance(value, str) or not value.isidentifier() or value in KEYWORDS:
            raise self.err(line, f"{what}: {brief(value)} is not a valid name")
        if value.startswith("__"):
            raise self.err(line, f"{what}: names starting with '__' are reserved")
        return value

    def define(self, var: str, t: Type, line: int) -> bool:
        """Declare or re-assign a derived variable; returns True when ints go into a float."""
        self.name(var, line, "variable")
        if var in self.inputs or var in self.constants or var in RESERVED:
            raise self.err(line, f"cannot assign {var!r}: it is an input, a param or reserved")
        old = self.variables.get(var)
        fits = old is None or old.kind == t.kind or (old.kind, t.kind) == ("float", "int")
        if old is not None and not fits and t.kind != "null":
            raise self.err(line, f"type mismatch: {var!r} is {old.kind}, cannot assign {t}")
        kind = old.kind if old is not None else t.kind
        if kind == "null":
            raise self.err(line, f"cannot infer the type of {var!r} from null")
        self.variables[var] = Type(kind, True)
        self.scope[var] = Type(kind, t.nullable)
        return kind == "float" and t.kind == "int"


def _kind(value: Any) -> str | None:
    """The type of a literal list or input value (None for anything else: a list, a mapping)."""
    if value is None or isinstance(value, bool | int | float | str):
        return literal_type(value).kind
    return None


def _mapping(ctx: Ctx, value: Any, line: int, what: str) -> LDict:
    if not isinstance(value, dict):
        raise ctx.err(getattr(value, "line", line), f"{what}: expected a mapping")
    return value  # type: ignore[return-value]


def _seq(ctx: Ctx, value: Any, line: int, what: str) -> LList:
    if not isinstance(value, list):
        raise ctx.err(getattr(value, "line", line), f"{what}: expected a list")
    return value  # type: ignore[return-value]


def _keys(ctx: Ctx, m: LDict, allowed: set[str], required: set[str], what: str) -> None:
    for k in m:
        if k not in allowed:
            raise ctx.err(
                m.line_of(k), f"{what}: unknown key {brief(k)} (allowed: {sorted(allowed)})"
            )
    for k in sorted(required - set(m)):
        raise ctx.err(m.line, f"{what}: missing key {k!r}")


def compile_strategy(
    doc: Any,
    source: str,
    registry: ModelRegistry | None,
    files: FileAccess,
    lists: dict[str, Any] | None = None,
) -> Compiled:
    """Compile a parsed strategy document; ``files`` says what ``file:`` / ``path:`` may read.

    Raises
    ------
    StrategyError
        Naming the source, the line and the problem, whatever the document holds.
    """
    try:
        return _compile(doc, source, registry, files, lists)
    except StrategyError:
        raise
    except RecursionError:
        raise StrategyError(f"{source}: the strategy nests too deeply") from None
    except _MALFORMED as exc:  # a shape the checks above did not foresee: still the author's
        raise StrategyError(f"{source}: malformed strategy ({type(exc).__name__})") from None


def _text(ctx: Ctx, doc: LDict, key: str, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, dt.date):  # an unquoted date is a fine version
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        raise ctx.err(doc.line_of(key), f"{key}: expected a text, got {brief(value)}")
    return str(value)


def _compile(
    doc: Any,
    source: str,
    registry: ModelRegistry | None,
    files: FileAccess,
    lists: dict[str, Any] | None,
) -> Compiled:
    ctx = Ctx(source)
    doc = _mapping(ctx, doc, 1, "strategy file")
    _keys(ctx, doc, set(TOP_KEYS), {"strategy", "version", "inputs", "flow"}, "strategy")
    name, version = _text(ctx, doc, "strategy"), _text(ctx, doc, "version")
    description = _text(ctx, doc, "description", required=False)
    _inputs(ctx, _mapping(ctx, doc["inputs"], doc.line_of("inputs"), "inputs"))
    specs = ctx.input_specs  # type: ignore[attr-defined]
    key = doc.get("key")
    if key is not None and (not isinstance(key, str) or key not in ctx.inputs):
        raise ctx.err(doc.line_of("key"), f"key: {brief(key)} is not a declared input")
    params = _mapping(ctx, doc.get("params") or LDict(), doc.line_of("params"), "params")
    for pname, raw in params.items():
        line = params.line_of(pname)
        ctx.name(pname, line, "params")
        if raw is None or not isinstance(raw, bool | int | float | str):
            raise ctx.err(line, f"params: {pname!r} must be a number, string or bool")
        if pname in ctx.inputs:
            raise ctx.err(line, f"params: {pname!r} is also an input")
        ctx.constants[pname] = raw
    _lists(ctx, _mapping(ctx, doc.get("lists") or LDict(), doc.line_of("lists"), "lists"), files)
    for lname, values in (lists or {}).items():  # lists supplied at load time replace the file's
        if lname in ctx.provided:
            raise StrategyError(
                f"{source}: list {lname!r} is provided at decision time (give "
                "its entries to the look-up provider, not to the strategy)"
            )
        if lname not in ctx.lists:
            raise StrategyError(f"{source}: list {lname!r} is not declared under lists")
        items = frozenset(values)
        if any(literal_type(v).kind != ctx.lists[lname].kind for v in items):
            raise StrategyError(
                f"{source}: list {lname!r}: every item must be a {ctx.lists[lname].kind}"
            )
        ctx.lists[lname] = NamedList(ctx.lists[lname].kind, items)
    models = _mapping(ctx, doc.get("models") or LDict(), doc.line_of("models"), "models")
    _models(ctx, models, registry, files)
    ctx.unseen = parse_unseen(doc, source)
    flow = _seq(ctx, doc["flow"], doc.line_of("flow"), "flow")
    steps = _flow(ctx, flow)
    outputs_raw = _seq(ctx, doc.get("outputs") or LList(), doc.line_of("outputs"), "outputs")
    outputs = []
    for i, o in enumerate(outputs_raw):
        if not isinstance(o, str) or o not in ctx.scope or o in ctx.constants:
            raise ctx.err(outputs_raw.item_lines[i], f"outputs: unknown variable {brief(o)}")
        outputs.append(o)
    return Compiled(
        name=name,
        version=version,
        description=description,
        inputs=specs,
        key=key,
        lists=ctx.lists,
        constants=ctx.constants,
        models=ctx.models,
        steps=steps,
        variables=dict(ctx.variables),
        outputs=outputs,
        scope=dict(ctx.scope),
        unseen=ctx.unseen,
        provided=dict(ctx.provided),
        provided_inputs=dict(ctx.provided_inputs),
    )


def _inputs(ctx: Ctx, inputs: LDict) -> None:
    specs = []
    for name, raw in inputs.items():
        line = inputs.line_of(name)
        ctx.name(name, line, "inputs")
        if name in RESERVED or name in OUTPUT_TYPES:
            raise ctx.err(line, f"inputs: {name!r} is a reserved name")
        if isinstance(raw, str):
            raw = LDict(type=raw)
            raw.line, raw.key_lines = line, {}
        raw = _mapping(ctx, raw, line, f"input {name!r}")
        _keys(ctx, raw, {"type", "nullable", "min", "max", "values", "description", "provided"},
              {"type"}, f"input {name!r}")  # fmt: skip
        if "provided" in raw:  # looked up when deciding (a fraud feature, ...), not sent
            feature = raw["provided"]
            if not isinstance(feature, str) or ":" not in feature or feature.startswith("list:"):
                raise ctx.err(
                    raw.line_of("provided"),
                    f"input {name!r}: provided must name a feature of the look-ups "
                    f"(<kind>:<name>, e.g. fraud:ring_size; lists are checked in a lists step)",
                )
            ctx.provided_inputs[name] = feature
        kind = raw["type"]
        if kind not in KINDS:
            raise ctx.err(raw.line_of("type"), f"input {name!r}: type must be one of {KINDS}")
        lo, hi = raw.get("min"), raw.get("max")
        for b, k in ((lo, "min"), (hi, "max")):
            if b is not None and (kind not in ("int", "float") or not isinstance(b, int | float)):
                raise ctx.err(
                    raw.line_of(k), f"input {name!r}: {k} needs a numeric input and value"
                )
        values = raw.get("values")
        if values is not None:
            if not isinstance(values, list) or any(_kind(v) != kind for v in values):
                raise ctx.err(raw.line_of("values"), f"input {name!r}: values must be {kind}s")
            values = frozenset(values)
        nullable = bool(raw.get("nullable", False))
        specs.append(InputSpec(name, kind, nullable, lo, hi, values, line))
        ctx.inputs.add(name)
        ctx.scope[name] = Type(kind, nullable)
    ctx.input_specs = specs  # type: ignore[attr-defined]


def _lists(ctx: Ctx, lists: LDict, files: FileAccess) -> None:
    for name, raw in lists.items():
        line = lists.line_of(name)
        ctx.name(name, line, "lists")
        raw = _mapping(ctx, raw, line, f"list {name!r}")
        _keys(ctx, raw, {"values", "file", "type", "description", "provided"}, set(),
              f"list {name!r}")  # fmt: skip
        if "provided" in raw:  # looked up when deciding: true (same name) or the provider's name
            given = raw["provided"]
            if given is True:
                given = name
            if not isinstance(given, str) or not given.isidentifier():
                raise ctx.err(
                    raw.line_of("provided"),
                    f"list {name!r}: provided must be true "
                    "or the name of a list in the provider (blacklist ...)",
                )
            if set(raw) - {"provided", "description"}:
                raise ctx.err(
                    raw.line_of("provided"),
                    f"list {name!r}: a provided list has no "
                    "values, file or type (its entries come from the provider)",
                )
            ctx.provided[name] = given
            continue
        kind = raw.get("type", "str")
        if kind not in KINDS:
            raise ctx.err(raw.line_of("type"), f"list {name!r}: type must be one of {KINDS}")
        items: list[Any]  # str items, ints for an int file list, any literal from values
        if "file" in raw:
            items = _list_file(ctx, raw, name, kind, files)
        else:
            items = list(_seq(ctx, raw.get("values") or LList(), raw.line_of("values"), "values"))
        if any(_kind(v) != kind for v in items):
            raise ctx.err(raw.line, f"list {name!r}: every item must be a {kind}")
        ctx.lists[name] = NamedList(kind, frozenset(items))


def _list_file(ctx: Ctx, raw: LDict, name: str, kind: str, files: FileAccess) -> list[Any]:
    """The items of a ``file:`` list; errors name the reference as written and a line number,
    never a line's text (a list file may hold identifiers)."""
    line = raw.line_of("file")
    if not files.allowed:  # refused before anything is resolved: the same answer for any path
        raise ctx.err(line, f"list {name!r}: a strategy uploaded to the service cannot read "
                      "files; give the values inline, or keep identifiers in the service's "
                      "hashed lists (/v1/lists)")  # fmt: skip
    ref = raw["file"]
    if not isinstance(ref, str):
        raise ctx.err(line, f"list {name!r}: file must be a text, got {brief(ref)}")
    try:
        text = files.read_text(ref)
    except FileRefusedError as exc:
        raise ctx.err(line, f"list {name!r}: cannot read file {brief(ref)}: {exc.reason}") from None
    items: list[Any] = []
    for number, text_line in enumerate(text.splitlines(), 1):
        item = text_line.strip()
        if not item or item.startswith("#"):
            continue
        if kind == "int":
            try:
                items.append(int(item))
            except ValueError:
                raise ctx.err(line, f"list {name!r}: file {brief(ref)}, line {number}: not an "
                              "int") from None  # fmt: skip
        elif kind == "str":
            items.append(item)
        else:
            raise ctx.err(line, f"list {name!r}: a file list holds str or int items")
    return items


def _models(ctx: Ctx, models: LDict, registry: ModelRegistry | None, files: FileAccess) -> None:
    for alias, raw in models.items():
        line = models.line_of(alias)
        raw = _mapping(ctx, raw, line, f"model {brief(alias)}")
        _keys(ctx, raw, {"name", "version", "path", "description"}, {"version"},
              f"model {brief(alias)}")  # fmt: skip
        name, version = raw.get("name", alias), raw["version"]
        for what, value in (("name", name), ("version", version)):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ctx.err(raw.line_of(what), f"model {brief(alias)}: {what} must be a text")
        name, version = str(name), str(version)
        if registry is not None and (name, version) in registry:
            ctx.models[alias] = registry.get(name, version)
        elif not files.allowed:
            raise ctx.err(line, f"missing model {name}@{version}: not registered; register it "
                          "with POST /v1/models (a strategy uploaded to the service cannot load "
                          "model files)")  # fmt: skip
        elif "path" in raw:
            ctx.models[alias] = _model_file(ctx, raw, name, version, files)
        else:
            raise ctx.err(line, f"missing model {name}@{version}: not registered and no path")


def _model_file(ctx: Ctx, raw: LDict, name: str, version: str, files: FileAccess) -> DecisionModel:
    """Load a ``path:`` model inside what ``files`` allows; errors name the path as written."""
    ref, line = raw["path"], raw.line_of("path")
    what = f"model {name}@{version}"
    if not isinstance(ref, str):
        raise ctx.err(line, f"{what}: path must be a text, got {brief(ref)}")
    try:
        real = files.locate(ref)
        if not stat.S_ISDIR(files.check(real).st_mode):
            spec = json.loads(files.read_bytes(ref))
            if not isinstance(spec, dict):
                raise ArtefactError("not a scoring spec")
            return PointsModel(name, version, spec)
        for entry in real.iterdir():  # what the artefact reader opens must pass the same checks
            files.check(files.locate(str(entry)))
        if (real / "challenger.json").is_file():  # and the model file its metadata names
            meta = json.loads(files.read_bytes(str(real / "challenger.json")))
            files.check(files.locate(str(real / str(meta.get("model_file", "")))))
        return load_model(real, name, version)
    except FileRefusedError as exc:
        raise ctx.err(line, f"{what}: cannot read {brief(ref)}: {exc.reason}") from None
    except (CreditFactoryError, *_MALFORMED) as exc:
        reason = str(exc) if isinstance(exc, CreditFactoryError) else type(exc).__name__
        raise ctx.err(line, f"{what}: cannot load {brief(ref)}: {_no_paths(reason)}") from None


def _no_paths(text: str) -> str:
    """An artefact error's reason without file-system paths (they name the server's disk)."""
    words = [w if "/" not in w and "\\" not in w else "<path>" for w in text.split(" ")]
    return " ".join(words)


STEP_KINDS = ("rules", "lists", "model", "table", "assign", "split")


def _flow(ctx: Ctx, flow: LList) -> list[Step]:
    steps = []
    for i, item in enumerate(flow):
        line = flow.item_lines[i]
        item = _mapping(ctx, item, line, "flow step")
        if len(item) != 1 or next(iter(item)) not in STEP_KINDS:
            raise ctx.err(line, f"a flow step is one of {STEP_KINDS}, got {list(item)}")
        kind = next(iter(item))
        cfg = _mapping(ctx, item[kind], line, f"{kind} step")
        name = ctx.name(cfg.get("name", f"{kind}_{i + 1}"), cfg.line_of("name"), "step name")
        if name in ctx.step_names:
            raise ctx.err(cfg.line_of("name"), f"duplicate step name {name!r}")
        ctx.step_names.add(name)
        steps.append(_BUILDERS[kind](ctx, cfg, name))
    return steps


def _rules(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "rules", "description"}, {"rules"}, f"rules {name!r}")
    rules = []
    seq = _seq(ctx, cfg["rules"], cfg.line_of("rules"), f"rules {name!r}")
    for i, raw in enumerate(seq):
        line = seq.item_lines[i]
        raw = _mapping(ctx, raw, line, "rule")
        allowed = {"name", "when", "action", "reason", "description"}
        _keys(ctx, raw, allowed, {"name", "when", "action", "reason"}, "rule")
        rname = ctx.name(raw["name"], line, "rule name")
        action = raw["action"]
        if action not in (DECLINE, REFER):
            raise ctx.err(raw.line_of("action"), f"rule {rname!r}: action must be decline or refer")
        expr = ctx.expr(raw["when"], raw.line_of("when"), f"rule {rname!r}")
        if expr.type.kind not in ("bool", "null"):
            raise ctx.err(raw.line_of("when"), f"rule {rname!r}: type mismatch: "
                          f"the condition is {expr.type}, not bool")  # fmt: skip
        reason = _reason(ctx, raw, f"rule {rname!r}")
        rules.append(Rule(rname, expr, action, reason, None, line))
    return RulesStep(name, cfg.line, rules)


def _reason(ctx: Ctx, raw: LDict, what: str) -> str:
    """A rule's reason code: text, not empty (``reason: null`` or ``reason: 101`` would reach the
    applicant as ``"None"`` or change type between modes: quote a numeric code)."""
    value = raw["reason"]
    if not isinstance(value, str) or not value.strip():
        hint = " (quote a numeric code: reason: '101')" if isinstance(value, int | float) else ""
        raise ctx.err(raw.line_of("reason"), f"{what}: reason must be a non-empty text{hint}")
    return value


def _list_checks(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "checks", "description"}, {"checks"}, f"lists {name!r}")
    checks = []
    seq = _seq(ctx, cfg["checks"], cfg.line_of("checks"), f"lists {name!r}")
    for i, raw in enumerate(seq):
        line = seq.item_lines[i]
        raw = _mapping(ctx, raw, line, "list check")
        _keys(ctx, raw, {"field", "list", "action", "reason", "bind"}, {"field", "list", "action"},
              "list check")  # fmt: skip
        fld, lst, action = raw["field"], raw["list"], raw["action"]
        if not isinstance(lst, str) or (lst not in ctx.lists and lst not in ctx.provided):
            known = sorted([*ctx.lists, *ctx.provided])
            raise ctx.err(raw.line_of("list"), f"unknown list {brief(lst)} (known: {known})")
        if action not in (DECLINE, REFER, NONE):
            raise ctx.err(
                raw.line_of("action"), "list check: action must be decline, refer or none"
            )
        if action != NONE and "reason" not in raw:
            raise ctx.err(line, "list check: a decline or refer check needs a reason")
        fld = ctx.name(fld, line, "field")
        bind = raw.get("bind")
        reason = _reason(ctx, raw, f"check of {fld!r} in {lst!r}") if "reason" in raw else None
        check = ListCheck(f"{fld} in {lst}", action, reason, bind, line)
        if lst in ctx.provided:  # an identifier of the application, hashed by the provider
            t = ctx.scope.get(fld)
            if fld not in ctx.inputs or t is None or t.kind not in ("str", "int"):
                raise ctx.err(raw.line_of("field"), f"check of {fld!r} in {lst!r}: a provided "
                              "list checks a str or int input")  # fmt: skip
            real = ctx.provided[lst]
            check.feature, check.hit = list_feature(real, fld), f"{real}:{fld}"
        else:
            check.expr = ctx.expr(f"{fld} in {lst}", raw.line_of("field"),
                                  f"check of {fld!r} in {lst!r}")  # fmt: skip
        checks.append(check)
        if bind is not None:
            ctx.define(bind, Type("bool"), raw.line_of("bind"))
    return ListsStep(name, cfg.line, checks)


def _model(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "model", "bind", "reasons", "inputs", "description"},
          {"model", "bind"}, f"model step {name!r}")  # fmt: skip
    alias = cfg["model"]
    if not isinstance(alias, str) or alias not in ctx.models:
        raise ctx.err(
            cfg.line_of("model"), f"missing model {brief(alias)}: not declared under models"
        )
    model = ctx.models[alias]
    renames = cfg.get("inputs") or {}
    features = {}
    for feat, kind in model.features.items():
        var = renames.get(feat, feat)
        if var not in ctx.scope:
            raise ctx.err(cfg.line_of("model"), f"model {alias!r} needs {feat!r}: "
                          f"unknown variable {var!r}")  # fmt: skip
        t = ctx.scope[var]
        schema = (model_schema(model) or {}).get(feat)
        if schema is not None:  # the model says what it was fitted on: the types must match
            problem = type_problem(alias, feat, var, schema, t.kind)
            if problem is not None:
                spec = next((s for s in ctx.input_specs if s.name == var), None)  # type: ignore[attr-defined]
                if spec is None:  # a derived variable: the model step's line says it
                    raise ctx.err(cfg.line_of("model"), problem)
                raise ctx.err(spec.line, f"{problem} (model step {name!r}, line {cfg.line})")
        elif kind == "numeric" and t.kind not in ("int", "float"):
            raise ctx.err(cfg.line_of("model"), f"type mismatch: model {alias!r} needs a number "
                          f"for {feat!r}, {var!r} is {t}")  # fmt: skip
        features[feat] = var
    binds = _mapping(ctx, cfg["bind"], cfg.line_of("bind"), "bind")
    for out, var in binds.items():
        if out not in ("score", "pd"):
            raise ctx.err(binds.line_of(out), f"bind: a model gives 'score' and 'pd', not {out!r}")
        ctx.define(var, Type("float"), binds.line_of(out))
    n = cfg.get("reasons", 4)
    if not isinstance(n, int) or n < 0:
        raise ctx.err(cfg.line_of("reasons"), "reasons: a count of reason codes (>= 0)")
    step = ModelStep(name, cfg.line, model, features, dict(binds), n, alias, ctx.unseen)
    step.stable = all(v in ctx.inputs for v in features.values())
    return step


def _assign(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "set", "description"}, {"set"}, f"assign {name!r}")
    items = []
    sets = _mapping(ctx, cfg["set"], cfg.line_of("set"), "set")
    for var, text in sets.items():
        line = sets.line_of(var)
        expr = ctx.expr(text, line, f"{var!r}")
        to_float = ctx.define(var, expr.type, line)
        items.append((var, expr, to_float))
    return AssignStep(name, cfg.line, items)


def _table(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "dimensions", "rows", "default", "description"},
          {"dimensions", "rows"}, f"table {name!r}")  # fmt: skip
    dims = []
    dcfg = _mapping(ctx, cfg["dimensions"], cfg.line_of("dimensions"), "dimensions")
    for dname, raw in dcfg.items():
        line = dcfg.line_of(dname)
        if not isinstance(raw, dict):
            raw = LDict(expr=raw)
            raw.line, raw.key_lines = line, {}
        _keys(ctx, raw, {"expr", "domain", "values"}, {"expr"}, f"dimension {dname!r}")
        expr = ctx.expr(raw["expr"], raw.line_of("expr"), f"dimension {dname!r}")
        numeric = expr.type.kind in ("int", "float")
        dim = Dim(dname, expr, numeric)
        if numeric:
            domain = raw.get("domain", [None, None])
            if (
                not isinstance(domain, list)
                or len(domain) != 2
                or any(isinstance(b, bool) or not isinstance(b, int | float | None) for b in domain)
            ):
                raise ctx.err(raw.line_of("domain"), f"dimension {brief(dname)}: domain must be "
                              "[low, high], numbers or null")  # fmt: skip
            lo, hi = domain
            dim.domain = (
                -math.inf if lo is None else float(lo),
                math.inf if hi is None else float(hi),
            )
        else:
            values = raw.get("values")
            if values is None and isinstance(expr.node, object) and expr.text in ctx.inputs:
                spec = next(s for s in ctx.input_specs if s.name == expr.text)  # type: ignore[attr-defined]
                values = sorted(spec.values) if spec.values else None
            if not values:
                raise ctx.err(line, f"dimension {dname!r}: a categorical dimension needs values")
            dim.values = list(values)
        dims.append(dim)
    seq = _seq(ctx, cfg["rows"], cfg.line_of("rows"), "rows")
    conds, rows, lines = [], [], []
    for i, raw in enumerate(seq):
        line = seq.item_lines[i]
        raw = _mapping(ctx, raw, line, "table row")
        try:
            conds.append(([parse_cell(d, raw.get(d.name), line) for d in dims], line))
        except TableError as exc:
            raise ctx.err(exc.line, f"table {name!r}: {exc}") from None
        outs = {k: v for k, v in raw.items() if k not in dcfg}
        for k in outs:  # a misspelt dimension would silently become an output
            close = difflib.get_close_matches(str(k), list(dcfg), n=1, cutoff=0.75)
            if close:
                raise ctx.err(raw.line_of(k), f"table {name!r}: {k!r} is not a dimension "
                              f"(did you mean {close[0]!r}?)")  # fmt: skip
        rows.append(outs)
        lines.append(line)
    default = dict(
        _mapping(ctx, cfg["default"], cfg.line_of("default"), "default")
        if cfg.get("default")
        else {"decision": REFER, "reason": f"{name.upper()}_NO_MATCH"}
    )
    try:
        cells = build_cells(dims, conds)
    except TableError as exc:
        raise ctx.err(exc.line or cfg.line_of("rows"), f"table {name!r}: {exc}") from None
    outputs: dict[str, Type] = {}
    for r, line in zip([*rows, default], [*lines, cfg.line_of("default")], strict=True):
        for k, v in r.items():
            t = literal_type(v)
            if isinstance(v, dict | list):
                raise ctx.err(line, f"table {name!r}: output {k!r} must be a literal")
            if k == "decision" and v not in (None, "approve", DECLINE, REFER):
                raise ctx.err(line, f"table {name!r}: decision must be approve, decline or refer")
            u = unify(outputs.get(k, t), t)
            if u is None:
                raise ctx.err(line, f"table {name!r}: type mismatch in output {k!r}: "
                              f"{outputs[k]} and {t}")  # fmt: skip
            outputs[k] = u
    for k, t in outputs.items():
        if k not in ("decision", "reason"):
            ctx.define(k, Type(t.kind, True), cfg.line)
        elif t.kind not in ("str", "null"):
            raise ctx.err(cfg.line, f"table {name!r}: {k} must be text")
    for r in [*rows, default]:  # ints in a float output become floats in both modes
        for k, v in r.items():
            if k in ctx.variables and ctx.variables[k].kind == "float" and v is not None:
                r[k] = float(v)
    step = TableStep(name, cfg.line, Lookup(dims, cells), outputs, rows, default, lines)
    step.shown = [", ".join(f"{k}={_show(v)}" for k, v in raw.items()) for raw in seq]
    return step


def _show(v: Any) -> str:
    if v is None:
        return "any"
    if isinstance(v, list) and len(v) == 2 and all(isinstance(b, int | float | None) for b in v):
        lo = "-inf" if v[0] is None else f"{v[0]:g}"
        hi = "inf" if v[1] is None else f"{v[1]:g}"
        return f"[{lo}, {hi})"
    return str(v)


def _split(ctx: Ctx, cfg: LDict, name: str) -> Step:
    _keys(ctx, cfg, {"name", "key", "salt", "arms", "description"}, {"key", "arms"},
          f"split {name!r}")  # fmt: skip
    key = cfg["key"]
    if not isinstance(key, str) or key not in ctx.inputs or ctx.scope[key] != Type("str"):
        raise ctx.err(cfg.line_of("key"), f"split {name!r}: key must be a non-null str input")
    arms_cfg = _seq(ctx, cfg["arms"], cfg.line_of("arms"), "arms")
    before = dict(ctx.scope)
    arms, scopes = [], []
    for i, raw in enumerate(arms_cfg):
        line = arms_cfg.item_lines[i]
        raw = _mapping(ctx, raw, line, "arm")
        _keys(ctx, raw, {"name", "share", "flow"}, {"name", "share", "flow"}, "arm")
        share = raw["share"]
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise ctx.err(raw.line_of("share"), "arm share must be in (0, 1]")
        ctx.scope = dict(before)
        steps = _flow(ctx, _seq(ctx, raw["flow"], raw.line_of("flow"), "arm flow"))
        scopes.append(ctx.scope)
        arms.append((ctx.name(raw["name"], line, "arm name"), float(share), steps))
    if abs(sum(a[1] for a in arms) - 1.0) > 1e-9:
        raise ctx.err(cfg.line_of("arms"), f"split {name!r}: shares must sum to 1")
    merged = dict(before)
    for s in scopes:
        for var, t in s.items():
            if var not in before:
                merged[var] = Type(t.kind, True)
    ctx.scope = merged
    return SplitStep(name, cfg.line, key, str(cfg.get("salt", name)), arms)


_BUILDERS = {
    "rules": _rules,
    "lists": _list_checks,
    "model": _model,
    "table": _table,
    "assign": _assign,
    "split": _split,
}
