"""drills/run.py: a drill fails on a must-be-0 count, a crash or its own verdict."""

from __future__ import annotations

import io

from drills._common import result
from rich.console import Console

from drills import run


def test_a_must_be_zero_count_fails_a_drill_that_says_it_passed() -> None:
    assert not run.failed(result("x", True, lost=0, duplicated=0, unauthorised=0))
    assert run.failed(result("x", True, lost=1))
    assert run.failed(result("x", True, duplicated=2))
    assert run.failed(result("x", True, unauthorised=1))
    assert run.failed(result("x", False))
    assert run.failed({"name": "x", "passed": True, "crashed": "exit status 1"})


def test_the_table_shows_every_count_and_the_verdict() -> None:
    out = io.StringIO()
    rows = [
        result("kill", True, sent=10, accepted=8, lost=0, duplicated=0),
        result("tamper", False, tamper_caught=3, tamper_tried=5),
        result("fuzz", False, fuzz_cases=50, fuzz_failures=2),
    ]
    run.table(Console(file=out, width=200), rows)
    text = out.getvalue()
    assert "3 / 5" in text
    assert "50 / 2" in text
    assert text.count("FAIL") == 2
    assert "pass" in text


def test_no_matching_drill_is_exit_status_2() -> None:
    assert run.main(["no-such-drill"]) == 2
