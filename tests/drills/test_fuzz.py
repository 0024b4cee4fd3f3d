"""schemathesis over the OpenAPI document, hypothesis over strategies and loaders."""

from __future__ import annotations

from drills import drill_fuzz

# every kind of garbled strategy: characters changed, whole documents, nesting 50-5,000 levels
# deep, a part replaced by a random value
GARBLINGS = ("characters", "document", "deep", "subtree")


def test_fuzzing_finds_no_500_no_leak_and_no_stray_exception() -> None:
    out = drill_fuzz.run(per_operation=1, library=20, garblings=GARBLINGS)
    assert out["findings"] == []
    assert out["fuzz_failures"] == 0
    assert out["figures"]["http_cases"] >= 40  # both modes of every operation, mostly
    assert out["fuzz_cases"] == out["figures"]["http_cases"] + 20 + 20
    assert 429 not in out["figures"]["http_statuses"]  # every case reached its route
