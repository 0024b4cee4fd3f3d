"""``/v1/lists``: add and remove identifiers (stored as HMAC digests, never in clear)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from creditfactory.api._deps import Caller, FactoryDep, Reader, SessionDep, SettingsDep, allowed
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, ListChange, ListChangeResult, ListSummary
from creditfactory.settings import Settings
from creditfactory.store import add_list_entries, list_summary, remove_list_entries

router = APIRouter(
    prefix="/v1/lists", tags=["lists"], responses=ERRORS, route_class=StrictJSONRoute
)
ListName = Literal["blacklist", "greylist", "whitelist"]
Writer = Annotated[Caller, Depends(allowed("lists.write"))]


def _secret(settings: Settings) -> str | None:
    return None if settings.list_secret is None else settings.list_secret.get_secret_value()


@router.get("", response_model=list[ListSummary])
def read_lists(session: SessionDep, _: Reader) -> list[ListSummary]:
    """How many entries each list holds, by identifier field."""
    return [ListSummary(list=n, field=f, entries=c) for n, f, c in list_summary(session)]


@router.post("/{list_name}/entries", response_model=ListChangeResult)
def add_entries(
    list_name: ListName, body: ListChange, session: SessionDep, settings: SettingsDep,
    factory: FactoryDep, caller: Writer,
) -> ListChangeResult:  # fmt: skip
    """Add identifiers to a list (duplicates are ignored)."""
    rows = add_list_entries(
        session, _secret(settings), list_name, body.field, body.values, caller.name, body.note
    )
    session.commit()
    factory.invalidate()
    return ListChangeResult(list=list_name, field=body.field, changed=len(rows))


@router.post("/{list_name}/remove", response_model=ListChangeResult)
def remove_entries(
    list_name: ListName, body: ListChange, session: SessionDep, settings: SettingsDep,
    factory: FactoryDep, caller: Writer,
) -> ListChangeResult:  # fmt: skip
    """Remove identifiers from a list."""
    n = remove_list_entries(
        session, _secret(settings), list_name, body.field, body.values, caller.name
    )
    session.commit()
    factory.invalidate()
    return ListChangeResult(list=list_name, field=body.field, changed=n)
