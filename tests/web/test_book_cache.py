"""The book pages' cache: keyed on the book's identity (every file's name, size and modification
time, the scorecard folder's for the models page), the book read once for all pages, and the
pages analysed in the background when the app starts."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from creditfactory.web import _book_views
from creditfactory.web._book_views import Book, BookView, load, prepare


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_book_views, "_views", {})
    monkeypatch.setattr(_book_views, "_shared", None)


class Counting:
    """A page builder that counts its calls and the books it was given."""

    def __init__(self) -> None:
        self.calls = 0
        self.books: list[Book] = []

    def __call__(self, book: Book, settings: Any) -> BookView:
        self.calls += 1
        self.books.append(book)
        return BookView("t", str(book.path))


def test_a_page_is_analysed_again_only_when_the_book_changes(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "part").mkdir(parents=True)
    (book / "loans.parquet").write_bytes(b"1234")
    settings = SimpleNamespace(ui_model=None)
    build = Counting()
    first = load(book, "portfolio", build, settings)
    assert load(book, "portfolio", build, settings) is first
    assert build.calls == 1
    (book / "loans.parquet").write_bytes(b"12345")  # rewritten: another size
    load(book, "portfolio", build, settings)
    assert build.calls == 2
    stamp = (book / "loans.parquet").stat()
    os.utime(book / "loans.parquet", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    load(book, "portfolio", build, settings)  # same size, a later modification time
    assert build.calls == 3
    (book / "part" / "performance.parquet").write_bytes(b"x")  # a file in a subfolder
    load(book, "portfolio", build, settings)
    assert build.calls == 4
    assert load(book, "portfolio", build, settings).source == str(book)
    assert build.calls == 4


def test_the_models_page_follows_its_scorecard_too(tmp_path: Path) -> None:
    book, model = tmp_path / "book", tmp_path / "model"
    book.mkdir()
    model.mkdir()
    (model / "scorecard.json").write_text("{}")
    settings = SimpleNamespace(ui_model=model)
    build = Counting()
    load(book, "models", build, settings)
    load(book, "models", build, settings)
    assert build.calls == 1
    (model / "scorecard.json").write_text('{"refit": 1}')
    load(book, "models", build, settings)
    assert build.calls == 2


def test_the_pages_share_one_read_of_the_book(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    a, b = Counting(), Counting()
    load(book, "portfolio", a, SimpleNamespace(ui_model=None))
    load(book, "collections", b, SimpleNamespace(ui_model=None))
    assert a.books[0] is b.books[0]  # one Book: its tables read at most once
    (book / "new.parquet").write_bytes(b"x")
    load(book, "collections", b, SimpleNamespace(ui_model=None))
    assert b.books[1] is not a.books[0]  # another identity: read again


def test_the_pages_are_prepared_when_the_app_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book"
    book.mkdir()
    builders = {"portfolio": Counting(), "collections": Counting()}

    def broken(book: Book, settings: Any) -> BookView:
        raise ValueError("a bug in an analysis")

    monkeypatch.setattr(_book_views, "PAGES", {**builders, "models": broken})
    settings = SimpleNamespace(ui_book=book, ui_model=None)
    thread = prepare(settings)
    assert thread is not None
    thread.join(timeout=30)
    assert [b.calls for b in builders.values()] == [1, 1]  # the broken page did not stop them
    for name, build in builders.items():
        load(book, name, build, settings)  # a request: served from memory
        assert build.calls == 1
    assert prepare(SimpleNamespace(ui_book=None, ui_model=None)) is None
