"""Anti-fraud: identifier lists in hashed form and the provider seam through which a strategy
looks up lists (and, later, velocity counts and ring features) at decision time."""

from creditfactory.fraud._lists import (
    HashedLists,
    hash_identifier,
    identifier_text,
    list_feature,
    parse_list_feature,
)
from creditfactory.fraud._provider import Lookups, Provider, feature_kind

__all__ = [
    "HashedLists",
    "Lookups",
    "Provider",
    "feature_kind",
    "hash_identifier",
    "identifier_text",
    "list_feature",
    "parse_list_feature",
]
