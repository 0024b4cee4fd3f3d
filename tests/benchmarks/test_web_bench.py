"""bench_web runs on a small store and book (the quick size: 12,000 applications, the least
on which the collections page can fit its scores) and reports every page, first and warm."""

from __future__ import annotations

import pytest
from benchmarks.run import _check_result

from benchmarks import bench_web as bench

pytestmark = pytest.mark.slow  # a year-long book, a store and every page: about 10 s of CPU


def test_the_web_benchmark_times_every_page() -> None:
    result = _check_result(bench.run(quick=True), "bench_web.py")
    metrics = result["metrics"]
    assert metrics["applications"] == bench.QUICK_N
    assert metrics["pages"] == len(bench.PAGES)
    for page in bench.PAGES:
        key = page.replace(" ", "_")
        assert metrics[f"{key}_first_s"] > 0
        assert 0 < metrics[f"{key}_warm_cpu_s"] <= metrics[f"{key}_warm_s"] * 2 + 0.05
    # the book pages were analysed once (their analysis CPU is in the table), then served from
    # memory: warm they cost a few milliseconds of CPU, not the analysis again
    header, *rows = result["table"]
    by_page = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    for page in bench.BOOK_PAGES:
        assert by_page[page]["analysis CPU s (once)"] > 0.05
        assert by_page[page]["warm CPU s (median)"] < by_page[page]["analysis CPU s (once)"] / 5
    assert metrics["simulate_s"] > 0
    assert set(by_page) == {*bench.PAGES, "GET /health", "simulate (POST)"}
