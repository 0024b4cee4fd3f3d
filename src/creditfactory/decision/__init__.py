"""The decision engine: a safe expression language and strategies compiled once from YAML and
run online (``decide``), in batch (``decide_batch``) and in simulation (``simulate``);
``selection_and_pricing`` separates what a strategy gains by choosing from what it gains by
pricing, against the twin's offer oracle."""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.decision._domain import Domain
    from creditfactory.decision._estimator import EstimatorModel
    from creditfactory.decision._expr import Expression
    from creditfactory.decision._expr_parse import ExpressionError
    from creditfactory.decision._expr_types import NamedList, Type
    from creditfactory.decision._files import FileAccess
    from creditfactory.decision._inputs import InputError, InputSpec, OutputError
    from creditfactory.decision._model_inputs import UNSEEN_POLICIES, unseen_counts
    from creditfactory.decision._models import DecisionModel, ModelRegistry, PointsModel, load_model
    from creditfactory.decision._reason_text import (
        LANGS,
        ReasonCatalogue,
        ReasonText,
        accept_language,
        reason_texts_column,
        resolve_lang,
    )
    from creditfactory.decision._simulate import SimulationReport, selection_and_pricing
    from creditfactory.decision._strategy import Decision, Strategy

__all__ = [
    "LANGS",
    "UNSEEN_POLICIES",
    "Decision",
    "DecisionModel",
    "Domain",
    "EstimatorModel",
    "Expression",
    "ExpressionError",
    "FileAccess",
    "InputError",
    "InputSpec",
    "ModelRegistry",
    "NamedList",
    "OutputError",
    "PointsModel",
    "ReasonCatalogue",
    "ReasonText",
    "SimulationReport",
    "Strategy",
    "Type",
    "accept_language",
    "load_model",
    "reason_texts_column",
    "resolve_lang",
    "selection_and_pricing",
    "unseen_counts",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
