"""``/v1/models``: register model artefacts that strategies call by name and version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from creditfactory.api._deps import Caller, Reader, SessionDep, allowed
from creditfactory.api._schemas import ERRORS, ModelCreate, ModelPublic
from creditfactory.store import list_models, register_model

router = APIRouter(prefix="/v1/models", tags=["models"], responses=ERRORS)


@router.post("", response_model=ModelPublic, status_code=status.HTTP_201_CREATED)
def create_model(
    body: ModelCreate,
    session: SessionDep,
    caller: Annotated[Caller, Depends(allowed("models.register"))],
) -> ModelPublic:
    """Register a scoring-spec artefact (checked by loading it into the engine)."""
    row = register_model(session, body.name, body.version, body.spec, caller.name)
    return ModelPublic.model_validate(row)


@router.get("", response_model=list[ModelPublic])
def read_models(session: SessionDep, _: Reader) -> list[ModelPublic]:
    """Registered models, oldest first."""
    return [ModelPublic.model_validate(m) for m in list_models(session)]
