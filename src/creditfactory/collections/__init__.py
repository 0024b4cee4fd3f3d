"""Collections: collection scores, score-driven strategies, queues and collector league tables."""

from creditfactory.collections._accounts import account_months

__all__ = ["account_months"]
