"""``creditfactory strategy check`` holds model inputs to the type the model was fitted on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from creditfactory.cli import app


def test_strategy_check_refuses_a_mismatch(tmp_path) -> None:
    ref = Path(__file__).resolve().parents[2] / "examples" / "strategies"
    text = (ref / "reference.yaml").read_text(encoding="utf-8")
    assert "  phone_price_tier: str\n" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  phone_price_tier: str\n", "  phone_price_tier: bool\n"))
    for name in ("blacklist.txt", "models"):
        (tmp_path / name).symlink_to((ref / name).resolve())
    res = CliRunner().invoke(app, ["strategy", "check", str(bad)])
    assert res.exit_code == 2
    line = text.splitlines().index("  phone_price_tier: str") + 1
    out = " ".join(res.output.split())
    assert f"bad.yaml:{line}: type mismatch: model 'ascore' input 'phone_price_tier' was " in out
    assert "fitted on str (categorical), the strategy declares bool" in out
    ok = CliRunner().invoke(app, ["strategy", "check", str(ref / "reference.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "unseen categories: missing" in ok.output
