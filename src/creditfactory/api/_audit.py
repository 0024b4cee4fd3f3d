"""``/v1/audit``: read and verify the hash-chained ledger."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from creditfactory.api._deps import Reader, SessionDep
from creditfactory.api._schemas import ERRORS, LedgerEntryPublic, VerifyResult
from creditfactory.store import entries, verify

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERRORS)


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
def verify_ledger(session: SessionDep, _: Reader) -> VerifyResult:
    """Walk the chain and the records it vouches for; report the first problem."""
    v = verify(session)
    first = None if v.first is None else asdict(v.first)
    return VerifyResult(ok=v.ok, checked=v.checked, head=v.head, first_problem=first)
