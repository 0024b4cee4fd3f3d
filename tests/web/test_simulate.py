"""The strategies page's simulation of an uploaded candidate against the active version, without
a browser: the figures are the back-test's (``Strategy.simulate``, as ``creditfactory strategy
simulate --against``), a bad upload is a clear message and never a traceback, and nothing stored
changes. Attacks: a huge body, binary garbage, YAML bombs, file references, no CSRF token, a role
without the permission."""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.web.conftest import ADMIN, keyed_app, login

from creditfactory.api import ACTIONS, PERMISSIONS, Settings
from creditfactory.decision import FileAccess, Strategy
from creditfactory.store import Activation, LedgerRow, StrategyVersion
from creditfactory.web import _pages, _simulation

PAGE = "/ui/strategies/simulate"


def strategy(version: str, floor: int, multiple: int = 3) -> str:
    """A strategy on the book's own application fields: an income knock-out and an offer."""
    return f"""strategy: web_sim
version: "{version}"
key: application_id
inputs:
  application_id: str
  monthly_income: {{type: float, min: 0, max: 100000000}}
  term_requested: {{type: int, min: 1, max: 120}}
flow:
  - rules:
      name: knockouts
      rules:
        - {{name: low_income, when: "monthly_income < {floor}", action: decline, reason: KO_INCOME}}
  - assign:
      name: offer
      set:
        limit: "min(monthly_income * {multiple}, 50000)"
        apr: "0.18"
        term: "term_requested"
"""


ACTIVE = strategy("1", 4000)
CANDIDATE = strategy("2", 6000, multiple=2)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from creditfactory.data import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("simbook")
    simulate(SimulationConfig(n_applications=3000, seed=5)).write(root / "book")
    return root / "book"


@pytest.fixture(scope="module")
def client(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("simdb") / "sim.db"
    settings = Settings(database_url=f"sqlite:///{db}", admin_key=ADMIN, engine_process=False,
                        qc_rate=0.0, ui_book=book)  # fmt: skip
    app = keyed_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/v1/strategies", headers={"X-API-Key": ADMIN},
                   json={"source": ACTIVE, "activate": True})  # fmt: skip
        assert r.status_code == 201, r.text
        yield c
    app.state.store.dispose()


