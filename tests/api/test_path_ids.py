"""Ids in paths: beyond the id columns' 32 bits, zero or negative, they are 422s (unknown ones
within, 404s), never a database error, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.api.conftest import Api

ROUTES = [
    ("get", "/v1/applications/internal/{}"),
    ("get", "/v1/decisions/{}"),
    ("get", "/v1/strategies/{}"),
    ("post", "/v1/strategies/{}/activate"),
    ("post", "/v1/reviews/{}"),
    ("delete", "/v1/keys/{}"),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2**63, 422),
        (2**63 - 1, 422),
        (10**30, 422),
        (2**31, 422),
        (-1, 422),
        (0, 422),
        (2**31 - 1, 404),
    ],
)
def test_path_ids_beyond_the_columns_are_422_not_500(api: Api, value: int, expected: int) -> None:
    for method, route in ROUTES:
        kw = {"json": {"outcome": "approve", "reason": "checked"}} if "reviews" in route else {}
        r = api.client.request(method, route.format(value), headers=api.as_("admin"), **kw)
        assert r.status_code == expected, (method, route, value, r.text)
