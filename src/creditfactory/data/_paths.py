"""Month-by-month paths of every loan (and of every declined applicant's hypothetical loan),
drawn from exactly the monthly probabilities that define ``pd_true``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditfactory.data._config import COLLECTION_ACTIONS, SimulationConfig
from creditfactory.data._random import sigmoid
from creditfactory.data._risk import (
    _POOLED,
    BUCKET_NAMES,
    MAX_BUCKET,
    Collectors,
    RiskModel,
    _cure_logit,
    _effects,
    miss_hazard,
    shock_index,
)

STATUSES: tuple[str, ...] = ("paid", "partial", "missed", "prepaid", "charged_off")
CHARGED_OFF = 7
CLOSED = 8


@dataclass(frozen=True)
class Paths:
    """Month-by-month outcome arrays of shape (n_accounts, months); column t-1 is month on book
    t. ``-1`` marks months in which the account no longer exists."""

    state: np.ndarray  # int8: 0 current, 1..6 missed instalments (M1..M6+), 7 charged off, 8 closed
    status: np.ndarray  # int8 index into STATUSES
    action: np.ndarray  # int8 index into COLLECTION_ACTIONS (delinquent at start of month)
    collector: np.ndarray  # int16 index into the action's collector pool
    cure_prob: np.ndarray  # float32: true probability of curing given the action taken

    def bad(self, months: int = 12, bucket: int = 3) -> np.ndarray:
        """Reached ``bucket`` missed instalments (90+ DPD) within ``months`` on book."""
        s = self.state[:, :months]
        return ((s >= bucket) & (s <= MAX_BUCKET)).any(axis=1) | (s == CHARGED_OFF).any(axis=1)


def simulate_paths(
    risk: RiskModel,
    alpha: float,
    cfg: SimulationConfig,
    collectors: Collectors,
    rng: np.random.Generator,
    months: int,
) -> Paths:
    """Draw every account's path for ``months`` months on book."""
    n = len(risk.z)
    state = np.full((n, months), -1, dtype=np.int8)
    status = np.full((n, months), -1, dtype=np.int8)
    action = np.full((n, months), -1, dtype=np.int8)
    collector = np.full((n, months), -1, dtype=np.int16)
    cure_prob = np.full((n, months), np.nan, dtype=np.float32)
    eff = _effects(risk, cfg)
    ps = cfg.partial_payment_share
    s_idx = shock_index(cfg)
    prev = np.zeros(n, dtype=np.int8)
    for t in range(1, months + 1):
        col = t - 1
        u = rng.random(n)
        shocked = risk.start_month + t >= s_idx
        alive = prev <= MAX_BUCKET
        new = np.full(n, -1, dtype=np.int8)
        stat = np.full(n, -1, dtype=np.int8)

        # current accounts: miss, prepay or pay
        cur = np.flatnonzero(alive & (prev == 0))
        h = miss_hazard(_subset(risk, cur), alpha, t, shocked[cur], cfg)
        last = t >= risk.term[cur]
        pre = np.where(last, 0.0, risk.prepay[cur])
        miss = u[cur] < h
        prepaid = ~miss & (u[cur] < h + pre)
        new[cur] = np.where(miss, 1, np.where(prepaid | last, CLOSED, 0))
        stat[cur] = np.where(miss, 2, np.where(prepaid, 3, 0))

        # delinquent accounts: an action, maybe a collector, then cure / partial / roll
        dlq = np.flatnonzero(alive & (prev >= 1))
        if len(dlq):
            bucket = prev[dlq].astype(np.int64)
            act = _draw_actions(bucket, cfg, rng)
            who = np.full(len(dlq), -1, dtype=np.int64)
            skill = np.zeros(len(dlq))
            for name, pool in _POOLED.items():
                rows = act == COLLECTION_ACTIONS.index(name)
                who[rows] = rng.integers(0, len(collectors.skill[pool]), rows.sum())
                skill[rows] = collectors.skill[pool][who[rows]]
            sub = _subset(risk, dlq)
            logit = np.empty(len(dlq))
            for b in np.unique(bucket):
                rows = bucket == b
                logit[rows] = _cure_logit(
                    _subset(sub, np.flatnonzero(rows)), int(b), shocked[dlq][rows], cfg
                ) + (LATE_CURE_SHIFT if b >= 3 else 0.0)
            c = sigmoid(logit + np.where(risk.is_fraud[dlq], 0.0, eff[dlq, act] + skill))
            c = np.where(risk.is_fraud[dlq], sigmoid(logit), c)
            uu = u[dlq]
            cure = uu < c
            ps_dlq = partial_share(risk.is_fraud[dlq], ps)
            partial = ~cure & (uu < c + (1.0 - c) * ps_dlq)
            roll = ~cure & ~partial
            done = t >= risk.term[dlq]
            rolled = np.where(bucket >= MAX_BUCKET, CHARGED_OFF, bucket + 1)
            new[dlq] = np.where(cure, np.where(done, CLOSED, 0), np.where(partial, bucket, rolled))
            stat[dlq] = np.where(
                cure, 0, np.where(partial, 1, np.where(roll & (bucket >= MAX_BUCKET), 4, 2))
            )
            action[dlq, col] = act
            collector[dlq, col] = who
            cure_prob[dlq, col] = c

        state[:, col] = np.where(alive, new, -1)
        status[:, col] = np.where(alive, stat, -1)
        prev = np.where(alive, new, CLOSED).astype(np.int8)
    return Paths(state, status, action, collector, cure_prob)


LATE_CURE_SHIFT = -0.8
"""From M3 (90+ DPD) on, paying every overdue instalment at once is rarer: added to the cure
log-odds (after M3 the twin's own ``pd_true`` no longer looks, so this leaves it exact)."""


def partial_share(is_fraud: np.ndarray, share: float) -> np.ndarray:
    """Probability that a delinquent account that does not cure pays one instalment (and so
    stays in its bucket): ``share``, except that fraudsters never pay part."""
    return np.where(is_fraud, 0.0, share)


def _draw_actions(
    bucket: np.ndarray, cfg: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    probs = np.zeros((MAX_BUCKET, len(COLLECTION_ACTIONS)))
    for b, name in enumerate(BUCKET_NAMES):
        for a, share in cfg.collection_policy[name].items():
            probs[b, COLLECTION_ACTIONS.index(a)] = share
    cum = np.cumsum(probs, axis=1)[bucket - 1]
    u = rng.random(len(bucket))[:, None]
    return np.minimum((cum < u).sum(axis=1), len(COLLECTION_ACTIONS) - 1).astype(np.int8)


def _subset(risk: RiskModel, rows: np.ndarray) -> RiskModel:
    return RiskModel(*(getattr(risk, f)[rows] for f in RiskModel.__dataclass_fields__))
