"""``/v1/strategies``: upload (validated), list, activate, roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from creditfactory.api._deps import (
    PERMISSIONS,
    Caller,
    FactoryDep,
    Reader,
    SessionDep,
    SettingsDep,
    allowed,
)
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, RowId, StrategyCreate, StrategyPublic, StrategySource
from creditfactory.exceptions import ForbiddenError
from creditfactory.store import (
    StrategyVersion,
    activate,
    active_strategy,
    add_strategy,
    get_strategy,
    list_strategies,
    rollback,
)

router = APIRouter(
    prefix="/v1/strategies", tags=["strategies"], responses=ERRORS, route_class=StrictJSONRoute
)


def public(row: StrategyVersion, active: StrategyVersion | None) -> StrategyPublic:
    out = StrategyPublic.model_validate(row)
    out.active = active is not None and active.id == row.id
    return out


@router.post("", response_model=StrategyPublic, status_code=status.HTTP_201_CREATED)
def upload_strategy(
    body: StrategyCreate,
    session: SessionDep,
    factory: FactoryDep,
    caller: Annotated[Caller, Depends(allowed("strategies.upload"))],
) -> StrategyPublic:
    """Upload a new version; it is compiled (422 naming the line if invalid) before storing.

    An upload reads no file on the server: ``file:`` lists and ``path:`` models of models not
    registered are 422s (register models with ``POST /v1/models``; keep identifiers in the
    hashed lists of ``/v1/lists``).
    """
    if body.activate and caller.role not in PERMISSIONS["strategies.activate"]:
        raise ForbiddenError(f"role {caller.role!r} may not activate strategies")
    row = add_strategy(session, body.source, caller.name)
    if body.activate:
        activate(session, row.id, caller.name)
        session.commit()
        factory.invalidate()
    return public(row, active_strategy(session))


@router.get("", response_model=list[StrategyPublic])
def read_strategies(session: SessionDep, _: Reader) -> list[StrategyPublic]:
    """Every uploaded version, oldest first, with the active one flagged."""
    active = active_strategy(session)
    return [public(r, active) for r in list_strategies(session)]


@router.get("/{strategy_id}", response_model=StrategySource)
def read_strategy(strategy_id: RowId, session: SessionDep, caller: Reader) -> StrategySource:
    """One version; its YAML source only for roles that may upload strategies (an inline list
    may hold identifiers), ``null`` for the others."""
    row = get_strategy(session, strategy_id)
    out = StrategySource.model_validate(row)
    if caller.role not in PERMISSIONS["strategies.upload"]:
        out.source = None
    active = active_strategy(session)
    out.active = active is not None and active.id == row.id
    return out


@router.post("/{strategy_id}/activate", response_model=StrategyPublic)
def activate_strategy(
    strategy_id: RowId,
    session: SessionDep,
    factory: FactoryDep,
    settings: SettingsDep,
    caller: Annotated[Caller, Depends(allowed("strategies.activate"))],
) -> StrategyPublic:
    """Put a version in force for new applications (compiled again first: an uploaded version
    still reads no file)."""
    row = activate(session, strategy_id, caller.name, max_bytes=settings.strategy_file_max_bytes)
    session.commit()
    factory.invalidate()
    return public(row, row)


@router.post("/rollback", response_model=StrategyPublic)
def rollback_strategy(
    session: SessionDep,
    factory: FactoryDep,
    caller: Annotated[Caller, Depends(allowed("strategies.activate"))],
    settings: SettingsDep,
) -> StrategyPublic:
    """Re-activate the version in force before the current one."""
    row = rollback(session, caller.name, max_bytes=settings.strategy_file_max_bytes)
    session.commit()
    factory.invalidate()
    return public(row, row)
