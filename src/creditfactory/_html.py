"""The offline HTML reports' shared pieces, and the one English/Chinese translation table.

Every HTML report (the scorecard validation report, the monitoring report, the portfolio
report) is one self-contained page made here: plotly.js embedded once in the head, each figure a
``<div>`` that uses it, so the file opens without network access. ``lang`` (``en`` or
``zh-CN``) switches the page's headings, notes, table headers and axis titles; the table
outputs (Excel and CSV files the command line writes) take their column headers from the same
table (:func:`column_label`), so a report and a workbook name a column alike.

Texts are looked up by their English wording (:func:`tr`); a text missing from the table is an
error in Chinese, so a report's test in ``zh-CN`` finds every untranslated heading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from creditfactory.exceptions import DataError

__all__ = [
    "COLUMNS",
    "DEFAULT_LANG",
    "LANGS",
    "TEXTS",
    "column_label",
    "figure",
    "match_lang",
    "render_page",
    "resolve_lang",
    "table",
    "tr",
    "translate_columns",
]

LANGS = ("en", "zh-CN")
DEFAULT_LANG = "en"


def resolve_lang(value: str | None, default: str = DEFAULT_LANG) -> str:
    """The supported language a tag names (``en-US`` -> ``en``; ``zh``, ``zh_CN``, ``zh-Hans``
    -> ``zh-CN``); ``default`` for ``None``.

    Raises
    ------
    DataError
        Naming ``lang``, the tag and the languages supported.

    >>> resolve_lang("zh_cn"), resolve_lang("en-GB"), resolve_lang(None, "zh-CN")
    ('zh-CN', 'en', 'zh-CN')
    """
    if value is None:
        return default
    found = match_lang(value)
    if found is None:
        raise DataError(f"lang: {value!r} is not supported (use one of {', '.join(LANGS)})")
    return found


def match_lang(tag: str) -> str | None:
    """The supported language of a tag, or ``None``."""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return {"en": "en", "zh": "zh-CN"}.get(primary)


# ------------------------------------------------------------------ the translation table
#: column names of the tables the reports show and the command line writes -> Chinese header
COLUMNS: dict[str, str] = {
    # scores and reasons
    "score": "评分", "p_bad": "坏客户概率", "reason_texts": "原因说明",
    **{f"reason_{k}": f"原因代码{k}" for k in range(1, 11)},
    "application_id": "申请编号", "loan_id": "贷款编号", "customer_id": "客户编号",
    # binning
    "characteristic": "变量", "feature": "变量", "iv": "信息值(IV)", "IV": "信息值(IV)",
    "selected": "入模", "bin": "分箱", "count": "样本数", "count_share": "样本占比",
    "share": "占比", "n_good": "好客户数", "n_bad": "坏客户数", "good": "好客户数",
    "bad": "坏客户数", "bad_rate": "坏账率", "bad rate": "坏账率", "woe": "证据权重(WOE)",
    "points": "分值", "code": "原因代码", "coefficient": "系数", "kind": "类型",
    "bins": "分箱数", "IV p-value": "IV的p值", "trend": "趋势",
    # validation report
    "sample": "样本", "rows": "行数", "bads": "坏客户数", "AUC": "AUC", "Gini": "基尼系数",
    "KS": "KS", "AUC 95% CI": "AUC 95%置信区间", "KS 95% CI": "KS 95%置信区间",
    "challenger": "挑战者模型", "AUC - scorecard": "AUC差(挑战者-评分卡)",
    "KS - scorecard": "KS差(挑战者-评分卡)",
    "rank correlation with scorecard": "与评分卡的秩相关",
    "column": "字段", "distinct": "不同取值数", "missing": "缺失数", "missing_share": "缺失率",
    "mean": "均值", "std": "标准差", "min": "最小值", "max": "最大值", "median": "中位数",
    "dtype": "数据类型", "special": "特殊值数",
    "band": "分数段", "min_points": "最低分", "max_points": "最高分", "cum_share": "累计占比",
    "cum_bad_rate": "累计坏账率", "cum_bad_share": "累计坏客户占比", "lift": "提升度",
    "cum_lift": "累计提升度", "decile": "十分位", "n": "样本数", "cutoff": "切分分数",
    "approval_rate": "通过率", "approved": "通过数", "profit": "利润",
    "profit_per_application": "每件申请利润", "expected_loss": "预期损失",
    "mean_predicted": "平均预测坏账率", "observed_rate": "实际坏账率",
    "expected": "基准占比", "actual": "实际占比", "psi": "PSI", "csi": "CSI",
    "csi_points": "CSI(分值)", "variable": "变量", "index": "指数",
    "vif": "方差膨胀因子(VIF)", "VIF": "方差膨胀因子(VIF)", "step": "步骤", "reason": "原因",
    "decision": "决定", "value": "取值", "std_error": "标准误", "z": "z值",
    "p_value": "p值", "intercept": "截距",
    # monitoring
    "month": "月份", "alerts": "警报数", "applications": "申请数", "matured": "表现期已满",
    "auc": "AUC", "ks": "KS", "gini": "基尼系数", "predicted": "预测坏账率",
    "observed": "实际坏账率", "max_csi": "最大CSI", "threshold": "阈值", "message": "说明",
    "severity": "严重程度", "hl_p": "HL检验p值", "hl_stat": "HL统计量", "ratio": "实际/预测",
    "referral_rate": "转人工率", "override_rate": "推翻率", "decisions": "决策数",
    "mean_score": "平均分", "binomial_p": "二项检验p值",
    # portfolio
    "metric": "指标", "bucket": "逾期阶段", "loans": "贷款数", "exposure": "敞口",
    "dpd30_share": "30+逾期率", "ever90_rate": "曾90+比率", "loss_rate": "损失率",
    "charged_off": "核销额", "net_flow": "净流转率", "pd": "违约概率(PD)", "lgd": "违约损失率(LGD)",
    "ead": "风险敞口(EAD)", "el": "预期损失(EL)", "el_rate": "预期损失率",
    "product": "产品", "channel": "渠道", "cohort": "年龄代际", "vintage": "放款月份",
    "balance": "余额", "principal": "本金",
    # strategy simulation
    "strategy": "策略", "segment": "分群", "approval": "通过率", "approved_true": "通过数(真实)",
    "true_bad_rate": "真实坏账率", "observed_bad_rate": "观察坏账率",
    "true_profit": "真实利润", "observed_profit": "观察利润", "swap": "交换集", "set": "集合",
    "booked": "放款数", "refer_rate": "转人工率", "decline_rate": "拒绝率",
    "bad_rate_true": "坏账率(真实)", "bad_rate_observed": "坏账率(观察)",
    "known_share": "已知表现占比", "expected_loss_model": "预期损失(模型PD)",
    "expected_loss_true": "预期损失(真实PD)", "realised_loss": "实际损失",
    "expected_profit_model": "预期利润(模型PD)", "expected_profit_true": "预期利润(真实PD)",
    "cell": "交换单元", "known": "已知表现数",
    # more of the reports' tables
    "action": "建议", "cum_n_share": "累计样本占比", "expected_bad": "预期坏客户数",
    "expected_bad_rate": "预期坏账率", "min_score": "最低分", "max_score": "最高分",
    "mean_points_actual": "实际平均分值", "mean_points_expected": "基准平均分值",
    "odds": "好坏比", "single_share": "单一取值占比", "calibration_p_value": "校准检验p值",
    "hl_df": "HL自由度", "hl_p_value": "HL检验p值", "level": "级别",
    "max_csi_variable": "最大CSI变量", "mean_points": "平均分", "psi_band": "分数段PSI",
    "subject": "对象", "accounts": "账户数", "closed": "已结清", "open": "在贷",
    "current_balance_7m_ago": "七个月前正常余额", "dpd90_share": "90+逾期率",
    "from": "起始阶段", "to": "目标阶段", "written_off": "核销金额",
    # the simulated book's tables (creditfactory simulate --out book.xlsx)
    "birth_date": "出生日期", "gender": "性别", "city": "城市", "city_tier": "城市等级",
    "occupation": "职业", "true_monthly_income": "真实月收入(模拟)", "education": "学历",
    "housing": "居住情况", "relationship": "与本机构的业务关系", "acquisition_channel": "获客渠道",
    "customer_since": "成为客户日期", "last_active_date": "最近活跃日期", "id_number": "身份证号",
    "phone": "手机号", "true_latent": "真实潜在风险(模拟)",
    "true_dormant_since": "真实沉睡起始(模拟)",
    "true_reactivatable": "真实可唤醒(模拟)", "applied_at": "申请时间",
    "amount_requested": "申请金额", "term_requested": "申请期限(月)", "age": "年龄",
    "monthly_income": "月收入", "verified_income": "核实收入", "thin_file": "征信记录较少",
    "bureau_history_months": "信用记录时长(月)", "inquiries_3m": "近3个月征信查询次数",
    "inquiries_6m": "近6个月征信查询次数", "delinquencies_24m": "近24个月逾期次数",
    "open_accounts": "未结清账户数", "utilisation": "授信额度使用率",
    "bureau_monthly_debt": "月还款负担", "inquiries_other_7d": "近7天其他机构查询次数",
    "inquiries_other_1m": "近1个月其他机构查询次数", "lending_institutions": "借贷机构数",
    "loans_elsewhere": "他行贷款数", "device_id": "设备号", "ip_address": "IP地址",
    "address_id": "地址编号", "emergency_contact_phone": "紧急联系人手机号", "gps_city": "定位城市",
    "gps_city_mismatch": "定位城市与申报城市不一致", "contact_list_size": "通讯录人数",
    "contacts_blacklisted_share": "通讯录黑名单联系人占比",
    "loan_apps_installed": "已安装借贷类应用数",
    "form_fill_seconds": "填表用时(秒)", "night_application": "夜间申请",
    "phone_price_tier": "手机价位档次", "ecommerce_spend": "电商消费金额",
    "third_party_score": "第三方信用分", "pd_true": "真实违约概率(模拟)",
    "pd_offer": "报价违约概率", "take_up_prob": "接受概率", "alternative_apr": "他行年利率",
    "true_income": "真实收入(模拟)", "is_fraud": "是否欺诈", "ring_id": "团伙编号",
    "fraud_type": "欺诈类型", "id_forged": "证件伪造", "payer_type": "还款人类型",
    "fpd": "首期逾期", "first_missed_mob": "首次逾期账龄", "risk_log_odds": "风险对数几率",
    "decline_reason": "拒绝原因", "score_band": "分数档", "limit": "额度", "apr": "年利率",
    "amount_approved": "批准金额", "term": "期限(月)", "taken_up": "是否接受",
    "repayment_method": "还款方式", "disbursed_at": "放款时间", "first_due_date": "首期还款日",
    "maturity_date": "到期日", "first_instalment": "首期还款额", "months_observed": "观察月数",
    "status": "状态", "instalment_no": "期数", "due_date": "应还日", "payment": "应还金额",
    "interest": "利息", "balance_after": "还款后余额", "mob": "账龄", "amount_due": "应还金额",
    "amount_paid": "实还金额", "arrears": "拖欠金额", "penalty_interest": "罚息",
    "penalty_outstanding": "未还罚息", "principal_outstanding": "剩余本金", "dpd": "逾期天数",
    "collector_id": "催收员编号", "cost": "成本", "right_party_contact": "联系到本人",
    "promise_to_pay": "承诺还款", "promise_kept": "履行承诺", "amount_recovered": "回收金额",
    "outcome": "结果", "true_cure_prob": "真实治愈概率(模拟)",
    "true_settle_prob": "真实结清概率(模拟)",
    "campaign_id": "营销活动编号", "sent_at": "发送时间", "offer": "优惠",
    "offer_limit": "优惠额度",
    "offer_rate_discount": "利率优惠", "treatment": "实验组", "days_inactive": "未活跃天数",
    "dormant": "沉睡客户", "responded": "是否响应", "responded_at": "响应时间",
    "contact_cost": "触达成本", "true_p_control": "真实对照组响应率(模拟)",
    "true_uplift": "真实增量(模拟)",
}  # fmt: skip

#: the reports' texts by their English wording -> Chinese
TEXTS: dict[str, str] = {
    # shared
    "generated": "生成于", "Book": "资产", "Model": "模型", "as of": "截至",
    # scorecard validation report
    "Scorecard validation report": "评分卡验证报告",
    "Data": "数据", "Performance": "表现", "Score bands": "分数段", "Cut-off": "切分点",
    "Calibration": "校准", "Stability": "稳定性", "Correlation": "相关性",
    "IV ranking": "信息值排序", "Selection": "筛选", "Coefficients": "系数", "Points": "分值",
    "Binning": "分箱",
    "Data summary": "数据概况",
    "Training rows": "训练样本", "test rows": "测试样本", "out-of-time rows": "跨时间样本",
    "bad rate": "坏账率", "Candidate columns": "候选变量",
    "Scaling: {base} points at good:bad odds {odds}:1, {pdo} points to double the odds.":
        "刻度：好坏比 {odds}:1 时 {base} 分，好坏比每翻一倍加 {pdo} 分。",
    "Defaults in force for this book": "本样本适用的默认参数",
    "Warnings": "警告", "data too thin to trust": "数据不足以可靠估计",
    "No small-book or small-bin warning.": "无样本量或小分箱警告。",
    "Model performance": "模型表现",
    "95% intervals: percentile bootstrap, {n} resamples stratified by outcome.":
        "95%置信区间：按结果分层的百分位自助法，重抽样 {n} 次。",
    "Lift and gains table (test)": "提升与增益表（测试集）",
    "test": "测试集", "training": "训练集", "train": "训练", "out-of-time": "跨时间",
    "chance": "随机",
    "Ten equal-population bands, lowest score (riskiest) first; <code>cum_share</code> and "
    "<code>cum_bad_rate</code> are the approval rate and bad rate with the cut-off at the band's "
    "lowest score.":
        "十个等人数分数段，最低分（风险最高）在前；<code>累计占比</code>与<code>累计坏账率</code>"
        "是以该段最低分为切分点时的通过率与坏账率。",
    "Cut-off sweep": "切分点分析",
    "Every application scoring below the cut-off is declined. Each approved one is valued with "
    "the lifetime cash-flow model (<code>creditfactory.pricing.loan_value</code>) as a loan of "
    "{amount} CNY at {apr} over {term} months: expected loss from the scorecard's probability of "
    "bad, profit from the realised outcome.":
        "低于切分分数的申请全部拒绝。每笔通过的申请按生命周期现金流模型"
        "（<code>creditfactory.pricing.loan_value</code>）估值，贷款 {amount} 元、年利率 {apr}、"
        "期限 {term} 个月：预期损失取评分卡的坏客户概率，利润按实际表现计算。",
    "Challenger comparison": "挑战者模型对比",
    "On the {set} set; a positive difference means the challenger ranks better.":
        "基于{set}；差值为正表示挑战者模型排序能力更强。",
    "Hosmer-Lemeshow (test, 10 bands): statistic {stat}, p-value {p}.":
        "Hosmer-Lemeshow 检验（测试集，10 段）：统计量 {stat}，p 值 {p}。",
    "Stability (PSI, CSI)": "稳定性（PSI、CSI）",
    "PSI of the score and of each characteristic's bins:": "分数及各变量分箱的 PSI：",
    "CSI per characteristic: <code>csi_points</code> = Σ (actual% − expected%) × points, the "
    "shift of the average points the characteristic gives.":
        "各变量稳定性（CSI）：<code>CSI(分值)</code> = Σ (实际占比 − 基准占比) × 分值，"
        "即该变量平均得分的偏移。",
    "No test set given.": "未提供测试集。",
    "PSI &lt; 0.1 stable, 0.1–0.25 watch, &gt; 0.25 act.":
        "PSI &lt; 0.1 稳定，0.1–0.25 关注，&gt; 0.25 需行动。",
    "train → test": "训练 → 测试", "train → out-of-time": "训练 → 跨时间",
    "Correlation and VIF": "相关性与方差膨胀因子",
    "Pearson correlation of the selected characteristics' WOE on the training data; VIF in the "
    "last column.": "入模变量 WOE 在训练集上的皮尔逊相关系数；最后一列为方差膨胀因子（VIF）。",
    "Information value ranking": "信息值排序",
    "Selection log": "筛选记录",
    "Every candidate that left the model, the step and the reason.":
        "每个未入模的候选变量、剔除步骤与原因。",
    "Coefficients and significance": "系数与显著性",
    "Characteristics with p &gt; 0.05": "显著性不足（p &gt; 0.05）的变量",
    "None: every characteristic in the model has p ≤ 0.05.": "无：模型中全部变量 p ≤ 0.05。",
    "Points table": "分值表",
    "Binning of the selected characteristics": "入模变量分箱",
    "trend": "趋势",
    # scorecard figures
    "ROC curve": "ROC 曲线",
    "false positive rate (goods)": "误拒率（好客户）",
    "true positive rate (bads)": "坏客户识别率",
    "KS: cumulative bads minus goods, riskiest first": "KS：累计坏客户减好客户占比（高风险在前）",
    "share of population": "人群占比", "gap": "差值",
    "cumulative bads captured": "累计坏客户捕获",
    "Gains by decile (1 = riskiest)": "十分位增益（1 = 风险最高）",
    "observed": "实际", "perfect": "完美",
    "Calibration (test)": "校准（测试集）",
    "mean predicted bad rate": "平均预测坏账率", "observed bad rate": "实际坏账率",
    "approval rate": "通过率", "profit per application (CNY)": "每件申请利润（元）",
    "cut-off (points)": "切分分数", "rate": "比率", "share": "占比",
    "WOE": "证据权重(WOE)",
    # monitoring report
    "Model monitoring report": "模型监控报告",
    "Stability baseline": "稳定性基准",
    "Outcome window: {n} months": "表现期：{n} 个月",
    "Alerts": "警报", "{n} alert(s)": "{n} 条警报", "No alert": "无警报",
    "Thresholds": "阈值", "By month": "月度汇总",
    "Population stability (PSI / CSI)": "群体稳定性（PSI / CSI）",
    "PSI of the score and CSI of each characteristic against the baseline, over the model's own "
    "bins: &lt; 0.1 stable, 0.1–0.25 watch, ≥ 0.25 act.":
        "分数的 PSI 与各变量的 CSI，相对稳定性基准、按模型自身分箱计算："
        "&lt; 0.1 稳定，0.1–0.25 关注，≥ 0.25 需行动。",
    "Score band distribution": "分数段分布",
    "Band 0 has the fewest points (riskiest); bands are the development sample's score deciles.":
        "0 段分数最低（风险最高）；分数段为开发样本的分数十分位。",
    "Rank power (AUC / KS / Gini)": "区分能力（AUC / KS / 基尼系数）",
    "By application month, over outcomes that have matured.": "按申请月份，仅含表现期已满的贷款。",
    "Reference": "基准",
    "Observed against predicted bad rate by month; Hosmer-Lemeshow test over the score bands and "
    "an exact binomial test per band.":
        "按月对比实际与预测坏账率；各分数段做 Hosmer-Lemeshow 检验及逐段精确二项检验。",
    "Decisions (approval, referral, override)": "审批（通过率、转人工率、推翻率）",
    "score PSI": "分数PSI", "largest CSI": "最大CSI", "Stability by month": "月度稳定性",
    "watch": "关注", "act": "行动", "obs/pred": "实际/预测",
    "CSI by characteristic and month": "各变量月度稳定性（CSI）",
    "band": "分数段", "Applications by score band": "各分数段申请占比",
    "Observed / predicted bad rate by score band": "各分数段实际/预测坏账率",
    "Rank power by application month": "按申请月份的区分能力",
    "Bad rate by application month": "按申请月份的坏账率",
    "predicted": "预测", "Gini": "基尼系数",
    "approval": "通过率", "referral": "转人工率", "override": "推翻率",
    "Decision rates by month": "月度审批比率",
    # portfolio report
    "Portfolio report": "资产组合报告",
    "Overview": "概览", "Vintage curves": "账龄分析（Vintage）",
    "Share of each monthly vintage that has reached 30+ / 90+ DPD (or charge-off) by each month "
    "on book (MOB); closed loans stay in the denominator.":
        "各放款月份在各账龄（MOB）的累计逾期率（曾 30+ / 90+ 或核销）；已结清贷款仍计入分母。",
    "Roll rates": "滚动率",
    "Month-to-month transitions of accounts between buckets (rows: this month, columns: next "
    "month).": "账户在逾期阶段间的月度迁移（行：本月，列：下月）。",
    "Weighted by exposure:": "按余额加权：",
    "Flow rates and net flow to charge-off": "迁徙率与净损失流转率",
    "Balance in bucket k+1 this month over bucket k last month; the net flow is their product "
    "along the diagonal: this month's charge-offs over the current balance seven months before.":
        "本月 k+1 阶段余额 / 上月 k 阶段余额；净流转率为沿对角线的乘积："
        "本月核销额 / 七个月前正常余额。",
    "Delinquency and loss by segment": "分群逾期与损失",
    "Expected loss (PD × LGD × EAD)": "预期损失（PD × LGD × EAD）",
    "PD: probability of charge-off within {horizon} months from each bucket, by the Markov chain "
    "of the roll-rate matrix; LGD {lgd}; EAD: principal outstanding plus arrears of the open "
    "accounts.":
        "PD：由滚动率矩阵的马尔可夫链推算的各阶段 {horizon} 个月内核销概率；LGD {lgd}；"
        "EAD：未结清账户的剩余本金加拖欠金额。",
    "By product": "按产品", "By channel": "按渠道", "By birth cohort": "按年龄代际",
    "By vintage": "按放款月份",
    "months on book (MOB)": "账龄（MOB）", "cumulative bad share": "累计坏账率",
    "Roll-rate matrix": "滚动率矩阵", "next month": "下月", "this month": "本月",
    "Flow rates by month (balance)": "月度迁徙率（余额）", "flow rate": "迁徙率",
    "net flow": "净流转率", "Net flow to charge-off": "净损失流转率",
    "30+ share of exposure": "30+逾期率", "ever 90+": "曾90+", "loss rate": "损失率",
    "EL": "预期损失", "EAD": "风险敞口",
    "Expected loss and exposure by bucket (CNY)": "各阶段预期损失与敞口（元）",
    "Ever 90+ by vintage": "曾90+逾期（按放款月）", "Ever 30+ by vintage": "曾30+逾期（按放款月）",
    "Ever 90+ by product and quarter": "曾90+逾期（按产品与季度）",
}  # fmt: skip


def tr(text: str, lang: str) -> str:
    """``text`` (a report's English wording) in ``lang``.

    Raises
    ------
    KeyError
        In Chinese, for a text the table does not hold (every report text must have one).
    """
    if lang == "en":
        return text
    try:
        return TEXTS[text]
    except KeyError:
        raise KeyError(f"no {lang} text for {text!r} in creditfactory._html.TEXTS") from None


def column_label(name: object, lang: str) -> str:
    """A column's header in ``lang``: its Chinese label when the table has one, else its name
    (a characteristic's own name, a month)."""
    text = str(name)
    return COLUMNS.get(text, text) if lang == "zh-CN" else text


def translate_columns(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` with its column headers (and index names) in ``lang``; the same frame in
    English."""
    if lang == "en":
        return frame
    out = frame.rename(columns=lambda c: column_label(c, lang))
    if out.index.name is not None:
        out.index = out.index.rename(column_label(out.index.name, lang))
    if out.columns.name is not None:
        out.columns = out.columns.rename(column_label(out.columns.name, lang))
    return out


# ------------------------------------------------------------------ page pieces
def figure(fig: Any) -> str:
    """A Plotly figure as a ``<div>`` that uses the page's one plotly.js."""
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def table(
    df: pd.DataFrame,
    floats: str = "{:,.4f}",
    *,
    index: bool = False,
    lang: str = DEFAULT_LANG,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
) -> str:
    """``df`` as an HTML table: floats formatted with ``floats`` (``formats`` per column
    instead), headers in ``lang``."""
    fmt: dict[str, Callable[[Any], str]] = {
        c: floats.format for c in df.columns if pd.api.types.is_float_dtype(df[c])
    }
    fmt.update(formats or {})
    shown = translate_columns(df, lang)
    labelled = {column_label(c, lang): f for c, f in fmt.items()}
    return str(shown.to_html(index=index, classes="tbl", formatters=labelled, na_rep="", border=0))


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei",
       sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { border-bottom: 2px solid #345; margin-bottom: 0.2em; }
h2 { margin-top: 2em; color: #345; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { margin-top: 1.6em; }
table.tbl { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
table.tbl th, table.tbl td { border: 1px solid #ddd; padding: 3px 8px; text-align: right;
                             white-space: nowrap; }
table.tbl th { background: #eef; }
table.tbl td:first-child, table.tbl th:first-child { text-align: left; }
.note, .meta { color: #555; font-size: 0.9em; }
.ok { color: #1a6b2a; } .alert { color: #a0281e; font-weight: bold; }
nav a { margin-right: 1em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.warn { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.4em 0.8em; }
.feature { border-top: 1px solid #eee; margin-top: 1.2em; }
@media print { .plotly-graph-div { page-break-inside: avoid; } }
"""

_PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ title }}</title>
<script type="text/javascript">{{ plotlyjs | safe }}</script>
<style>{{ style | safe }}</style></head><body>
{{ body | safe }}
</body></html>
"""


def render_page(body: str, context: Mapping[str, Any], *, title: str, lang: str) -> str:
    """One offline page: the Jinja ``body`` rendered with ``context`` and ``t`` (the
    translation of a text into ``lang``, trusted markup), inside the head that embeds
    plotly.js once and the reports' one style sheet."""
    from jinja2 import Environment, select_autoescape
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

    def t(text: str) -> Markup:
        return Markup(tr(text, lang))  # the table's own texts: trusted markup

    inner = env.from_string(body).render(**context, t=t, lang=lang)
    return env.from_string(_PAGE).render(
        lang=lang, title=title, plotlyjs=get_plotlyjs(), style=_STYLE, body=inner
    )
