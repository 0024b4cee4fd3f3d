"""Uploaded strategies read no server file; bootstrap files stay in their folder; strategy and
model uploads answer 422s without server paths; sources only for roles that may upload
(issue 10, items 1, 6 and 8). Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import Api

from creditfactory.api import Settings, create_app
from creditfactory.api._app import bootstrap
from creditfactory.exceptions import ConfigError, StrategyError
from creditfactory.store import Store, StrategyVersion

STRATEGY = """\
strategy: {name}
version: "{version}"
inputs: {{phone: str, age: int}}
{extra}flow:
  - rules:
      rules:
        - {{name: young, when: "age < 18", action: decline, reason: KO_AGE}}
  - assign: {{set: {{limit: "1000"}}}}
"""


def source(name: str = "s", version: str = "1", extra: str = "") -> str:
    return STRATEGY.format(name=name, version=version, extra=extra)


def file_list(ref: str) -> str:
    return f"lists:\n  bad: {{file: {json.dumps(ref)}}}\n"


def model_path(ref: str) -> str:
    return f"models:\n  m: {{name: card, version: '1', path: {json.dumps(ref)}}}\n"


def upload(api: Api, text: str, role: str = "analyst") -> tuple[int, object]:
    r = api.client.post("/v1/strategies", json={"source": text}, headers=api.as_(role))
    return r.status_code, r.json()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, threading.Thread]]:
    """A FIFO with a writer blocked until someone opens it for reading."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    writer = threading.Thread(target=lambda: os.close(os.open(path, os.O_WRONLY)), daemon=True)
    writer.start()
    yield path, writer
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(5)


def test_an_uploaded_list_file_is_a_422_whatever_the_path(
    api: Api, tmp_path: Path, fifo: tuple[Path, threading.Thread]
) -> None:
    path, writer = fifo
    (tmp_path / "real.txt").write_text("13800000000\n")
    (tmp_path / "link").symlink_to("/etc/passwd")
    refs = ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/dev/zero", "/nonexistent",
            "../../../../etc/passwd", str(tmp_path / "real.txt"), str(tmp_path / "link"),
            str(path)]  # fmt: skip
    answers = set()
    for ref in refs:
        status, body = upload(api, source(extra=file_list(ref)))
        assert status == 422, body
        assert isinstance(body, dict)
        assert ref not in body["detail"]
        assert str(tmp_path) not in body["detail"]
        answers.add(body["detail"])
    assert answers == {
        "<string>:5: list 'bad': a strategy uploaded to the service cannot read files; give the "
        "values inline, or keep identifiers in the service's hashed lists (/v1/lists)"
    }
    writer.join(0.2)
    assert writer.is_alive()  # the FIFO was never opened
    assert api.client.get("/v1/strategies", headers=api.as_("admin")).json() == []


def test_an_uploaded_model_path_is_a_422_naming_no_path(api: Api, tmp_path: Path) -> None:
    spec = tmp_path / "card.json"
    spec.write_text("{}")
    for ref in ("/etc/passwd", "/dev/zero", "/nonexistent", str(spec), "models/card.json"):
        status, body = upload(api, source(extra=model_path(ref)))
        assert status == 422
        assert isinstance(body, dict)
        assert body["detail"] == (
            "<string>:5: missing model card@1: not registered; register it with POST "
            "/v1/models (a strategy uploaded to the service cannot load model files)"
        )


