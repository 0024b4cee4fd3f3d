"""``/v1/audit``: read and verify the hash-chained ledger."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request

from creditfactory.api._deps import Reader, SessionDep
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, LedgerEntryPublic, VerifyResult
from creditfactory.store import entries, verify

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], responses=ERRORS, route_class=StrictJSONRoute
)


@router.get("/entries", response_model=list[LedgerEntryPublic])
def read_entries(
    session: SessionDep,
    _: Reader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LedgerEntryPublic]:
    """Ledger entries after ``after``, in order."""
    return [LedgerEntryPublic(**asdict(e)) for e in entries(session, after, limit)]


@router.get("/verify", response_model=VerifyResult)
def verify_ledger(session: SessionDep, request: Request, _: Reader) -> VerifyResult:
    """Walk the chain, the anchor file (when configured) and the records the ledger vouches
    for; report the first problem."""
    settings = request.app.state.settings
    key = None if settings.anchor_key is None else settings.anchor_key.get_secret_value()
    v = verify(session, anchor_file=settings.anchor_file, anchor_key=key)
    first = None if v.first is None else asdict(v.first)
    return VerifyResult(ok=v.ok, checked=v.checked, head=v.head, first_problem=first)
