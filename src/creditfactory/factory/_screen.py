"""Screening a decision against the service's hashed lists (the rule the batch factory shares)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditfactory.decision import Decision


def list_codes(hits: Sequence[tuple[str, str]], list_name: str) -> list[str]:
    """Reason codes (``LIST_<LIST>_<FIELD>``) of the hits on one list, in hit order."""
    return [f"LIST_{n}_{f}".upper() for n, f in hits if n == list_name]


def apply_lists(result: Decision, hits: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The decision after the service's hashed lists.

    Any blacklist hit declines (limit, APR and term cleared) with the blacklist codes first;
    otherwise a greylist hit turns an approval into a refer with the greylist codes last;
    whitelist hits are only recorded. The batch factory applies the same rule
    (:class:`creditfactory.batch.ListScreen`).

    Examples
    --------
    >>> d = Decision("approve", 5000.0, 0.2, 12, ["R1"], ["rules"], "s", "1")
    >>> apply_lists(d, [("greylist", "phone")])["reasons"]
    ['R1', 'LIST_GREYLIST_PHONE']
    >>> apply_lists(d, [("blacklist", "id_number"), ("blacklist", "phone")])["reasons"]
    ['LIST_BLACKLIST_ID_NUMBER', 'LIST_BLACKLIST_PHONE', 'R1']
    """
    out: dict[str, Any] = {
        "decision": result.decision, "limit": result.limit, "apr": result.apr,
        "term": result.term, "reasons": list(result.reasons),
    }  # fmt: skip
    black, grey = list_codes(hits, "blacklist"), list_codes(hits, "greylist")
    if black:
        out.update(decision="decline", limit=None, apr=None, term=None)
        out["reasons"] = [*black, *out["reasons"]]
    elif grey and out["decision"] == "approve":
        out["decision"] = "refer"
        out["reasons"] = [*out["reasons"], *grey]
    return out