def test_deep_yaml_is_a_422(api: Api) -> None:
    deep = source(extra="description: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert len(deep) > 40_000
    status, body = upload(api, deep)
    assert status == 422
    assert body == {"detail": "<string>: line 4: nested more than 64 levels deep"}


@pytest.mark.parametrize(
    ("name", "version", "detail"),
    [
        ("n" * 300, "1", "strategy: 300 characters, at most 100"),
        ("n" * 101, "1", "strategy: 101 characters, at most 100"),
        ("s", "v" * 51, "version: 51 characters, at most 50"),
    ],
)
def test_a_name_or_version_longer_than_its_column_is_a_422(
    api: Api, name: str, version: str, detail: str
) -> None:
    status, body = upload(api, source(name, version))
    assert (status, body) == (422, {"detail": detail})
    status, body = upload(api, source("n" * 100, "v" * 50))
    assert status == 201, body


def test_models_long_names_deep_specs_and_huge_numbers_are_422s(api: Api) -> None:
    admin = {**api.as_("admin"), "Content-Type": "application/json"}
    spec = {"format": "creditfactory.scoring_spec", "format_version": 1,
            "scaling": {"factor": 28.85, "offset": 487.1}, "characteristics": []}  # fmt: skip

    def post(name: str, version: str, spec_text: str) -> tuple[int, str]:
        body = f'{{"name": "{name}", "version": "{version}", "spec": {spec_text}}}'
        r = api.client.post("/v1/models", content=body, headers=admin)
        return r.status_code, r.text

    assert post("m" * 101, "1", json.dumps(spec))[0] == 422
    assert post("m", "1" * 51, json.dumps(spec))[0] == 422
    deep = json.dumps(spec)[:-1] + ', "x": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}"
    status, text = post("m", "1", deep)
    assert status == 422
    assert json.loads(text)["detail"] == "spec.x" + ".a" * 31 + ": nested more than 32 levels deep"
    scaling = json.dumps(spec).replace("28.85", "1" + "0" * 400)
    assert post("m", "1", scaling) == (
        422, '{"detail":"spec.scaling.factor: a number beyond 1.8e308"}'
    )  # fmt: skip
    assert post("m" * 100, "1" * 50, json.dumps(spec))[0] == 201


@pytest.mark.parametrize(
    ("role", "sees"), [("admin", True), ("analyst", True), ("underwriter", False),
                       ("read-only", False)],
)  # fmt: skip
def test_only_roles_that_upload_see_the_source(api: Api, role: str, sees: bool) -> None:
    inline = source(extra="lists:\n  vip: {values: ['110101199001011234']}\n")
    status, body = upload(api, inline)
    assert status == 201
    assert isinstance(body, dict)
    r = api.client.get(f"/v1/strategies/{body['id']}", headers=api.as_(role))
    assert r.status_code == 200
    assert r.json()["name"] == "s"
    assert (r.json()["source"] == inline) is sees
    assert ("110101199001011234" in r.text) is sees
    listed = api.client.get("/v1/strategies", headers=api.as_(role))
    assert "110101199001011234" not in listed.text


def test_activating_an_upload_compiles_it_again_without_files(api: Api) -> None:
    status, body = upload(api, source())
    assert status == 201
    assert isinstance(body, dict)
    r = api.client.post(f"/v1/strategies/{body['id']}/activate", headers=api.as_("admin"))
    assert r.status_code == 200, r.text


def test_an_upload_stored_before_naming_a_file_no_longer_activates(
    api: Api, tmp_path: Path
) -> None:
    """A version uploaded by an older release with a ``file:`` list (stored without a folder)
    compiles again with no file on activation: a 422 naming no path, nothing read."""
    (tmp_path / "bad.txt").write_text("13800000000\n")
    text = source(extra=file_list(str(tmp_path / "bad.txt")))
    store = api.client.app.state.store  # type: ignore[attr-defined]
    with store.session() as s:
        row = StrategyVersion(name="old", version="1", source=text, sha256="0" * 64,
                              uploaded_by="analyst", uploaded_at=datetime.now(UTC))  # fmt: skip
        s.add(row)
        s.flush()
        row_id = row.id
    r = api.client.post(f"/v1/strategies/{row_id}/activate", headers=api.as_("admin"))
    assert r.status_code == 422
    assert "cannot read files" in r.json()["detail"]
    assert str(tmp_path) not in r.text


# ------------------------------------------------------------------------- the bootstrap file
def settings_for(db_url: str, strategy: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=db_url, admin_key="cf-files-admin-7Hd2QwZ9xLm4Tp", strategy=strategy,
        engine_process=False, **extra,
    )  # fmt: skip


def start(db_url: str, strategy: Path, **extra: Any) -> None:
    """What create_app does at start-up (the bootstrap), with the store disposed after."""
    store = Store(db_url)
    try:
        store.migrate()
        bootstrap(store, settings_for(db_url, strategy, **extra))
    finally:
        store.dispose()


def test_the_bootstrap_strategy_reads_its_own_files(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    (folder / "lists").mkdir(parents=True)
    (folder / "lists" / "bad.txt").write_text("13800000000\n")
    text = source(extra=file_list("lists/bad.txt")).replace(
        "flow:\n", "flow:\n  - lists: {checks: [{field: phone, list: bad, action: decline, "
        "reason: KO_LIST}]}\n", 1
    )  # fmt: skip
    (folder / "s.yaml").write_text(text)
    app = create_app(settings_for(db_url, folder / "s.yaml"))
    with TestClient(app) as client:
        key = {"X-API-Key": "cf-files-admin-7Hd2QwZ9xLm4Tp"}
        r = client.post("/v1/applications", json={"phone": "13800000000", "age": 30}, headers=key)
        assert r.status_code == 201, r.text
        assert r.json()["reasons"] == ["KO_LIST"]
        listed = client.get("/v1/strategies", headers=key).json()
        r = client.post(f"/v1/strategies/{listed[0]['id']}/activate", headers=key)
        assert r.status_code == 200, r.text  # compiled again, its folder still readable
    app.state.store.dispose()


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_the_bootstrap_strategy_stays_in_its_folder(db_url: str, tmp_path: Path, how: str):
    folder = tmp_path / "strategies"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("13800000000\n")
    (folder / "link.txt").symlink_to(secret)
    ref = {"dotdot": "../secret.txt", "absolute": str(secret), "symlink": "link.txt"}[how]
    (folder / "s.yaml").write_text(source(extra=file_list(ref)))
    with pytest.raises(StrategyError, match="outside the strategy's folder") as info:
        start(db_url, folder / "s.yaml")
    assert str(tmp_path) not in str(info.value).replace(ref, "")


def test_the_bootstrap_size_limit(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("13800000000\n" * 100)  # 1,200 bytes
    (tmp_path / "s.yaml").write_text(source(extra=file_list("bad.txt")))
    with pytest.raises(StrategyError, match="larger than 1,000 bytes"):
        start(db_url, tmp_path / "s.yaml", strategy_file_max_bytes=1000)
    (tmp_path / "big.yaml").write_text(source() + "#" * 2000)
    with pytest.raises(ConfigError, match="larger than 1,000 bytes"):
        start(db_url, tmp_path / "big.yaml", strategy_file_max_bytes=1000)
