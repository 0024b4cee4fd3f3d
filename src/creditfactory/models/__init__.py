"""Challenger models next to the scorecard: LightGBM with monotone constraints and reason codes."""

from creditfactory.models._artefact import load_challenger, save_challenger
from creditfactory.models._challenger import GBMChallenger

__all__ = ["GBMChallenger", "load_challenger", "save_challenger"]
