"""``/v1/keys``: API keys with roles (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select

from creditfactory.api._deps import Caller, SessionDep, allowed, forget_key
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, KeyCreate, KeyCreated, KeyPublic, RowId
from creditfactory.store import ApiKey, create_key, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=ERRORS, route_class=StrictJSONRoute)
Admin = Annotated[Caller, Depends(allowed("keys.manage"))]


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create(body: KeyCreate, session: SessionDep, caller: Admin) -> KeyCreated:
    """Create a key; the secret is in this response only."""
    row, secret = create_key(session, body.name, body.role, caller.name)
    return KeyCreated(**KeyPublic.model_validate(row).model_dump(), key=secret)


@router.get("", response_model=list[KeyPublic])
def read_keys(session: SessionDep, _: Admin) -> list[KeyPublic]:
    """Every key (without secrets)."""
    rows = session.execute(select(ApiKey).order_by(ApiKey.id)).scalars()
    return [KeyPublic.model_validate(r) for r in rows]


@router.delete("/{key_id}", response_model=KeyPublic)
def revoke(key_id: RowId, session: SessionDep, request: Request, caller: Admin) -> KeyPublic:
    """Revoke a key (kept for the record); it stops working at once in this process."""
    row = revoke_key(session, key_id, caller.name)
    session.commit()
    forget_key(request, key_id)
    return KeyPublic.model_validate(row)
