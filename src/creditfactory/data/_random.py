"""Random helpers of the simulator: one independent stream per component, vectorised choices."""

from __future__ import annotations

import numpy as np

STREAMS = (
    "customers",
    "applications",
    "fraud",
    "risk",
    "paths",
    "incumbent",
    "loans",
    "collections",
    "campaigns",
    "identity",
)


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One generator per simulator component, so changing one component's draws never shifts
    another's."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def choice_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index drawn from each row of a matrix of (unnormalised) probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large arguments."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`sigmoid`."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def ids(prefix: str, n: int, width: int = 8, start: int = 1) -> np.ndarray:
    """Identifiers ``prefix`` + zero-padded counter, e.g. ``A00000001``."""
    if n == 0:
        return np.array([], dtype=f"U{len(prefix) + width}")
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + n).astype(str), width))
