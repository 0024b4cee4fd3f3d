"""The dashboard in a real browser: Debian's Chromium driven by Playwright against the real
server (tests/web/conftest.py). Log in, open every page, check that the plots render with data
and that no console error occurs, work one review end to end, check contrast and labelled
controls with axe-core (vendored from the npm registry: tests/web/vendor/axe.min.js, MPL-2.0),
and save a screenshot of every page under tests/web/artifacts/ (git-ignored)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import Live, call

from creditfactory.store import DecisionRecord, LedgerRow, Review, verify

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "vendor" / "axe.min.js"
# every page, with how many plots it draws with data
PAGES = {"overview": ("/ui/", 2), "reviews": ("/ui/reviews", 0),
         "strategies": ("/ui/strategies", 2), "models": ("/ui/models", 2),
         "portfolio": ("/ui/portfolio", 3), "collections": ("/ui/collections", 1)}  # fmt: skip

pytestmark = pytest.mark.slow  # a real server, a browser and a year-long book: about a minute

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright (pip) is not installed"
)
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's package chromium (make test does, as root)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Tab:
    """A page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, live: Live) -> None:
        self.live = live
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        return self.page.goto(self.live.url + path, wait_until="networkidle")

    def login(self, role: str) -> None:
        self.go("/ui/login")
        self.page.fill("#key", self.live.keys[role])
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(self.live.url + "/ui/")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2 A/AA violations of the page (contrast, labels, names ...)."""
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
                for v in result["violations"]]  # fmt: skip

    def plots(self) -> list[int]:
        """Points drawn per rendered plot (Plotly's data on each figure element)."""
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('figure.plot')).map(el =>
                 el.dataset.rendered && el.querySelector('svg.main-svg') && el.data
                   ? el.data.reduce((n, t) => n + ((t.y || t.z || []).length), 0) : -1)"""
        )


@pytest.fixture
def tab(browser: Any, live: Live) -> Iterator[Tab]:
    t = Tab(browser, live)
    try:
        yield t
    finally:
        t.page.close()


def test_pages_redirect_to_login_without_a_session(tab: Tab) -> None:
    for path, _ in PAGES.values():
        tab.go(path)
        assert tab.page.url == tab.live.url + "/ui/login", path
    assert tab.page.get_by_label("API key 密钥").count() == 1
    assert tab.axe() == []
    tab.page.fill("#key", "not-a-key")
    tab.page.click("form.login button[type=submit]")
    assert "Unknown or revoked API key" in tab.page.inner_text("p.error")
    assert tab.errors == [] or all("401" in e for e in tab.errors), tab.errors


def test_every_page_renders_its_plots_without_errors(tab: Tab) -> None:
    tab.login("read-only")
    cookie = next(c for c in tab.page.context.cookies() if c["name"] == "cf_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    for name, (path, n_plots) in PAGES.items():
        tab.go(path)
        assert tab.page.url == tab.live.url + path, name
        if n_plots:
            tab.page.wait_for_function(
                f"document.querySelectorAll('figure.plot[data-rendered]').length >= {n_plots}",
                timeout=15_000,
            )
        points = tab.plots()
        assert len(points) == n_plots, (name, points)
        assert all(p > 0 for p in points), (name, points)
        assert tab.page.locator(".empty").count() == 0, name
        tab.shot(name)
        violations = tab.axe()
        assert violations == [], (name, violations)
    assert tab.errors == [], tab.errors
    # the numbers the overview shows are the store's: 6 approvals, 3 refers, 3 declines
    tab.go("/ui/")
    assert tab.page.inner_text("#kpi-applications") == "12"
    assert [tab.page.inner_text(f"#kpi-{d}") for d in ("approve", "refer", "decline")] == [
        "6", "3", "3"]  # fmt: skip
    # champion/challenger: the arms the engine's traces name, counted from the API's decisions
    tab.go("/ui/strategies")
    assert "service_test 1" in tab.page.inner_text("#active-strategy")
    want: dict[str, list[int]] = {}
    for decision_id in range(1, 13):
        _, body = call(f"{tab.live.url}/v1/decisions/{decision_id}", "GET", tab.live.keys["admin"])
        arm = next((t.split(":")[1] for t in body["trace"] if t.startswith("cc:")), None)  # type: ignore[index]
        if arm is not None:
            counts = want.setdefault(arm, [0, 0])
            counts[0] += 1
            counts[1] += body["decision"] == "approve"  # type: ignore[index]
    got = {
        r[1]: [int(r[2]), int(r[3])]
        for r in (row.split("\t") for row in tab.page.locator("#arms tbody tr").all_inner_texts())
    }
    assert got == want
    assert sum(n for n, _ in want.values()) == 9  # the declined three never reach the split
    # the models page raises the drift alerts of the twin's shock
    tab.go("/ui/models")
    assert "alert(s)" in tab.page.inner_text("#alert-count")


def test_tables_sort_and_filter(tab: Tab) -> None:
    tab.login("read-only")
    tab.go("/ui/reviews?status=all")
    rows = tab.page.locator("#queue tbody tr")
    assert rows.count() == 3
    first_col = "() => Array.from(document.querySelectorAll('#queue tbody tr')).map(r => r.cells[0].dataset.value)"  # noqa: E501
    tab.page.click("#queue thead th:nth-child(1) button")
    asc = tab.page.evaluate(first_col)
    tab.page.click("#queue thead th:nth-child(1) button")
    desc = tab.page.evaluate(first_col)
    assert asc == sorted(asc, key=int)
    assert desc == asc[::-1]
    target = tab.page.inner_text("#queue tbody tr:nth-child(1) td:nth-child(2)")
    tab.page.fill("#queue-filter", target)
    visible = tab.page.locator("#queue tbody tr:not([hidden])")
    assert visible.count() == 1
    assert visible.first.inner_text().split("\t")[1] == target


def test_a_review_end_to_end(tab: Tab, live: Live) -> None:
    # a read-only key sees the queue but may not decide
    tab.login("read-only")
    tab.go("/ui/reviews")
    tab.page.click("#queue tbody tr:nth-child(1) a")
    assert tab.page.locator("form.verdict").count() == 0
    tab.page.click("form.logout button")
    assert tab.page.url == live.url + "/ui/login"
    tab.go("/ui/")
    assert tab.page.url == live.url + "/ui/login"  # logged out
    # the underwriter works the oldest referred application
    tab.login("underwriter")
    tab.go("/ui/reviews")
    before = tab.page.locator("#queue tbody tr").count()
    tab.page.click("#queue tbody tr:nth-child(1) a")
    review_id = int(tab.page.url.rsplit("/", 1)[1])
    assert tab.page.inner_text("#decision") == "refer"
    assert "RF_INQUIRIES" in tab.page.inner_text("#reasons")
    inputs = tab.page.inner_text("#inputs")
    assert "inquiries_3m\t5" in inputs  # the input the refer rule fired on
    assert "1101011990010" not in inputs  # the identifier masked for an underwriter
    assert tab.axe() == []
    tab.page.check("#outcome-approve")
    tab.page.fill("#reason", "x")  # too short: the same rule as the API (3 characters or more)
    tab.page.evaluate("document.getElementById('reason').removeAttribute('minlength')")
    tab.page.click("form.verdict button[type=submit]")
    assert "reason" in tab.page.inner_text("#review-error")
    tab.page.check("#outcome-approve")
    tab.page.fill("#reason", "payslips verified by phone; inquiries were one mortgage search")
    tab.page.click("form.verdict button[type=submit]")
    tab.page.wait_for_selector("#outcome")
    assert "approve" in tab.page.inner_text("#outcome")
    assert "underwriter" in tab.page.inner_text("#outcome")
    tab.shot("review-done")
    tab.go("/ui/reviews")
    assert tab.page.locator("#queue tbody tr").count() == before - 1
    assert tab.errors == [] or all("422" in e for e in tab.errors), tab.errors
    # the same ledger and records as the API's review endpoint
    with live.store.session() as s:  # type: ignore[attr-defined]
        review = s.get(Review, review_id)
        assert (review.status, review.outcome, review.reviewer) == (
            "done",
            "approve",
            "underwriter",
        )
        decision = s.get(DecisionRecord, review.decision_id)
        entry = s.execute(select(LedgerRow).where(LedgerRow.kind == "review")).scalars().all()
        assert [e.subject for e in entry] == [f"review:{review_id}"]
        assert verify(s).ok
    status, body = call(f"{live.url}/v1/decisions/{decision.id}", "GET", live.keys["admin"])
    assert status == 200
    assert body["final_decision"] == "approve"  # type: ignore[index]
    assert body["review"]["reason"].startswith("payslips")  # type: ignore[index]
    # a second verdict on the same review is refused (conflict), as the API refuses it
    status, body = call(f"{live.url}/v1/reviews/{review_id}", "POST", live.keys["underwriter"],
                        {"outcome": "decline", "reason": "again"})  # fmt: skip
    assert status == 409


def test_a_candidate_strategy_against_the_active_one(tab: Tab, live: Live) -> None:
    from tests.conftest import SERVICE_STRATEGY

    # an analyst pastes a candidate (a lower limit multiple, a stricter income floor) and sees
    # the comparison on the book: both strategies' totals, the swap sets and two charts
    candidate = SERVICE_STRATEGY.format(version="9", multiple=2).replace(
        "monthly_income < 3000", "monthly_income < 5000"
    )
    tab.login("analyst")
    tab.go("/ui/strategies")
    tab.page.click("#simulate-link")
    assert tab.page.url == live.url + "/ui/strategies/simulate"
    assert tab.axe() == []
    # a file is read into the box in the browser (the form posts text)
    upload = {"name": "candidate.yaml", "mimeType": "text/yaml", "buffer": candidate.encode()}
    tab.page.set_input_files("#source-file", files=[upload])
    tab.page.wait_for_function("document.getElementById('source').value.length > 100")
    assert tab.page.input_value("#source") == candidate
    assert "candidate.yaml loaded" in tab.page.inner_text("#source-file-note")
    tab.page.click("form.simulate button[type=submit]")
    tab.page.wait_for_selector("#comparison")
    tab.page.wait_for_function(
        "document.querySelectorAll('figure.plot[data-rendered]').length >= 2", timeout=15_000
    )
    points = tab.plots()
    assert len(points) == 2
    assert all(p > 0 for p in points), points
    labels = [r.split("\t")[0] for r in tab.page.locator("#totals tbody tr").all_inner_texts()]
    assert labels == ["candidate service_test 9", "active service_test 1"]
    swap = {
        r.split("\t")[0]: int(r.split("\t")[1].replace(",", ""))
        for r in tab.page.locator("#swap tbody tr").all_inner_texts()
    }
    assert swap["swap-in (this only)"] == 0  # a stricter floor only declines more
    assert swap["swap-out (other only)"] > 0
    assert sum(swap.values()) == 12_000  # every application of the book
    tab.shot("simulate")
    assert tab.axe() == []
    # a broken upload: the message names the line, nothing else changes
    tab.page.fill("#source", candidate.replace("monthly_income < 5000", "monthly_incom < 5000"))
    tab.page.click("form.simulate button[type=submit]")
    assert "line" in tab.page.inner_text("#simulate-error")
    assert tab.axe() == []
    assert tab.errors == [] or all("422" in e for e in tab.errors), tab.errors
    _, versions = call(f"{live.url}/v1/strategies", "GET", live.keys["admin"])
    assert [v["version"] for v in versions] == ["1"]  # type: ignore[union-attr,index]
