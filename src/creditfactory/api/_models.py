"""``/v1/models``: register model artefacts that strategies call by name and version."""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from creditfactory._nested import first_problem, path_text
from creditfactory.api._deps import Caller, Reader, SessionDep, allowed
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, ModelCreate, ModelPublic
from creditfactory.exceptions import ArtefactError
from creditfactory.store import list_models, register_model

router = APIRouter(
    prefix="/v1/models", tags=["models"], responses=ERRORS, route_class=StrictJSONRoute
)

SPEC_DEPTH = 32  # a scoring spec is a few levels deep: deeper nesting is an error, not data
_FLOAT_MAX = int(sys.float_info.max)


def _number_problem(_: Any, item: Any) -> str | None:
    if type(item) is float and not math.isfinite(item):
        return "not a finite number"
    if type(item) is int and abs(item) > _FLOAT_MAX:
        return "a number beyond 1.8e308"
    return None


def check_spec(spec: dict[str, Any]) -> None:
    """A spec the engine can hold: nested at most :data:`SPEC_DEPTH` levels, finite numbers
    within a float's range; :class:`ArtefactError` (422) naming where otherwise.

    >>> check_spec({"a": [1, 2.5]})
    >>> check_spec({"a": [10**400]})
    Traceback (most recent call last):
    ...
    creditfactory.exceptions.ArtefactError: spec.a[0]: a number beyond 1.8e308
    """
    found = first_problem(
        spec, _number_problem, SPEC_DEPTH, f"nested more than {SPEC_DEPTH} levels deep"
    )
    if found is not None:
        raise ArtefactError(f"spec.{path_text(found[0])}: {found[1]}")


@router.post("", response_model=ModelPublic, status_code=status.HTTP_201_CREATED)
def create_model(
    body: ModelCreate,
    session: SessionDep,
    caller: Annotated[Caller, Depends(allowed("models.register"))],
) -> ModelPublic:
    """Register a scoring-spec artefact (checked by loading it into the engine); names longer
    than 100 characters, versions longer than 50 and specs nested deeper than 32 levels are
    422s."""
    check_spec(body.spec)
    row = register_model(session, body.name, body.version, body.spec, caller.name)
    return ModelPublic.model_validate(row)


@router.get("", response_model=list[ModelPublic])
def read_models(session: SessionDep, _: Reader) -> list[ModelPublic]:
    """Registered models, oldest first."""
    return [ModelPublic.model_validate(m) for m in list_models(session)]
