"""Challenger models next to the scorecard: LightGBM with monotone constraints and reason codes."""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.models._artefact import load_challenger, save_challenger
    from creditfactory.models._challenger import GBMChallenger

__all__ = ["GBMChallenger", "load_challenger", "save_challenger"]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
