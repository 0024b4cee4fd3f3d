"""``creditfactory strategy decide --lang``: each reason's text, and what the applicant is told."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from creditfactory.cli import app

STRATEGY = """
strategy: cli_texts
version: "1"
inputs:
  monthly_income: {type: float, min: 0, max: 10000000}
  phone: str
reasons:
  KO_INCOME: {en: "Monthly income {monthly_income} below 3,000", zh-CN: "月收入{monthly_income}低于3,000"}
  RF_RING: {en: "Phone linked to a fraud ring", zh-CN: "手机号关联欺诈团伙", tell: false}
flow:
  - rules:
      name: checks
      rules:
        - {name: ring, when: "phone == '13900000001'", action: refer, reason: RF_RING}
        - {name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}
  - assign: {set: {limit: "monthly_income * 2", apr: "0.2", term: "12"}}
"""  # noqa: E501


def _run(tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(STRATEGY, encoding="utf-8")
    body = json.dumps({"monthly_income": 2500.0, "phone": "13900000001"})
    result = CliRunner().invoke(
        app, ["strategy", "decide", str(path), body, *extra], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_reasons_in_english_cause_first(tmp_path: Path) -> None:
    out = _run(tmp_path)
    assert out.index("KO_INCOME") < out.index("RF_RING")  # the decline's cause first
    assert "Monthly income 2,500 below 3,000" in out
    assert "told to the applicant: Monthly income 2,500 below 3,000\n" in out


def test_reasons_in_chinese(tmp_path: Path) -> None:
    out = _run(tmp_path, "--lang", "zh-CN")
    assert "月收入2,500低于3,000" in out
    assert "手机号关联欺诈团伙" in out
    assert "告知申请人的原因: 月收入2,500低于3,000\n" in out


def test_an_unknown_language_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(STRATEGY, encoding="utf-8")
    result = CliRunner().invoke(app, ["strategy", "decide", str(path), "{}", "--lang", "fr"])
    assert result.exit_code != 0
    assert "lang: 'fr' is not supported" in result.output
