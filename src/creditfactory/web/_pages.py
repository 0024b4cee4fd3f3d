"""The dashboard's routes under ``/ui/``: login and logout, overview, the review queue, strategies,
and the book-based pages (models, portfolio, collections).

Every page needs a session (a redirect to the login page otherwise); every form carries the
session's CSRF token (403 otherwise). Writes go through the same store functions as the API
(``complete_review``), with the same role rules (the permission map the API passes in).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from creditfactory.exceptions import CreditFactoryError
from creditfactory.store import ApiKey, AuthError, Store, authenticate, complete_review
from creditfactory.web import _book_views, _plots, _simulation, _store_views
from creditfactory.web._session import COOKIE, LOGIN_CSRF_COOKIE, Signer, same_token

PREFIX = "/ui"
ACTION = "simulate strategies"  # the 403's wording (the API's ACTIONS["strategies.simulate"])
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}

_env = Environment(
    loader=PackageLoader("creditfactory.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

NAV = (
    ("overview", "/ui/", "Overview 概览"),
    ("reviews", "/ui/reviews", "Reviews 人工审核"),
    ("strategies", "/ui/strategies", "Strategies 策略"),
    ("models", "/ui/models", "Models 模型监控"),
    ("portfolio", "/ui/portfolio", "Portfolio 资产组合"),
    ("collections", "/ui/collections", "Collections 催收"),
)


@dataclass(frozen=True)
class Viewer:
    """The logged-in key: its row id, name, role and the session's CSRF token."""

    key_id: int
    name: str
    role: str
    csrf: str


def plotly_js() -> Path:
    """plotly.js as shipped in the installed plotly package (served at ``/ui/static``)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


async def form_of(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form (the first value of each; an unreadable body: none)."""
    return parse_form(request.headers.get("content-type", ""), await request.body())


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a urlencoded body (none for another content type or bad encoding)."""
    if content_type.split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items()}


async def capped_form(request: Request, limit: int) -> dict[str, str] | None:
    """:func:`form_of` for a body of at most ``limit`` bytes (``None``: larger), read as it
    streams in, whatever ``Content-Length`` claims."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            return None
        chunks.append(chunk)
    return parse_form(request.headers.get("content-type", ""), b"".join(chunks))


