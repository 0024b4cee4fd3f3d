"""The service's hashed lists applied to a whole batch, with the online service's rule."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from creditfactory.audit import digest
from creditfactory.store import LIST_NAMES, Store, hash_identifier, list_index


class ListScreen:
    """Screens decided rows against the store's hashed lists (blacklist, greylist, whitelist).

    The same rule as the online service (:func:`creditfactory.factory.apply_lists`): any
    blacklist hit declines with ``LIST_BLACKLIST_<FIELD>`` codes first and clears limit, APR
    and term; otherwise a greylist hit turns an approval into a refer with the greylist codes
    last; whitelist hits are only recorded. Adds a ``list_hits`` column (``"list:field"``).

    A row the strategy flagged as invalid (its ``error`` column set: refer, ``INVALID_INPUT``)
    is not screened: online such an application is refused (422) before any list is consulted,
    so batch leaves it as the strategy decided it, without list hits.

    Parameters
    ----------
    secret : str
        The HMAC key the lists were hashed with (``CREDITFACTORY_LIST_SECRET``).
    index : mapping
        ``{(list, field): hashes}``, e.g. from :func:`creditfactory.store.list_index`.
    """

    def __init__(self, secret: str, index: Mapping[tuple[str, str], frozenset[str]]):
        self.secret = secret
        order = {n: i for i, n in enumerate(LIST_NAMES)}
        self.pairs = sorted(index, key=lambda t: (order.get(t[0], 9), t[1]))
        self.index = dict(index)

    @classmethod
    def from_store(cls, store: Store, secret: str) -> ListScreen:
        """The lists as they are in ``store`` now."""
        with store.sessions() as session:
            return cls(secret, list_index(session))

    def fingerprint(self) -> str:
        """A digest of the lists' content (a resumed run must screen against the same lists)."""
        return digest({f"{n}:{f}": sorted(h) for (n, f), h in self.index.items()})

    def apply(self, applications: pl.DataFrame, decided: pl.DataFrame) -> pl.DataFrame:
        """``decided`` (row-aligned with ``applications``) after the lists."""
        hashes: dict[str, pl.Series] = {}
        hit_cols: dict[tuple[str, str], pl.Series] = {}
        for name, field in self.pairs:
            if field not in applications.columns:
                continue
            if field not in hashes:
                values = applications[field].cast(pl.String).to_list()
                hashes[field] = pl.Series(
                    [None if v in (None, "") else hash_identifier(self.secret, field, v)
                     for v in values],
                    dtype=pl.String,
                )  # fmt: skip
            hit_cols[(name, field)] = hashes[field].is_in(list(self.index[(name, field)]))
        out = decided
        if "error" in decided.columns:  # invalid rows are not screened (see the class)
            valid = decided["error"].is_null()
            hit_cols = {k: v & valid for k, v in hit_cols.items()}
        if not hit_cols:
            return out.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("list_hits"))
        flags = pl.DataFrame({f"{n}:{f}": s.fill_null(False) for (n, f), s in hit_cols.items()})

        def codes(list_name: str) -> pl.Expr:
            parts = [
                pl.when(flags[f"{n}:{f}"]).then(pl.lit(f"LIST_{n}_{f}".upper()))
                for n, f in hit_cols if n == list_name
            ]  # fmt: skip
            if not parts:
                return pl.lit([], dtype=pl.List(pl.String))
            return pl.concat_list(parts).list.drop_nulls()

        black, grey = codes("blacklist"), codes("greylist")
        any_black = black.list.len() > 0
        to_refer = ~any_black & (grey.list.len() > 0) & (pl.col("decision") == "approve")
        hits = pl.concat_list(
            [pl.when(flags[k]).then(pl.lit(k)) for k in flags.columns]
        ).list.drop_nulls()
        return out.with_columns(
            pl.when(any_black).then(pl.lit("decline"))
            .when(to_refer).then(pl.lit("refer"))
            .otherwise(pl.col("decision")).alias("decision"),
            *[pl.when(any_black).then(None).otherwise(pl.col(c)).alias(c)
              for c in ("limit", "apr", "term") if c in out.columns],
            pl.when(any_black).then(pl.concat_list(black, pl.col("reasons")))
            .when(to_refer).then(pl.concat_list(pl.col("reasons"), grey))
            .otherwise(pl.col("reasons")).alias("reasons"),
            hits.alias("list_hits"),
        )  # fmt: skip
