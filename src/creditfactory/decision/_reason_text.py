"""Reason codes as people read them: a catalogue of texts in English and Chinese.

A decision's reason codes become :class:`ReasonText` items, each with a text in the asked
language (``en`` or ``zh-CN``), what kind of reason it is and whether the applicant may be told:

- **rule and table reasons** take the text the strategy gives in its ``reasons:`` section
  (``KO_INCOME: {en: "Income below {monthly_income}", zh-CN: "...", tell: true}``; ``{name}``
  is replaced by the applicant's value of that input); without one, the rule's own description
  (``knockouts: low_income: monthly_income < 2000``), which is for staff only;
- **model reasons** are built from the characteristic's label (the strategy's ``labels:``
  section, else a built-in label for the simulator's columns, else its name), the applicant's
  value and, for points scorecards, the points lost against the best bin:
  ``Credit inquiries in the last 3 months: 7 (−12 points)``;
- **list and system codes** (``LIST_BLACKLIST_PHONE``, ``BL_ID`` from a ``lists`` step,
  ``INVALID_INPUT``, a table's ``*_NO_MATCH``) have built-in texts and are never told.

:meth:`ReasonCatalogue.adverse_action` picks the reasons an applicant may be told (at most four,
no list, fraud or system reasons, each text once), separately from the internal trace.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# the languages and their resolution are the reports' too: one place (creditfactory._html)
from creditfactory._html import DEFAULT_LANG as DEFAULT_LANG
from creditfactory._html import LANGS as LANGS
from creditfactory._html import match_lang as _match
from creditfactory._html import resolve_lang as resolve_lang
from creditfactory.exceptions import StrategyError

ADVERSE_MAX = 4
GENERAL = "GENERAL"  # the one adverse-action reason when none of the real ones may be told

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TEXT_KEYS = frozenset({*LANGS, "tell"})

#: labels of the simulator's application columns (creditfactory.data), and whether a model
#: reason on that column may be told to the applicant (anti-fraud signals may not)
BUILTIN_LABELS: dict[str, tuple[str, str, bool]] = {
    "age": ("Age", "年龄", True),
    "monthly_income": ("Monthly income", "月收入", True),
    "amount_requested": ("Amount requested", "申请金额", True),
    "term_requested": ("Term requested (months)", "申请期限（月）", True),
    "product": ("Product", "产品", True),
    "channel": ("Application channel", "申请渠道", True),
    "occupation": ("Occupation", "职业", True),
    "education": ("Education", "学历", True),
    "housing": ("Housing", "居住情况", True),
    "relationship": ("Relationship with us", "与本机构的业务关系", True),
    "city_tier": ("City tier", "城市等级", True),
    "thin_file": ("Thin credit file", "征信记录较少", True),
    "bureau_history_months": ("Length of credit history (months)", "信用记录时长（月）", True),
    "inquiries_3m": ("Credit inquiries in the last 3 months", "近3个月征信查询次数", True),
    "inquiries_6m": ("Credit inquiries in the last 6 months", "近6个月征信查询次数", True),
    "delinquencies_24m": ("Late payments in the last 24 months", "近24个月逾期次数", True),
    "utilisation": ("Credit utilisation", "授信额度使用率", True),
    "bureau_monthly_debt": ("Monthly debt payments", "月还款负担", True),
    "ecommerce_spend": ("E-commerce spending", "电商消费金额", True),
    "third_party_score": ("Third-party credit score", "第三方信用分", True),
    "phone_price_tier": ("Phone price tier", "手机价位档次", True),
    # anti-fraud signals: shown to staff, never told to the applicant
    "contacts_blacklisted_share": ("Share of contacts on a blacklist", "通讯录黑名单联系人占比",
                                   False),
    "gps_city_mismatch": ("GPS city differs from the stated city", "定位城市与申报城市不一致",
                          False),
    "night_application": ("Applied at night", "夜间申请", False),
    "loan_apps_installed": ("Lending apps installed", "已安装借贷类应用数", False),
    "form_fill_seconds": ("Time to fill in the form (seconds)", "填表用时（秒）", False),
}  # fmt: skip

_SYSTEM: dict[str, tuple[str, str]] = {
    "INVALID_INPUT": (
        "The application does not match the declared inputs",
        "申请数据与声明的输入不符",
    ),
    "INVALID_OUTPUT": ("The strategy's outputs are not a loan", "策略输出不是有效的贷款"),
    GENERAL: ("The application did not meet our lending criteria", "申请未满足我们的授信标准"),
}

_WORDS = {
    "en": {"yes": "yes", "no": "no", "missing": "missing", "points": "points",
           "list": "On the {list} ({field})", "no_match": "No cell of table {table} matched"},
    "zh-CN": {"yes": "是", "no": "否", "missing": "缺失", "points": "分",
              "list": "命中{list}（{field}）", "no_match": "决策表 {table} 无匹配单元格"},
}  # fmt: skip
_LIST_NAMES = {"BLACKLIST": ("blacklist", "黑名单"), "GREYLIST": ("greylist", "灰名单"),
               "WHITELIST": ("whitelist", "白名单")}  # fmt: skip


def accept_language(header: str | None, default: str = DEFAULT_LANG) -> str:
    """The supported language an ``Accept-Language`` header prefers (by ``q``), else
    ``default``; a malformed header is no error, only no preference.

    >>> accept_language("fr-CH, fr;q=0.9, zh-CN;q=0.8, en;q=0.7")
    'zh-CN'
    >>> accept_language("de", default="zh-CN")
    'zh-CN'
    """
    if not header:
        return default
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        found = _match(tag) if tag and tag != "*" else None
        if found is not None and q > 0 and math.isfinite(q):
            ranked.append((-q, i, found))
    return min(ranked)[2] if ranked else default


@dataclass(frozen=True)
class ReasonText:
    """One reason code explained: ``text`` in the asked language; ``kind`` is ``rule``,
    ``model``, ``list`` or ``system``; ``tell`` says whether the applicant may be told; a model
    reason names its ``feature``, the applicant's ``value`` and the ``points`` it cost (against
    the characteristic's best bin, negative; ``None`` when the model does not say)."""

    code: str
    text: str
    kind: str
    tell: bool
    feature: str | None = None
    value: Any = None
    points: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for JSON)."""
        return {
            "code": self.code, "text": self.text, "kind": self.kind, "tell": self.tell,
            "feature": self.feature, "value": self.value, "points": self.points,
        }  # fmt: skip


@dataclass
class Texts:
    """What a strategy says about its reasons (``reasons:``) and its variables (``labels:``)."""

    reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_texts(doc: Any, source: str, inputs: Iterable[str]) -> Texts:
    """The strategy's ``reasons:`` (code -> ``{en, zh-CN, tell}``) and ``labels:`` (variable ->
    ``{en, zh-CN, tell}``) sections; ``{name}`` in a reason text must name an input.

    Raises
    ------
    StrategyError
        Naming the source, the line and the problem (not a mapping, an unknown key, an empty
        text, ``tell`` not a bool, a placeholder that is not an input).
    """
    out = Texts()
    if not isinstance(doc, Mapping):
        return out
    known = set(inputs)
    line_of = getattr(doc, "line_of", lambda _: 0)
    for section, target in (("reasons", out.reasons), ("labels", out.labels)):
        raw = doc.get(section)
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            raise StrategyError(f"{source}:{line_of(section)}: {section}: expected a mapping")
        section_line = line_of(section)
        for key, entry in raw.items():
            line = raw.line_of(key) if hasattr(raw, "line_of") else section_line
            where = f"{source}:{line}: {section}: {key!r}"
            if isinstance(entry, str):
                entry = {"en": entry}
            if not isinstance(key, str) or not isinstance(entry, Mapping):
                raise StrategyError(f"{where}: expected a text or {{en: ..., zh-CN: ...}}")
            unknown = sorted(str(k) for k in entry if k not in _TEXT_KEYS)
            if unknown:
                allowed = ", ".join(sorted(_TEXT_KEYS))
                raise StrategyError(f"{where}: unknown key {unknown[0]!r} (allowed: {allowed})")
            if "en" not in entry and "zh-CN" not in entry:
                raise StrategyError(f"{where}: give a text in en or zh-CN")
            for lang in LANGS:
                text = entry.get(lang)
                if lang in entry and (not isinstance(text, str) or not text.strip()):
                    raise StrategyError(f"{where}: {lang} must be a non-empty text")
                if section == "reasons" and isinstance(text, str):
                    for name in _PLACEHOLDER.findall(text):
                        if name not in known:
                            raise StrategyError(
                                f"{where}: {lang}: {{{name}}} is not a declared input"
                            )
            if "tell" in entry and not isinstance(entry["tell"], bool):
                raise StrategyError(f"{where}: tell must be true or false")
            target[key] = dict(entry)
    return out


def format_value(value: Any, lang: str = DEFAULT_LANG) -> str:
    """An applicant's value as text: ``yes``/``no`` (``是``/``否``), ``missing`` for null,
    thousands separators from 100 up, three significant digits below.

    >>> format_value(12500.0), format_value(0.04113), format_value(True, "zh-CN")
    ('12,500', '0.0411', '是')
    """
    words = _WORDS[lang]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return words["missing"]
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100 or value.is_integer():
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def _points_text(lost: float, lang: str) -> str:
    shown = f"{lost:.0f}" if abs(lost) >= 0.5 else f"{lost:.1f}"
    shown = shown.replace("-", "−")  # a real minus sign
    if lang == "zh-CN":
        return f"（{shown}{_WORDS[lang]['points']}）"
    return f" ({shown} {_WORDS[lang]['points']})"


class ReasonCatalogue:
    """The texts of every reason code a strategy can give, in ``en`` and ``zh-CN``.

    Built from a compiled strategy (``Strategy.reason_catalogue()``); :meth:`explain` turns a
    decision's codes into :class:`ReasonText` items, :meth:`adverse_action` picks what the
    applicant may be told.
    """

    def __init__(
        self,
        rules: Mapping[str, tuple[str, str]],
        texts: Texts,
        models: Sequence[tuple[Any, Mapping[str, str]]],
    ):
        # code -> (kind, staff description); models: (model, feature -> strategy variable)
        self._rules = dict(rules)
        self._texts = texts
        self._model_codes: dict[str, tuple[Any, str, str]] = {}
        self._features: dict[int, dict[str, str]] = {}  # id(model) -> feature -> variable
        for model, features in models:
            self._features.setdefault(id(model), dict(features))
            for code, feat in getattr(model, "reason_texts", {}).items():
                self._model_codes.setdefault(code, (model, feat, features.get(feat, feat)))
        # texts that do not depend on the application, by (code, lang): built once
        self._fixed: dict[tuple[str, str], ReasonText] = {}
        self._meta: dict[tuple[str, str], tuple[str, bool]] = {}  # model code -> label, tell

    @classmethod
    def empty(cls) -> ReasonCatalogue:
        """The built-in texts only (list and system codes), for codes of no known strategy."""
        return cls({}, Texts(), [])

    @classmethod
    def of_model(cls, model: Any, labels: Mapping[str, str] | None = None) -> ReasonCatalogue:
        """The texts of one model's reason codes, for scores made without a strategy (a
        scorecard's scored file): ``model`` is a decision model (a :class:`PointsModel` gives
        the points each reason cost); a characteristic's label is ``labels[name]`` (the
        scorecard's own ``reason_texts``) when given, with the built-in Chinese label beside
        it for the simulator's columns, else the built-in label, else its name.

        >>> spec = {"format": "creditfactory.scoring_spec", "format_version": 1,
        ...         "scaling": {"factor": 28.85, "offset": 487.1},
        ...         "characteristics": [{"name": "inquiries_3m", "kind": "numerical",
        ...             "code": "R001", "missing_points": 10.0, "special": [],
        ...             "upper_edges": [2.0, 5.0], "points": [60.0, 40.0, 20.0]}]}
        >>> from creditfactory.decision import PointsModel
        >>> cat = ReasonCatalogue.of_model(PointsModel("sc", "1", spec))
        >>> [r.text for r in cat.explain(["R001"], {"inquiries_3m": 7}, "zh-CN")]
        ['近3个月征信查询次数：7（−40分）']
        """
        given: dict[str, dict[str, Any]] = {}
        for name, text in (labels or {}).items():
            entry: dict[str, Any] = {"en": str(text)}
            if name in BUILTIN_LABELS:
                entry["zh-CN"] = BUILTIN_LABELS[name][1]
            given[name] = entry
        features = {f: f for f in model.features}
        return cls({}, Texts(labels=given), [(model, features)])

    # ------------------------------------------------------------------ labels
    def label(self, name: str, lang: str) -> str:
        """The label of a variable or model feature in ``lang`` (its name when none is known)."""
        given = self._texts.labels.get(name)
        if given is not None:
            return str(given.get(lang) or given.get("en") or given.get("zh-CN"))
        builtin = BUILTIN_LABELS.get(name)
        if builtin is not None:
            return builtin[0] if lang == "en" else builtin[1]
        return name

    def _feature_told(self, name: str) -> bool:
        given = self._texts.labels.get(name)
        if given is not None and "tell" in given:
            return bool(given["tell"])
        builtin = BUILTIN_LABELS.get(name)
        return True if builtin is None else builtin[2]

    # ------------------------------------------------------------------ codes
    def needs_application(self, codes: Sequence[str]) -> bool:
        """Whether explaining ``codes`` reads the application (a model reason, or a text with
        ``{name}`` placeholders): callers may skip parsing it otherwise."""
        for code in codes:
            if code in self._model_codes:
                return True
            given = self._texts.reasons.get(code)
            if given is not None and any(
                isinstance(t, str) and _PLACEHOLDER.search(t) for t in given.values()
            ):
                return True
        return False

    def explain(
        self,
        codes: Sequence[str],
        application: Mapping[str, Any] | None = None,
        lang: str = DEFAULT_LANG,
    ) -> list[ReasonText]:
        """Each code of a decision explained, in the decision's order.

        ``application`` (the inputs as received) gives the values shown in model reasons and
        in ``{name}`` placeholders; without it they are left out.
        """
        lang = lang if lang in LANGS else resolve_lang(lang)
        points_cache: dict[int, dict[str, tuple[float, float]]] = {}
        fixed = self._fixed
        out = []
        for code in codes:
            r = fixed.get((code, lang))
            out.append(r if r is not None else self._one(code, application, lang, points_cache))
        return out

    def _one(
        self,
        code: str,
        app: Mapping[str, Any] | None,
        lang: str,
        points_cache: dict[int, dict[str, tuple[float, float]]],
    ) -> ReasonText:
        given = self._texts.reasons.get(code)
        kind, staff = self._rules.get(code, ("", ""))
        if code in self._model_codes and not kind:
            return self._model_reason(code, app or {}, lang, points_cache)
        if given is not None:
            text = str(given.get(lang) or given.get("en") or given.get("zh-CN"))
            default_tell = kind in ("rule", "")
            tell = bool(given.get("tell", default_tell))
            if _PLACEHOLDER.search(text) is None:
                return self._keep(ReasonText(code, text, kind or "rule", tell), lang)
            if app is not None:  # without an application the placeholders stay as written
                text = _PLACEHOLDER.sub(lambda m: format_value(app.get(m.group(1)), lang), text)
            return ReasonText(code, text, kind or "rule", tell)
        if code in _SYSTEM:
            r = ReasonText(code, _SYSTEM[code][0 if lang == "en" else 1], "system", False)
        elif code.startswith("LIST_"):
            r = ReasonText(code, self._list_text(code, lang), "list", False)
        elif kind == "no_match":
            r = ReasonText(code, _WORDS[lang]["no_match"].format(table=staff), "system", False)
        elif kind:  # a rule without an authored text: its description, for staff only
            r = ReasonText(code, staff, "list" if kind == "list" else "rule", False)
        else:
            r = ReasonText(code, code, "system", False)
        return self._keep(r, lang)

    def _keep(self, r: ReasonText, lang: str) -> ReasonText:
        if len(self._fixed) < 10_000:  # the codes a strategy gives: a few dozen, plus list codes
            self._fixed[(r.code, lang)] = r
        return r

    @staticmethod
    def _list_text(code: str, lang: str) -> str:
        rest = code[len("LIST_") :]
        for key, names in _LIST_NAMES.items():
            if rest.startswith(key + "_"):
                fld = rest[len(key) + 1 :].lower()
                name = names[0] if lang == "en" else names[1]
                return _WORDS[lang]["list"].format(list=name, field=fld)
        return code

    def _model_reason(
        self,
        code: str,
        app: Mapping[str, Any],
        lang: str,
        points_cache: dict[int, dict[str, tuple[float, float]]],
    ) -> ReasonText:
        model, feat, var = self._model_codes[code]
        meta = self._meta.get((code, lang))
        if meta is None:
            # the strategy variable's label when one is known (the feature may be renamed)
            known = var in self._texts.labels or var in BUILTIN_LABELS
            label = self.label(var if known else feat, lang)
            tell = self._feature_told(var) and self._feature_told(feat)
            meta = self._meta[(code, lang)] = (label, tell)
        label, tell = meta
        if var not in app:
            return ReasonText(code, label, "model", tell, feat)
        value = app.get(var)
        sep = "：" if lang == "zh-CN" else ": "
        text = f"{label}{sep}{format_value(value, lang)}"
        lost = None
        points_of = getattr(model, "points_of", None)
        if points_of is not None:
            key = id(model)
            if key not in points_cache:
                row = {f: app.get(v) for f, v in self._features_of(model).items()}
                points_cache[key] = {c: (p, best) for c, _, p, best in points_of(row)}
            got = points_cache[key].get(code)
            if got is not None:
                lost = got[0] - got[1]
                text += _points_text(lost, lang)
        return ReasonText(code, text, "model", tell, feat, value, lost)

    def _features_of(self, model: Any) -> dict[str, str]:
        return self._features.get(id(model), {})

    def adverse_action(
        self, explained: Sequence[ReasonText], lang: str = DEFAULT_LANG, n: int = ADVERSE_MAX
    ) -> list[ReasonText]:
        """The first ``n`` reasons the applicant may be told, each text once; when a decline or
        referral has none (a list hit, a fraud signal), one general reason (``GENERAL``)."""
        out: list[ReasonText] = []
        seen: set[str] = set()
        for r in explained:
            if r.tell and r.text not in seen:
                out.append(r)
                seen.add(r.text)
            if len(out) >= n:
                break
        if not out and explained:
            lang = resolve_lang(lang)
            out.append(ReasonText(GENERAL, _SYSTEM[GENERAL][0 if lang == "en" else 1],
                                  "system", True))  # fmt: skip
        return out

    def codes(self) -> dict[str, str]:
        """Every code this catalogue knows, with its English text (no applicant values)."""
        out = {code: self._one(code, None, "en", {}).text for code in self._rules}
        for code in self._model_codes:
            out.setdefault(code, self._one(code, None, "en", {}).text)
        for code in self._texts.reasons:
            out.setdefault(code, self._one(code, None, "en", {}).text)
        return out


def reason_texts_column(
    catalogue: ReasonCatalogue,
    reasons: Sequence[Sequence[str] | None],
    applications: Sequence[Mapping[str, Any] | None],
    lang: str = DEFAULT_LANG,
) -> list[list[str]]:
    """The texts of each row's reasons (``reasons[i]`` explained with ``applications[i]``),
    for scored files: ``[]`` for a row without reasons."""
    lang = resolve_lang(lang)
    out: list[list[str]] = []
    for codes, app in zip(reasons, applications, strict=True):
        out.append([r.text for r in catalogue.explain(codes, app, lang)] if codes else [])
    return out


class TextedStrategy:
    """A strategy whose ``decide_batch`` adds a ``reason_texts`` column (each row's reasons as
    texts in ``lang``, values from the row): what the batch factory writes to scored files when
    asked for texts. Every other attribute is the strategy's own."""

    def __init__(self, strategy: Any, lang: str = DEFAULT_LANG):
        self.strategy = strategy
        self.lang = resolve_lang(lang)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.strategy, name)

    def decide_batch(self, frame: Any, lookups: Any = None) -> Any:
        """``strategy.decide_batch(frame, lookups=...)`` plus ``reason_texts`` (the same kind
        of frame)."""
        import polars as pl

        out = (
            self.strategy.decide_batch(frame)
            if lookups is None
            else self.strategy.decide_batch(frame, lookups=lookups)
        )
        is_pandas = not isinstance(out, pl.DataFrame)
        decided = pl.from_pandas(out) if is_pandas else out
        given = frame if isinstance(frame, pl.DataFrame) else None
        if given is None:
            given = frame.collect() if isinstance(frame, pl.LazyFrame) else pl.from_pandas(frame)
        reasons = decided["reasons"].to_list()
        rows = [i for i, codes in enumerate(reasons) if codes]
        names = [s.name for s in self.strategy.inputs if s.name in given.columns]
        apps: list[Mapping[str, Any] | None] = [None] * len(reasons)
        if rows:
            picked = given.select(names)[rows].to_dicts()
            for i, app in zip(rows, picked, strict=True):
                apps[i] = app
        texts = reason_texts_column(self.strategy.reason_catalogue(), reasons, apps, self.lang)
        col = pl.Series("reason_texts", texts, dtype=pl.List(pl.String))
        at = decided.columns.index("reasons") + 1
        decided = decided.insert_column(at, col)
        return decided.to_pandas() if is_pandas else decided
