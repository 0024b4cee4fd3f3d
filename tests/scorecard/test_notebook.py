"""The example notebook runs from a simulated book to a validated scorecard, as shipped."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "scorecard.ipynb"


def test_the_scorecard_notebook_runs_and_renders_html(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # shipped clean
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    # the scorecard, the selection log, a binning table, the validation summary and the bands
    assert any("Scorecard 评分卡" in h for h in html)
    assert any("Selection 变量筛选" in h for h in html)
    assert any("Totals" in h for h in html)
    assert any("Validation summary" in h and "out-of-time" in h for h in html)
    report = tmp_path / "scorecard_report.html"
    assert report.exists()
    assert "Cut-off sweep" in report.read_text(encoding="utf-8")
