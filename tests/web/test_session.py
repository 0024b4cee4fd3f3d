"""The dashboard's session and forms without a browser: signed cookies, CSRF tokens on every
form, redirects to the login page, the API's roles, revoked keys, the empty states."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import SERVICE_STRATEGY
from tests.web.conftest import ADMIN, KEYS, TOKEN, application, keyed_app, login

from creditfactory.api import Settings, create_app
from creditfactory.store import DecisionRecord
from creditfactory.web import Signer


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, admin_key=ADMIN, engine_process=False, qc_rate=0.0)
    app = keyed_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/v1/strategies", headers={"X-API-Key": ADMIN},
                   json={"source": SERVICE_STRATEGY.format(version="1", multiple=3),
                         "activate": True})  # fmt: skip
        assert r.status_code == 201, r.text
        for i, kind in enumerate(["approve", "refer", "decline", "refer"]):
            r = c.post("/v1/applications", json=application(i, kind),
                       headers={"X-API-Key": KEYS["analyst"]})  # fmt: skip
            assert r.json()["decision"] == kind
        yield c
    app.state.store.dispose()


def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/ui/", "/ui/reviews", "/ui/reviews/1", "/ui/strategies", "/ui/models",
                 "/ui/portfolio", "/ui/collections"):  # fmt: skip
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/ui/login"), path
    r = client.post("/ui/reviews/1", data={"outcome": "approve", "reason": "fine"},
                    follow_redirects=False)  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")


def test_login_needs_its_csrf_token_and_a_valid_key(client: TestClient) -> None:
    client.get("/ui/login")
    r = client.post("/ui/login", data={"key": KEYS["admin"]})  # no token
    assert r.status_code == 403
    assert "cf_session" not in client.cookies
    token = TOKEN.search(client.get("/ui/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/ui/login", data={"key": "wrong-key", "csrf": token})
    assert r.status_code == 401
    assert "Unknown or revoked API key" in r.text
    r = client.post("/ui/login", data={"key": KEYS["admin"], "csrf": token},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert KEYS["admin"] not in cookie  # the key itself never goes into the cookie


def test_a_tampered_or_foreign_cookie_is_no_session(client: TestClient) -> None:
    login(client, "admin")
    good = client.cookies["cf_session"]
    body, mac = good.split(".")
    client.cookies.clear()
    client.cookies.set("cf_session", good)  # the good cookie alone still works
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    client.cookies.set("cf_session", f"{body}.{'0' * len(mac)}")
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    other = Signer(b"another-secret" * 3, 3600).issue(1)  # signed with another key
    client.cookies.set("cf_session", other)
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_a_review_form_needs_the_session_csrf_token_and_the_role(client: TestClient) -> None:
    csrf = login(client, "read-only")
    r = client.post("/ui/reviews/1", data={"outcome": "approve", "reason": "fine", "csrf": csrf})
    assert r.status_code == 403
    assert "may not decide reviews" in r.text
    client.post("/ui/logout", data={"csrf": csrf})
    csrf = login(client, "underwriter")
    r = client.post("/ui/reviews/1", data={"outcome": "approve", "reason": "fine"})
    assert r.status_code == 403
    assert "CSRF" in r.text
    r = client.post("/ui/reviews/1", data={"outcome": "maybe", "reason": "fine", "csrf": csrf})
    assert r.status_code == 422
    assert "outcome" in r.text
    r = client.post("/ui/reviews/1", data={"outcome": "decline", "reason": "no", "csrf": csrf})
    assert r.status_code == 422  # the API's rule: 3 characters or more
    r = client.post("/ui/reviews/1", data={"outcome": "decline", "reason": "fake payslip",
                                           "csrf": csrf})  # fmt: skip
    assert r.status_code == 200
    assert "fake payslip" in r.text
    r = client.post("/ui/reviews/1", data={"outcome": "approve", "reason": "again", "csrf": csrf})
    assert r.status_code == 409  # already completed: the store's conflict
    # the API sees the override the page recorded
    queue = client.get("/v1/reviews?status=done", headers={"X-API-Key": ADMIN}).json()
    assert [(q["id"], q["outcome"], q["reviewer"]) for q in queue] == [
        (1, "decline", "underwriter")
    ]


def test_a_revoked_key_ends_its_sessions(client: TestClient) -> None:
    login(client, "analyst")
    assert client.get("/ui/strategies", follow_redirects=False).status_code == 200
    keys = client.get("/v1/keys", headers={"X-API-Key": ADMIN}).json()
    analyst = next(k["id"] for k in keys if k["name"] == "analyst")
    assert client.delete(f"/v1/keys/{analyst}", headers={"X-API-Key": ADMIN}).status_code == 200
    assert client.get("/ui/strategies", follow_redirects=False).status_code == 303


def test_book_pages_say_when_no_book_is_configured(client: TestClient) -> None:
    login(client, "read-only")
    for path in ("/ui/models", "/ui/portfolio", "/ui/collections"):
        r = client.get(path)
        assert r.status_code == 200
        assert "CREDITFACTORY_UI_BOOK" in r.text, path


def test_overview_counts_are_the_stores(client: TestClient) -> None:
    login(client, "read-only")
    page = client.get("/ui/").text
    got = {k: re.search(rf'id="kpi-{k}">([^<]+)<', page).group(1)  # type: ignore[union-attr]
           for k in ("applications", "approve", "refer", "decline", "pending")}  # fmt: skip
    assert got == {"applications": "4", "approve": "1", "refer": "2", "decline": "1",
                   "pending": "2"}  # fmt: skip


def test_failed_logins_count_against_the_apis_throttle(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", admin_key=ADMIN,
                        engine_process=False, auth_failures=2, auth_failure_window=600)  # fmt: skip
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        token = TOKEN.search(c.get("/ui/login").text).group(1)  # type: ignore[union-attr]
        codes = [c.post("/ui/login", data={"key": f"guess-{i}", "csrf": token}).status_code
                 for i in range(4)]  # fmt: skip
        assert codes[:2] == [401, 401]
        assert codes[2:] == [429, 429]
        # the API refuses the address too: one throttle for both fronts
        assert c.get("/v1/reviews", headers={"X-API-Key": "guess-9"}).status_code == 429
    app.state.store.dispose()


@pytest.mark.parametrize("settled", [0.0, 60.0])
def test_arm_counts_are_the_traces_and_follow_new_decisions(
    db_url: str, settled: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strategies page's champion/challenger table counts in the database and keeps its
    counts between requests: it must equal the traces' arms, and take new decisions in (kept
    counts brought up to date when decisions settle at once; counted afresh within the minute
    they may still be committing)."""
    import datetime as dt

    from tests.web.conftest import split_strategy

    from creditfactory.web import _store_views

    monkeypatch.setattr(_store_views, "SETTLED", dt.timedelta(seconds=settled))

    settings = Settings(database_url=db_url, admin_key=ADMIN, engine_process=False, qc_rate=0.0)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/v1/strategies", headers={"X-API-Key": ADMIN},
                   json={"source": split_strategy(), "activate": True})  # fmt: skip
        assert r.status_code == 201, r.text
        login(c, "admin")

        def page_arms() -> dict[str, list[int]]:
            text = c.get("/ui/strategies").text
            body = text.split('<table id="arms"', 1)[1].split("</table>", 1)[0]
            rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
            cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
            return {cs[1]: [int(cs[2]), int(cs[3])] for cs in cells}

        def stored_arms() -> dict[str, list[int]]:
            want: dict[str, list[int]] = {}
            with app.state.store.sessions() as s:
                rows = s.execute(select(DecisionRecord.trace, DecisionRecord.decision)).all()
            for trace, decision in rows:
                arm = next((t.split(":")[1] for t in trace if t.startswith("cc:")), None)
                if arm is not None:
                    counts = want.setdefault(arm, [0, 0])
                    counts[0] += 1
                    counts[1] += decision == "approve"
            return want

        for batch in (range(0, 8), range(8, 20)):
            for i in batch:
                kind = ("approve", "refer", "decline")[i % 3]
                r = c.post("/v1/applications", json=application(i, kind),
                           headers={"X-API-Key": ADMIN})  # fmt: skip
                assert r.status_code == 201, r.text
            got = page_arms()
            assert got == stored_arms()
            kept = list(_store_views._arm_counts[app.state.store.engine].values())
            last = kept[0][0] if kept else 0
            assert last == (len(batch) + batch.start if settled == 0 else 0)  # kept or not
            assert sum(n for n, _ in got.values()) == len([i for i in range(batch.stop)
                                                           if i % 3 != 2])  # fmt: skip
    app.state.store.dispose()
