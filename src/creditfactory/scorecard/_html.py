"""HTML tables for notebooks and the report: one look, numbers formatted for reading."""

from __future__ import annotations

import pandas as pd

__all__ = ["frame_html"]

_STYLE = (
    "<style>.cf-tbl{border-collapse:collapse;font-size:0.85em}"
    ".cf-tbl th,.cf-tbl td{padding:2px 8px;border-bottom:1px solid #e5e5e5;text-align:right}"
    ".cf-tbl th{background:#f6f6f6}</style>"
)


def frame_html(df: pd.DataFrame, floats: str = "{:.4f}", max_rows: int = 60) -> str:
    """``df`` as an HTML table (no index, floats to 4 decimals, at most ``max_rows`` rows).

    Examples
    --------
    >>> "<table" in frame_html(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    True
    """
    fmt = {c: floats.format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    shown = df.head(max_rows)
    html = shown.to_html(index=False, classes="cf-tbl", formatters=fmt, na_rep="", border=0)
    more = f"<p>… {len(df) - max_rows} more rows</p>" if len(df) > max_rows else ""
    return _STYLE + html + more
