"""The benchmark tests run the benchmarks' own timing loops, which collect garbage before each
timed call (``gc.collect()``: one call's leftovers must not bill the next).

In the whole suite that collection walks every object the earlier tests left alive (imported
libraries, session fixtures): seconds a call, hundreds of them. Each test here runs with what
existed before it frozen (``gc.freeze``: out of every collection, not freed), so that the
benchmarks' collections walk only what the test itself made, as they do in ``make bench``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _earlier_objects_frozen() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
