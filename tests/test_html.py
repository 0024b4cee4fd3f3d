"""The shared report page (creditfactory._html): one plotly.js, offline, one language a page.

:func:`check_pages` is what every report's test asks of its English and Chinese pages.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from creditfactory._html import (
    COLUMNS,
    TEXTS,
    column_label,
    render_page,
    resolve_lang,
    table,
    tr,
    translate_columns,
)
from creditfactory.exceptions import DataError

CJK = re.compile(r"[\u4e00-\u9fff]")
_HEADING = re.compile(r"<(h[12])[^>]*>(.*?)</\1>", re.S)
# abbreviations a Chinese risk team reads as they are
_ABBREVIATIONS = {"PSI", "CSI", "AUC", "KS", "VIF", "IV", "PD", "LGD", "EAD", "WOE", "MOB",
                  "Vintage", "Hosmer", "Lemeshow"}  # fmt: skip


def headings(html: str) -> list[str]:
    """The text of the page's ``h1`` and ``h2`` headings (the title and the sections)."""
    return [re.sub(r"<[^>]+>", "", m.group(2)).strip() for m in _HEADING.finditer(html)]


def shows(html: str, text: str) -> bool:
    """Whether ``text`` is on the page: as HTML, or inside a figure's JSON (where Plotly writes
    non-ASCII characters as ``\\uXXXX`` escapes)."""
    return text in html or json.dumps(text)[1:-1] in html


def check_pages(en: str, zh: str, *, chinese: tuple[str, ...], english: tuple[str, ...]) -> None:
    """``en`` and ``zh`` are the same report in English and Chinese: each one offline page with
    plotly.js once; the same sections; Chinese headings (no English words but abbreviations)
    and the ``chinese`` texts in ``zh``; English headings and the ``english`` texts in ``en``,
    none of which is left in ``zh``."""
    from plotly.offline import get_plotlyjs

    for html in (en, zh):
        assert html.count(get_plotlyjs()[:500]) == 1  # plotly.js embedded once
        assert re.search(r"<script[^>]*\bsrc=", html) is None  # nothing fetched: offline
        assert re.search(r"src=[\"']https?:", html) is None
    assert '<html lang="en">' in en
    assert '<html lang="zh-CN">' in zh
    en_heads, zh_heads = headings(en), headings(zh)
    assert len(en_heads) == len(zh_heads) > 3
    for h in en_heads:
        assert not CJK.search(h), h
    for h in zh_heads:
        assert CJK.search(h), h
        words = set(re.findall(r"[A-Za-z][A-Za-z-]+", h)) - _ABBREVIATIONS
        assert not words, (h, words)
    for text in chinese:
        assert shows(zh, text), text
        assert not shows(en, text), text
    for text in english:
        assert shows(en, text), text
        assert not shows(zh, text), text


def test_texts_are_looked_up_and_a_missing_one_is_named() -> None:
    assert tr("Alerts", "en") == "Alerts"
    assert tr("Alerts", "zh-CN") == "警报"
    with pytest.raises(KeyError, match="no zh-CN text for 'Not a text'"):
        tr("Not a text", "zh-CN")
    assert all(CJK.search(v) for v in TEXTS.values())
    assert all(CJK.search(v) or v.isupper() for v in COLUMNS.values())


def test_column_headers_follow_the_language() -> None:
    frame = pd.DataFrame({"bad_rate": [0.05], "inquiries_3m_custom": [1]}).rename_axis("month")
    assert list(translate_columns(frame, "en").columns) == ["bad_rate", "inquiries_3m_custom"]
    zh = translate_columns(frame, "zh-CN")
    assert list(zh.columns) == ["坏账率", "inquiries_3m_custom"]  # unknown names stay
    assert zh.index.name == "月份"
    assert column_label("score", "zh-CN") == "评分"
    assert column_label("score", "en") == "score"
    html = table(frame, lang="zh-CN")
    assert "<th>坏账率</th>" in html
    assert "0.0500" in html
    assert "<th>bad_rate</th>" in table(frame)


def test_a_page_embeds_plotly_once_and_sets_its_language() -> None:
    body = "<h1>{{ title }}</h1><h2>{{ t('Alerts') }}</h2><p>{{ x }}</p>"
    zh = render_page(body, {"title": "T", "x": "<b>"}, title="T", lang="zh-CN")
    assert '<html lang="zh-CN">' in zh
    assert "<h2>警报</h2>" in zh
    assert "<p>&lt;b&gt;</p>" in zh  # values are escaped; the table's texts are not
    en = render_page(body, {"title": "T", "x": ""}, title="T", lang="en")
    assert "<h2>Alerts</h2>" in en


@pytest.mark.parametrize("bad", ["fr", "de-DE", ""])
def test_an_unsupported_language_is_an_error_naming_lang(bad: str) -> None:
    with pytest.raises(DataError, match=r"lang: .* is not supported \(use one of en, zh-CN\)"):
        resolve_lang(bad)