def render(name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with ``context`` as an HTML response of status ``code``."""
    context.setdefault("nav", NAV)
    return HTMLResponse(_env.get_template(name).render(**context), status_code=code)


def install(app: FastAPI, permissions: Mapping[str, frozenset[str]]) -> None:
    """Mount the dashboard on ``app`` (which holds ``state.settings`` and ``state.store``).

    ``permissions`` maps an action to the roles that may take it (the API's map): viewing needs
    ``read``, completing a review ``reviews.decide``, simulating a candidate strategy
    ``strategies.simulate``.
    """
    settings = app.state.settings
    key = settings.ui_secret.get_secret_value().encode() if settings.ui_secret else None
    signer = Signer(key or secrets.token_bytes(32), settings.ui_session_hours * 3600.0)
    app.include_router(_router(signer, dict(permissions)))
    _book_views.prepare(settings)  # the book pages analysed in the background, once


def _router(signer: Signer, permissions: dict[str, frozenset[str]]) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def store_of(request: Request) -> Store:
        return request.app.state.store  # type: ignore[no-any-return]

    def viewer(request: Request) -> Viewer | None:
        grant = signer.open(request.cookies.get(COOKIE))
        if grant is None:
            return None
        with store_of(request).sessions() as session:
            row = session.get(ApiKey, grant.key_id)
            if row is None or row.revoked_at is not None:
                return None
            if row.role not in permissions["read"]:
                return None
            return Viewer(row.id, row.name, row.role, grant.csrf)

    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    def page(request: Request, name: str, active: str, who: Viewer, code: int = 200,
             **context: Any) -> Response:  # fmt: skip
        response = render(name, code, active=active, viewer=who, **context)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            return FileResponse(plotly_js(), media_type="text/javascript",
                                headers={"Cache-Control": "max-age=86400"})  # fmt: skip
        if name not in STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        path = Path(str(resources.files("creditfactory.web") / "static" / name))
        return FileResponse(path, media_type=STATIC[name])

    @router.get("/login")
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = render("login.html", csrf=token, error=None)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path=PREFIX)  # fmt: skip
        return response

    @router.post("/login")
    async def login_post(request: Request) -> Response:
        form = await form_of(request)
        return await run_in_threadpool(login, request, form.get("key", ""), form.get("csrf", ""))

    def login(request: Request, key: str, csrf: str) -> Response:
        if not same_token(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
            return render("login.html", 403, csrf=request.cookies.get(LOGIN_CSRF_COOKIE) or "",
                          error="The form expired: reload the page and try again.")  # fmt: skip
        # the API's throttle of failed authentications per address counts the form's too
        limits = getattr(request.app.state, "limits", None)
        address = request.client.host if request.client else ""
        reserved = False
        if limits is not None:
            wait, reserved = limits.refused(address, key.strip() or None)
            if wait:
                return render("login.html", 429, csrf=csrf, error=limits.failed_text(wait))
        try:
            with store_of(request).sessions() as session:
                row = authenticate(session, key.strip())
                key_id, role = row.id, row.role
        except AuthError:
            if limits is not None:
                limits.failed(address, "POST", f"{PREFIX}/login", reserved)
            return render("login.html", 401, csrf=csrf,
                          error="Unknown or revoked API key. 密钥无效。")  # fmt: skip
        if limits is not None and reserved:
            limits.passed(address)
        if role not in permissions["read"]:
            return render("login.html", 403, csrf=csrf, error=f"Role {role!r} may not read.")
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(COOKIE, signer.issue(key_id), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path=PREFIX,
                            max_age=int(signer.max_age))  # fmt: skip
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
        return response

    @router.post("/logout")
    async def logout_post(request: Request) -> Response:
        form = await form_of(request)
        return await run_in_threadpool(logout, request, form.get("csrf", ""))

    def logout(request: Request, csrf: str) -> Response:
        who = viewer(request)
        if who is not None and not same_token(csrf, who.csrf):
            return Response("CSRF token missing or wrong", status_code=403)
        response = to_login(request)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @router.get("")
    def root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @router.get("/")
    def overview_page(request: Request) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        with store_of(request).sessions() as session:
            data = _store_views.overview(session)
        plots = []
        if data.days:
            plots = [
                _plots.decisions_by_day(data.days, data.by_day),
                _plots.amount_by_day(data.days, data.amount_by_day),
            ]
        rows = [
            {"day": d, **{k: v[i] for k, v in data.by_day.items()},
             "amount": data.amount_by_day[i]}
            for i, d in enumerate(data.days)
        ]  # fmt: skip
        return page(request, "overview.html", "overview", who, data=data, plots=plots, rows=rows)

    @router.get("/reviews")
    def reviews_page(request: Request, status: str = "pending") -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        status = status if status in ("pending", "done", "all") else "pending"
        with store_of(request).sessions() as session:
            rows = _store_views.queue(session, None if status == "all" else status)
            items = [_queue_item(r) for r in rows]
        return page(request, "reviews.html", "reviews", who, items=items, status=status)

    def review_response(
        request: Request,
        who: Viewer,
        review_id: int,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        with store_of(request).sessions() as session:
            row = _store_views.review_of(session, review_id)
            if row is None:
                return page(request, "message.html", "reviews", who, code=404,
                            title="Not found", message=f"review {review_id} not found")  # fmt: skip
            item = _queue_item(row)
            pii = getattr(request.app.state, "pii", None)
            values = _shown(pii, row.decision.values, who.role)
            inputs = _shown(pii, row.payload, who.role)
        may_decide = who.role in permissions["reviews.decide"]
        return page(
            request, "review.html", "reviews", who, status, item=item, values=values,
            inputs=inputs, may_decide=may_decide, error=error, form=form or {},
        )  # fmt: skip

    @router.get("/reviews/{review_id}")
    def review_page(request: Request, review_id: int) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        return review_response(request, who, review_id)

    @router.post("/reviews/{review_id}")
    async def review_post(request: Request, review_id: int) -> Response:
        form = await form_of(request)
        return await run_in_threadpool(review_decide, request, review_id,
                                       form.get("outcome", ""), form.get("reason", ""),
                                       form.get("csrf", ""))  # fmt: skip

    def review_decide(
        request: Request, review_id: int, outcome: str, reason: str, csrf: str
    ) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        form = {"outcome": outcome, "reason": reason}
        if not same_token(csrf, who.csrf):
            return review_response(request, who, review_id, 403, "The form's CSRF token is "
                                   "missing or wrong: reload the page.", form)  # fmt: skip
        if who.role not in permissions["reviews.decide"]:
            roles = ", ".join(sorted(permissions["reviews.decide"]))
            return review_response(request, who, review_id, 403,
                                   f"role {who.role!r} may not decide reviews (needs one of: "
                                   f"{roles})", form)  # fmt: skip
        reason = reason.strip()
        if not 3 <= len(reason) <= 2000:
            return review_response(request, who, review_id, 422,
                                   "reason: give 3 to 2000 characters", form)  # fmt: skip
        try:
            with store_of(request).session() as session:
                complete_review(session, review_id, outcome, reason, who.name)
        except CreditFactoryError as exc:
            status = getattr(exc, "status_code", None) or _status_of(exc)
            return review_response(request, who, review_id, status, str(exc), form)
        return RedirectResponse(f"{PREFIX}/reviews/{review_id}", status_code=303)

    @router.get("/strategies")
    def strategies_page(request: Request) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        with store_of(request).sessions() as session:
            data = _store_views.strategies(session)
            active = (
                None
                if data.active is None
                else {
                    "id": data.active.id,
                    "name": data.active.name,
                    "version": data.active.version,
                }
            )
        plots = []
        versions = [v for v in data.versions if v["decisions"]]
        if versions:
            labels = [f"{v['name']} {v['version']} (#{v['id']})" for v in versions]
            by = {d: [v[d] for v in versions] for d in _store_views.DECISIONS}
            plots.append(
                _plots.stacked(
                    "Decisions by version 各版本决策", "strategy version 策略版本", labels, by
                )
            )
        if data.arms:
            labels = [f"{a['split']}:{a['arm']}" for a in data.arms]
            by = {d: [a[d] for a in data.arms] for d in _store_views.DECISIONS}
            plots.append(
                _plots.stacked(
                    "Decisions by arm (active version) 各分组决策",
                    "split:arm 分流:分组",
                    labels,
                    by,
                )
            )
        return page(request, "strategies.html", "strategies", who, data=data, current=active,
                    plots=plots)  # fmt: skip

    def simulate_response(request: Request, who: Viewer, code: int = 200, source: str = "",
                          error: str | None = None,
                          result: _simulation.Comparison | None = None) -> Response:  # fmt: skip
        roles = permissions["strategies.simulate"]
        return page(request, "simulate.html", "strategies", who, code, source=source,
                    error=error, result=result, plots=result.plots if result else [],
                    may_simulate=who.role in roles, roles=", ".join(sorted(roles)),
                    max_bytes=_simulation.MAX_SOURCE_BYTES, max_rows=_simulation.MAX_ROWS,
                    book=request.app.state.settings.ui_book)  # fmt: skip

    @router.get("/strategies/simulate")
    def simulate_page(request: Request) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        return simulate_response(request, who)

    @router.post("/strategies/simulate")
    async def simulate_post(request: Request) -> Response:
        form = await capped_form(request, _simulation.MAX_BODY_BYTES)
        return await run_in_threadpool(simulate_run, request, form)

    def simulate_run(request: Request, form: dict[str, str] | None) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        if form is None:
            return simulate_response(request, who, 413, error=(
                f"The upload is larger than {_simulation.MAX_BODY_BYTES:,} bytes; a strategy "
                f"may have at most {_simulation.MAX_SOURCE_BYTES:,} bytes of YAML."))  # fmt: skip
        if not same_token(form.get("csrf", ""), who.csrf):
            return simulate_response(request, who, 403, error=(
                "The form's CSRF token is missing or wrong: reload the page."))  # fmt: skip
        roles = permissions["strategies.simulate"]
        if who.role not in roles:
            return simulate_response(request, who, 403, error=(
                f"role {who.role!r} may not {ACTION} (needs one of: "
                f"{', '.join(sorted(roles))})"))  # fmt: skip
        raw = form.get("source", "")
        settings = request.app.state.settings
        try:
            source = _simulation.source_of(raw)
            with store_of(request).sessions() as session:
                result = _simulation.compare(session, source, settings.ui_book,
                                             settings.strategy_file_max_bytes)  # fmt: skip
        except _simulation.SimulationRefusedError as exc:
            shown = raw if len(raw.encode("utf-8")) <= _simulation.MAX_SOURCE_BYTES else ""
            return simulate_response(request, who, exc.status, shown, str(exc))
        return simulate_response(request, who, 200, source, result=result)

    for name, builder in _book_views.PAGES.items():
        _book_route(router, name, builder, viewer, to_login, page)
    return router


def _book_route(router: APIRouter, name: str, builder: Any, viewer: Any, to_login: Any,
                page: Any) -> None:  # fmt: skip
    @router.get(f"/{name}", name=f"ui_{name}")
    def book_page(request: Request) -> Response:
        who = viewer(request)
        if who is None:
            return to_login(request)
        settings = request.app.state.settings
        view = _book_views.load(settings.ui_book, name, builder, settings)
        return page(request, "book.html", name, who, view=view, plots=view.plots)


def _shown(pii: Any, stored: dict[str, Any], role: str) -> dict[str, Any]:
    """Stored fields as ``role`` may see them (identifiers masked but for an admin)."""
    if pii is None:
        return dict(stored)
    try:
        return dict(pii.reveal(stored, role))
    except CreditFactoryError as exc:
        return {"error": f"the stored fields do not open: {exc}"}


def _status_of(exc: CreditFactoryError) -> int:
    kind = type(exc).__name__
    return {"NotFoundError": 404, "ConflictError": 409}.get(kind, 422)


def _queue_item(row: _store_views.QueueRow) -> dict[str, Any]:
    r, d = row.review, row.decision
    return {
        "id": r.id, "decision_id": d.id, "application": row.external_id or d.application_id,
        "queue_reason": r.queue_reason, "decision": d.decision, "reasons": d.reasons,
        "trace": d.trace, "limit": d.limit, "apr": d.apr, "term": d.term,
        "strategy": f"{d.strategy} {d.version}", "model_versions": d.model_versions,
        "list_hits": d.list_hits, "status": r.status, "outcome": r.outcome, "reason": r.reason,
        "reviewer": r.reviewer, "queued_at": r.queued_at, "reviewed_at": r.reviewed_at,
        "decided_at": d.decided_at,
    }  # fmt: skip