def stored(c: TestClient) -> tuple[int, int, int]:
    store = c.app.state.store  # type: ignore[attr-defined]
    with store.sessions() as s:
        return tuple(  # type: ignore[return-value]
            int(s.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (StrategyVersion, Activation, LedgerRow)
        )


def error_of(text: str) -> str:
    m = re.search(r'id="simulate-error">([^<]*)<', text)
    assert m is not None, text[:2000]
    return html.unescape(m.group(1))


def cells(text: str, table: str) -> list[list[str]]:
    body = text.split(f'<table id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                       flags=re.S)]
            for r in rows]  # fmt: skip


def test_the_comparison_is_the_back_tests(client: TestClient, book: Path) -> None:
    from creditfactory.data import Portfolio

    csrf = login(client, "analyst")
    before = stored(client)
    r = client.post(PAGE, data={"csrf": csrf, "source": CANDIDATE})
    assert r.status_code == 200, r.text[:2000]
    assert 'id="simulate-error"' not in r.text
    assert r.text.count('class="plot"') == 2
    none = FileAccess.none()
    want = Strategy.from_yaml(CANDIDATE, files=none).simulate(
        Portfolio.read(book), against=Strategy.from_yaml(ACTIVE, files=none)
    )
    swap = {row["cell"]: row["applications"] for row in want.swap.to_dicts()}
    got = {row[0]: int(row[1].replace(",", "")) for row in cells(r.text, "swap")}
    assert got == swap
    assert sum(got.values()) == 3000
    assert got["swap-in (this only)"] == 0  # a higher floor only declines more
    assert got["swap-out (other only)"] > 0
    totals = want.summary.filter(want.summary["segment"] == "total").to_dicts()
    rows = cells(r.text, "totals")
    assert [row[0] for row in rows] == ["candidate web_sim 2", "active web_sim 1"]
    for row, t in zip(rows, totals, strict=True):
        assert row[1] == f"{t['approved']:,}"
        assert row[2] == f"{t['approval_rate']:.2%}"
        assert row[3] == f"{t['bad_rate_true']:.2%}"
        assert row[7] == f"{t['profit']:,.0f}"
    assert stored(client) == before  # nothing stored: no version, activation or ledger entry


@pytest.mark.parametrize(
    ("source", "status", "message"),
    [
        ("strategy: [unclosed\n", 422, "invalid YAML"),
        (CANDIDATE.replace("monthly_income < 6000", "monthly_incme < 6000"), 422, "line 12"),
        (CANDIDATE.replace("  term_requested:", "  bureau_score: float\n  term_requested:"), 422,
         "the candidate needs inputs the book's applications do not have: bureau_score"),
        ("   \n", 422, "the field is empty"),
        ("a: 1\x00\x01\x02\xff", 422, "NUL bytes"),
        ("x" * (_simulation.MAX_SOURCE_BYTES + 1), 413, "at most 262,144"),
    ],
)  # fmt: skip
def test_a_bad_upload_is_a_clear_message(
    client: TestClient, source: str, status: int, message: str
) -> None:
    csrf = login(client, "analyst")
    before = stored(client)
    r = client.post(PAGE, data={"csrf": csrf, "source": source})
    assert r.status_code == status
    assert message in error_of(r.text)
    assert "Traceback" not in r.text
    assert stored(client) == before


def test_yaml_bombs_are_refused(client: TestClient) -> None:
    laughs = ["&a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        laughs.append(f"&{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = f"description: [{', '.join(laughs)}]\nstrategy: *i\nversion: '1'\n"
    bomb += "inputs: {n: int}\nflow: []\n"
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    deep_block = "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n"
    csrf = login(client, "analyst")
    for source, message in ((bomb, "strategy: expected a text, got a list"),
                            (deep, "nested more than 64 levels deep"),
                            (deep_block, "nested more than 64 levels deep")):  # fmt: skip
        r = client.post(PAGE, data={"csrf": csrf, "source": source})
        assert r.status_code == 422
        assert message in error_of(r.text)


@pytest.mark.parametrize(
    "reference",
    [
        "lists: {bl: {file: ../../../../../etc/passwd}}\n",
        "lists: {bl: {file: /etc/passwd}}\n",
        "models:\n  m: {name: m, version: '1', path: ../../../../../etc/passwd}\n",
        "models:\n  m: {name: m, version: '1', path: /proc/self/environ}\n",
        "lists: {bl: {file: FIFO}}\n",
    ],
)
def test_a_candidate_reads_no_file(client: TestClient, reference: str, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened, it would block the request: refused before the disk is touched
    csrf = login(client, "analyst")
    source = CANDIDATE.replace("flow:\n", reference.replace("FIFO", str(fifo)) + "flow:\n")
    r = client.post(PAGE, data={"csrf": csrf, "source": source})
    assert r.status_code == 422
    error = error_of(r.text)
    assert "cannot read files" in error or "cannot load model files" in error, error
    assert "root:" not in r.text  # no line of /etc/passwd
    assert "PATH=" not in r.text


def test_a_huge_body_is_refused_before_it_is_read(client: TestClient) -> None:
    csrf = login(client, "analyst")
    huge = {"csrf": csrf, "source": "x" * (2 << 20)}
    r = client.post(PAGE, data=huge)
    assert r.status_code == 413  # the service's body limit (CREDITFACTORY_MAX_BODY_BYTES)
    assert "Traceback" not in r.text
    # without the service's limit, the page's own: counted as the body streams in
    client.app.state.settings.max_body_bytes = 0  # type: ignore[attr-defined]
    try:
        r = client.post(PAGE, content=(b"source=" + b"x" * (2 << 20)),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    finally:
        client.app.state.settings.max_body_bytes = 1 << 20  # type: ignore[attr-defined]
    assert r.status_code == 413
    assert f"larger than {_simulation.MAX_BODY_BYTES:,} bytes" in error_of(r.text)


def test_binary_garbage_is_no_form(client: TestClient) -> None:
    csrf = login(client, "analyst")
    garbage = bytes(range(256)) * 64
    r = client.post(PAGE, content=garbage,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 403  # not a form: no CSRF token either
    assert "CSRF" in error_of(r.text)
    r = client.post(PAGE, files={"source": ("s.yaml", garbage)}, data={"csrf": csrf})
    assert r.status_code == 403  # multipart is not read: no token
    r = client.post(PAGE, data={"csrf": csrf, "source": garbage.decode("latin-1")})
    assert r.status_code == 422
    assert "NUL bytes" in error_of(r.text)


def test_the_form_needs_its_csrf_token_and_the_role(client: TestClient) -> None:
    for role in ("underwriter", "read-only"):
        csrf = login(client, role)
        page = client.get(PAGE)
        assert page.status_code == 200
        assert 'id="simulate-role"' in page.text
        assert 'name="source"' not in page.text
        r = client.post(PAGE, data={"csrf": csrf, "source": CANDIDATE})
        assert r.status_code == 403
        want = f"role {role!r} may not simulate strategies (needs one of: admin, analyst)"
        assert want in error_of(r.text)
    login(client, "admin")
    r = client.post(PAGE, data={"source": CANDIDATE})
    assert r.status_code == 403
    assert "CSRF" in error_of(r.text)
    r = client.post(PAGE, data={"source": CANDIDATE, "csrf": "forged"})
    assert r.status_code == 403
    client.cookies.clear()
    r = client.post(PAGE, data={"source": CANDIDATE}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def test_the_permission_is_the_apis() -> None:
    assert PERMISSIONS["strategies.simulate"] == frozenset({"admin", "analyst"})
    assert ACTIONS["strategies.simulate"] == _pages.ACTION


def test_one_simulation_at_a_time(client: TestClient) -> None:
    csrf = login(client, "analyst")
    with _simulation._busy:  # a simulation running in another request
        r = client.post(PAGE, data={"csrf": csrf, "source": CANDIDATE})
    assert r.status_code == 429
    assert "Another simulation is running" in error_of(r.text)
    assert not _simulation._busy.locked()
    assert isinstance(_simulation._busy, type(threading.Lock()))


def test_without_a_book_the_page_says_so(client: TestClient) -> None:
    csrf = login(client, "analyst")
    settings = client.app.state.settings  # type: ignore[attr-defined]
    book, settings.ui_book = settings.ui_book, None
    try:
        r = client.post(PAGE, data={"csrf": csrf, "source": CANDIDATE})
    finally:
        settings.ui_book = book
    assert r.status_code == 409
    assert "CREDITFACTORY_UI_BOOK" in error_of(r.text)


def test_at_most_the_latest_rows_are_simulated(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_simulation, "MAX_ROWS", 1000)
    csrf = login(client, "analyst")
    r = client.post(PAGE, data={"csrf": csrf, "source": CANDIDATE})
    assert r.status_code == 200
    assert "1,000 applications simulated (the latest of 3,000)" in r.text
    got = {row[0]: int(row[1].replace(",", "")) for row in cells(r.text, "swap")}
    assert sum(got.values()) == 1000
