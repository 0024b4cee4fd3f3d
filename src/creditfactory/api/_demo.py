"""The service part of ``make demo``: start the service, post applications, verify, stop.

The demo command calls :func:`service_demo` and presents what it returns; nothing is printed
here.
"""

from __future__ import annotations

import json
import math
import secrets
import signal
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from creditfactory.api._server import start_server
from creditfactory.exceptions import DataError
from creditfactory.store import new_key


def _request(
    method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}"), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), dict(exc.headers)


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and math.isnan(v):
            v = None
        if v is not None and not isinstance(v, bool | int | float | str):
            v = str(v)
        out[k] = v
    return out


def _rows(applications: Any) -> list[Mapping[str, Any]]:
    """The applications as mappings: a pandas or Polars frame gives one per row."""
    if hasattr(applications, "to_dicts"):  # Polars
        return list(applications.to_dicts())
    if hasattr(applications, "to_dict") and hasattr(applications, "columns"):  # pandas
        return list(applications.to_dict("records"))
    if isinstance(applications, Mapping | str | bytes) or not isinstance(applications, Sequence):
        raise DataError(
            "applications: expected a pandas or Polars DataFrame or a list of mappings (one "
            f"application each), got {type(applications).__name__}"
        )
    bad = [i for i, a in enumerate(applications) if not isinstance(a, Mapping)]
    if bad:
        raise DataError(
            f"applications: item {bad[0]} is a {type(applications[bad[0]]).__name__}, "
            "not a mapping of input names to values"
        )
    return list(applications)


def service_demo(
    strategy: str | Path,
    applications: Sequence[Mapping[str, Any]] | Any,
    workdir: str | Path,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Start the service on 127.0.0.1, post ``applications`` (the first one twice, with the
    same ``Idempotency-Key``), verify the audit ledger and stop the service.

    Parameters
    ----------
    strategy : path
        The strategy file the service activates at start-up.
    applications : DataFrame or sequence of mappings
        Applications: a pandas or Polars frame (one application a row, e.g. the simulator's
        ``applications``) or a list of dicts.
    workdir : path
        Where the SQLite database ``service.db`` goes (replaced on each run) unless
        ``database_url`` is given.

    Returns
    -------
    dict
        ``url``, ``decisions`` (one dict per application: id, decision, limit, apr, reasons),
        ``retry_same_decision`` (bool), ``retry_status`` (200 for a replay), ``ledger``
        (the verify result), ``exit_code`` and ``stopped_cleanly`` of the stopped server.
    """
    applications = _rows(applications)
    if not applications:
        raise DataError("applications: at least one application is needed")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    admin = "cf_demo_" + secrets.token_urlsafe(12)
    env = {
        "CREDITFACTORY_DATABASE_URL": database_url or f"sqlite:///{workdir / 'service.db'}",
        "CREDITFACTORY_ADMIN_KEY": admin,
        "CREDITFACTORY_STRATEGY": str(Path(strategy).resolve()),
        "CREDITFACTORY_LIST_SECRET": secrets.token_urlsafe(16),
        "CREDITFACTORY_PII_KEY": new_key("demo"),  # identifiers stored encrypted
    }
    if database_url is None:  # a fresh demo database each run (its admin key is new each time)
        for leftover in [*workdir.glob("service.db*"), workdir / "anchors.jsonl"]:
            leftover.unlink(missing_ok=True)
        # the ledger head anchored outside the database, checked by the verify below
        env["CREDITFACTORY_ANCHOR_FILE"] = str(workdir / "anchors.jsonl")
        env["CREDITFACTORY_ANCHOR_KEY"] = secrets.token_urlsafe(24)
    headers = {"X-API-Key": admin}
    decisions: list[dict[str, Any]] = []
    with start_server(env=env) as server:
        first_key = "demo-" + secrets.token_hex(6)
        for i, app in enumerate(applications):
            h = {**headers, "Idempotency-Key": first_key} if i == 0 else headers
            status, body, _ = _request("POST", f"{server.url}/v1/applications", _jsonable(app), h)
            decisions.append({"status": status, **body})
        retry_status, retry, _ = _request(
            "POST", f"{server.url}/v1/applications", _jsonable(applications[0]),
            {**headers, "Idempotency-Key": first_key},
        )  # fmt: skip
        _, ledger, _ = _request("GET", f"{server.url}/v1/audit/verify", headers=headers)
        _, health, _ = _request("GET", f"{server.url}/health")
        url = server.url
    return {
        "url": url,
        "engine": health.get("engine"),
        "decisions": decisions,
        "retry_status": retry_status,
        "retry_same_decision": retry.get("decision_id") == decisions[0].get("decision_id"),
        "ledger": ledger,
        "exit_code": server.process.returncode,
        "stopped_cleanly": server.process.returncode in (0, -signal.SIGTERM),
    }
