"""Re-encrypt stored identifiers under the newest personal-data key (after a rotation).

Offline: run it with the service stopped (``creditfactory pii rekey``). Every application and
decision whose identifiers are under an older key (or, written before protection, in clear) is
sealed again under the newest key, and a ``pii.rekey`` ledger entry per batch vouches for the
records' new digests, so ``audit verify`` stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from creditfactory.exceptions import DataError
from creditfactory.store._db import Store
from creditfactory.store._ledger import append
from creditfactory.store._pii import Protector
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._tables import Application, DecisionRecord


@dataclass(frozen=True)
class RekeyReport:
    """What :func:`rekey` did: records read, records sealed again, ledger entries added."""

    checked: int
    changed: int
    entries: int


def rekey(store: Store, pii: Protector, actor: str = "pii.rekey", batch: int = 500) -> RekeyReport:
    """Seal every stored identifier under ``pii``'s newest key (see the module docstring).

    Raises
    ------
    ConfigError
        ``pii`` has no encryption key.
    DataError
        A stored identifier does not open with the configured keys (names the record and the
        field); nothing of that batch is written.
    """
    from creditfactory.exceptions import ConfigError

    if pii.mode != "encrypt":
        raise ConfigError("pii_key: set CREDITFACTORY_PII_KEY (the new key first) to re-encrypt")
    checked = changed = entries = 0
    for model, column in ((Application, "payload"), (DecisionRecord, "values")):
        after = 0
        while True:
            with store.session() as session:
                rows: list[Any] = list(
                    session.execute(
                        select(model).where(model.id > after).order_by(model.id).limit(batch)
                    ).scalars()
                )
                if not rows:
                    break
                after = rows[-1].id
                digests: dict[str, str] = {}
                for row in rows:
                    checked += 1
                    try:
                        new = pii.rekey(getattr(row, column))
                    except DataError as exc:
                        raise DataError(f"{subject_of(row)}: {column}.{exc}") from exc
                    if new is not None:
                        setattr(row, column, new)
                        digests[subject_of(row)] = ""
                if digests:
                    session.flush()
                    for row in rows:
                        if subject_of(row) in digests:
                            digests[subject_of(row)] = record_digest(row)
                    append(session, "pii.rekey", f"pii:{pii.keys[0].kid}", actor,
                           {"key": pii.keys[0].kid, "digests": digests})  # fmt: skip
                    changed += len(digests)
                    entries += 1
    return RekeyReport(checked, changed, entries)
