"""``creditfactory pii new-key`` and ``pii rekey``: a fresh encryption key, and stored
identifiers re-encrypted under the newest key."""

from __future__ import annotations

from typing import Annotated

import typer

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError

app = typer.Typer(help="Personal identifiers in the store.", no_args_is_help=True)


@app.command("new-key")
def new_key(
    key_id: Annotated[
        str | None, typer.Option("--id", help="the key's id (default: derived from the key)")
    ] = None,
) -> None:
    """Print a fresh random AES-256 key as a CREDITFACTORY_PII_KEY item (``id:base64``); put it
    first in the setting to encrypt with it (older keys after it still decrypt)."""
    from creditfactory.store import new_key as make
    from creditfactory.store import parse_keys

    item = make(key_id)
    try:
        parse_keys(item)  # the setting's own rule for ids
    except CreditFactoryError as exc:
        fail(str(exc).replace("pii_key: item 1: key id", "--id:"))
    typer.echo(item)


@app.command("rekey")
def rekey(
    database_url: Annotated[
        str | None,
        typer.Option(help="database to re-encrypt (default: CREDITFACTORY_DATABASE_URL)"),
    ] = None,
) -> None:
    """Seal every stored identifier under the first key of CREDITFACTORY_PII_KEY (the service
    stopped); each batch of records changed is vouched for by a ``pii.rekey`` ledger entry."""
    from pydantic import ValidationError

    from creditfactory.api import Settings
    from creditfactory.store import Protector, Store
    from creditfactory.store import rekey as run

    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")
    url = database_url or settings.database_url
    store = None
    try:
        store = Store(url)
        secret, key = settings.list_secret, settings.pii_key
        pii = Protector.configured(
            None if key is None else key.get_secret_value(),
            None if secret is None else secret.get_secret_value(),
            settings.pii_fields,
        )
        report = run(store, pii)
    except CreditFactoryError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error: present it, no stack trace
        fail(f"{url}: {type(exc).__name__}: {exc}")
    finally:
        if store is not None:
            store.dispose()
    console.print(
        f"{report.changed} of {report.checked} records sealed again under the newest key "
        f"({report.entries} ledger entries)"
    )
