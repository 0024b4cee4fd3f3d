"""The OpenAPI document as a client needs it, and ``/docs`` served offline.

The application body of ``POST /v1/applications`` is the active strategy's inputs (types,
ranges, allowed values, all required), regenerated whenever another version is activated;
:func:`example_of` builds a valid example body from the same inputs. Swagger UI's assets come
from the installed ``swagger-ui-bundle`` package and are served by the app itself (no CDN).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from creditfactory.decision import InputSpec, Strategy
from creditfactory.store import active_strategy

DOCS_ASSETS = "/docs/assets"
APPLICATIONS = "/v1/applications"

_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}

# realistic values of the simulator's application columns (creditfactory.data): an example that
# reads like an application, where the strategy's domain allows them
_EXAMPLES: dict[str, Any] = {
    "application_id": "A-2026-000001", "id_number": "110101199106153020",
    "phone": "13800138000", "device_id": "dev-7f3a9c21", "product": "cash_loan",
    "channel": "app", "amount_requested": 20000.0, "term_requested": 12, "age": 35,
    "monthly_income": 12000.0, "occupation": "enterprise_employee", "education": "bachelor",
    "housing": "own", "relationship": "payroll", "city_tier": 2, "thin_file": False,
    "bureau_history_months": 60.0, "inquiries_3m": 1, "inquiries_6m": 2,
    "delinquencies_24m": 0, "utilisation": 0.35, "bureau_monthly_debt": 1500.0,
    "contacts_blacklisted_share": 0.01, "gps_city_mismatch": False, "night_application": False,
    "loan_apps_installed": 2, "form_fill_seconds": 180.0, "phone_price_tier": "high",
    "ecommerce_spend": 2000.0, "third_party_score": 650.0,
}  # fmt: skip


def input_schema(spec: InputSpec) -> dict[str, Any]:
    """The JSON schema of one declared input."""
    one: dict[str, Any] = {"type": _JSON_TYPES[spec.kind]}
    if spec.minimum is not None:
        one["minimum"] = spec.minimum
    if spec.maximum is not None:
        one["maximum"] = spec.maximum
    if spec.values is not None:
        one["enum"] = sorted(spec.values, key=str)
    if spec.nullable:
        return {"anyOf": [one, {"type": "null"}], "description": "nullable: send null if unknown"}
    return one


def application_schema(strategy: Strategy) -> dict[str, Any]:
    """The application body the strategy decides: every declared input, required (a nullable
    one as an explicit null); other fields are stored with the application."""
    return {
        "type": "object",
        "title": f"Application ({strategy.name} v{strategy.version})",
        "description": (
            f"the inputs of the active strategy {strategy.name} v{strategy.version}; "
            "application_id, when sent, is the client's own id (GET /v1/applications/"
            "{external_id}); other fields are stored with the application"
        ),
        "properties": {s.name: input_schema(s) for s in strategy.inputs},
        "required": [s.name for s in strategy.inputs],
        "additionalProperties": True,
        "examples": [example_of(strategy)],  # OpenAPI 3.1: JSON Schema's examples
    }


def _example(spec: InputSpec) -> Any:
    if spec.values is not None:
        preferred = _EXAMPLES.get(spec.name)
        return preferred if preferred in spec.values else sorted(spec.values, key=str)[0]
    value = _EXAMPLES.get(spec.name)
    kind = spec.kind
    if isinstance(value, int | float) and type(value) is {"int": int, "float": float}.get(kind):
        if (spec.minimum is None or value >= spec.minimum) and (
            spec.maximum is None or value <= spec.maximum
        ):
            return value
    elif (kind == "str" and isinstance(value, str)) or (kind == "bool" and isinstance(value, bool)):
        return value
    if kind == "bool":
        return False
    if kind == "str":
        return f"{spec.name}-1"
    lo = spec.minimum if spec.minimum is not None else 0.0
    hi = spec.maximum if spec.maximum is not None else max(lo, 0.0) + 100.0
    mid = lo + (hi - lo) / 2 if hi - lo < 1000 else lo + (hi - lo) / 1000
    return int(mid) if kind == "int" else round(float(mid), 2)


def example_of(strategy: Strategy) -> dict[str, Any]:
    """A body the strategy accepts: realistic values for the simulator's columns, else a value
    inside each input's range (the first allowed value of a categorical input).

    >>> s = Strategy.from_yaml(
    ...     "strategy: x\\nversion: '1'\\ninputs: {age: {type: int, min: 18, max: 70}, "
    ...     "k: {type: str, values: [b, a]}, w: {type: float, nullable: true}}\\nflow: []")
    >>> example_of(s)
    {'age': 35, 'k': 'a', 'w': 50.0}
    """
    return {spec.name: _example(spec) for spec in strategy.inputs}


def install_openapi(app: FastAPI) -> None:
    """Serve ``/docs`` from the installed Swagger UI assets and make the application body of
    the OpenAPI document the active strategy's inputs (rebuilt when the active version
    changes)."""
    import swagger_ui_bundle

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), "docs-assets")
    oauth = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=oauth,
        )

    @app.get(oauth, include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    base = app.openapi
    state: dict[str, Any] = {"key": None, "doc": None}

    def openapi() -> dict[str, Any]:
        store, explainer = app.state.store, app.state.explainer
        with store.session() as session:
            row = active_strategy(session)
            key = None if row is None else (row.name, row.version)
            if state["doc"] is not None and state["key"] == key:
                return state["doc"]  # type: ignore[no-any-return]
            strategy = None if row is None else explainer.strategy(session, row.name, row.version)
        app.openapi_schema = None  # FastAPI's own document, built afresh
        doc = base()
        if strategy is not None:
            op = doc["paths"][APPLICATIONS]["post"]
            op["requestBody"]["content"]["application/json"]["schema"] = application_schema(
                strategy
            )
        state.update(key=key, doc=doc)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
