"""The provider seam: what a strategy looks up at decision time, one row online or a frame in
batch, from the back-end of the mode it runs in.

A strategy is data; the world it looks at while deciding (lists, velocity counts, ring
features) is not. Each such value is a *feature* with a name ``<kind>:<rest>`` (``list:
blacklist:phone``; later ``velocity:phone:7d``, ``ring:size``). A :class:`Provider` answers a
set of feature names for one application (:meth:`Provider.row`, the service) or for a frame of
them (:meth:`Provider.frame`, batch and simulation), the two forms giving the same values by
construction when they read the same content. :class:`Lookups` routes each name to the source
of its kind, so a new kind of feature is one more source, not another path through the engine::

    strategy step (lists: ...)          names: list:blacklist:phone, list:greylist:id_number
            |
            v
    Lookups  --"list"-->   HashedLists          <- store.ListCache (the service's /v1/lists)
             |                                  <- HashedLists.from_file / from_frame (offline)
             +--"velocity", "ring" ...-->  (other sources, same two methods)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import polars as pl

from creditfactory.exceptions import ConfigError


@runtime_checkable
class Provider(Protocol):
    """Decision-time look-ups by feature name (see the module's docstring)."""

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> Mapping[str, Any]:
        """``{name: value}`` for one application (a mapping of its fields)."""
        ...

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        """One column per name, row-aligned with ``applications``."""
        ...

    def fingerprint(self) -> str:
        """A digest of what the look-ups read (a resumed batch must read the same)."""
        ...


def feature_kind(name: str) -> str:
    """The kind of a feature: the text before its first colon.

    >>> feature_kind("list:blacklist:phone")
    'list'
    """
    return name.partition(":")[0]


class Lookups:
    """A :class:`Provider` routing each feature to the source of its kind.

    Parameters
    ----------
    sources : mapping
        ``{kind: provider}``, e.g. ``{"list": HashedLists(...)}``.

    Examples
    --------
    >>> from creditfactory.fraud import HashedLists
    >>> lookups = Lookups({"list": HashedLists.from_values("k", {("blacklist", "phone"): ["1"]})})
    >>> lookups.row(("list:blacklist:phone",), {"phone": "1"})
    {'list:blacklist:phone': True}
    >>> try:
    ...     lookups.row(("ring:size",), {"phone": "1"})
    ... except ConfigError as exc:
    ...     print(exc)
    feature 'ring:size': no source of kind 'ring' (sources: list)
    """

    def __init__(self, sources: Mapping[str, Provider]):
        self.sources = dict(sources)
        # names -> [(source, its names)], worked out once per set of names (a step's)
        self._routes: dict[tuple[str, ...], list[tuple[Provider, tuple[str, ...]]]] = {}

    def _route(self, names: Sequence[str]) -> list[tuple[Provider, tuple[str, ...]]]:
        key = tuple(names)
        route = self._routes.get(key)
        if route is None:
            groups: dict[str, list[str]] = {}
            for name in key:
                kind = feature_kind(name)
                if kind not in self.sources:
                    known = ", ".join(sorted(self.sources)) or "none"
                    raise ConfigError(
                        f"feature {name!r}: no source of kind {kind!r} (sources: {known})"
                    )
                groups.setdefault(kind, []).append(name)
            route = self._routes[key] = [(self.sources[k], tuple(v)) for k, v in groups.items()]
        return route

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> Mapping[str, Any]:
        route = self._route(names)
        if len(route) == 1:  # the common case: one kind of feature, answered as it comes
            return route[0][0].row(route[0][1], application)
        out: dict[str, Any] = {}
        for source, part in route:
            out.update(source.row(part, application))
        return out

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        parts = [source.frame(part, applications) for source, part in self._route(names)]
        if not parts:
            return pl.DataFrame()
        return pl.concat(parts, how="horizontal").select(list(names))

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for kind in sorted(self.sources):
            h.update(f"{kind}\x1f{self.sources[kind].fingerprint()}\x1e".encode())
        return h.hexdigest()
