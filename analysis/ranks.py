"""Simultaneous confidence intervals for ranks (Mogstad, Romano, Shaikh and Wilhelm, REStud 2023).

For p independent estimates x_j with standard errors s_j: draw Z ~ N(0, diag(s^2)); c is the
`level` quantile of max over the pairs (j, k) still undecided of (Z_j - Z_k) / sd_jk, with
sd_jk = sqrt(s_j^2 + s_k^2); j is above k when x_j - x_k - c sd_jk > 0. Step down: recompute c
over the pairs not yet decided until nothing new is decided. Rank 1 is the highest index; the
interval of j is [1 + #agencies above j, p - #agencies below j]. The same draws are used at
every step and are seeded, so the same data give the same intervals.
"""

from __future__ import annotations

import numpy as np

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 20230601
# Pairs x draws evaluated at once; bounds the memory of one chunk to about 64 MB.
CHUNK_ELEMENTS = 1 << 23
CANDIDATES = 8


def _direct_max(z: np.ndarray, inv_sd: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Return, per draw, the max of (Z_j - Z_k) / sd_jk over the allowed pairs (all evaluated)."""
    j, k = np.nonzero(allowed)
    scale = inv_sd[j, k]
    out = np.empty(z.shape[0])
    step = max(1, CHUNK_ELEMENTS // max(len(j), 1))
    for lo in range(0, z.shape[0], step):
        block = z[lo : lo + step]
        out[lo : lo + step] = ((block[:, j] - block[:, k]) * scale).max(axis=1)
    return out


class _PairMaxima:
    """Per draw, the max of (Z_j - Z_k) / sd_jk over the allowed pairs, for each step-down step.

    With Z = s u, (Z_j - Z_k) / sd_jk = cos(t) u_j - sin(t) u_k <= sqrt(a_j^2 + b_k^2), where
    a_j = max(u_j, 0) and b_k = max(-u_k, 0) (zero for s = 0). Every pair whose j is among the
    q largest a, or whose k is among the q largest b, is evaluated once (the draws do not change
    between steps; only the allowed pairs do); any other pair is bounded by
    sqrt(a_(q+1)^2 + b_(q+1)^2). Draws whose best allowed candidate beats that bound are exact;
    the rest (few) are evaluated over all allowed pairs. The result equals `_direct_max`.
    """

    def __init__(self, z: np.ndarray, u: np.ndarray, positive: np.ndarray, inv_sd: np.ndarray):
        self.z, self.inv_sd = z, inv_sd
        n_draws, p = z.shape
        q = min(CANDIDATES, p - 1)
        a = np.where(positive, np.maximum(u, 0.0), 0.0)
        b = np.where(positive, np.maximum(-u, 0.0), 0.0)
        order_a = np.argpartition(-a, q, axis=1)
        order_b = np.argpartition(-b, q, axis=1)
        self.top_j, self.top_k = order_a[:, :q], order_b[:, :q]
        next_a = np.take_along_axis(a, order_a[:, q : q + 1], axis=1)[:, 0]
        next_b = np.take_along_axis(b, order_b[:, q : q + 1], axis=1)[:, 0]
        self.bound = np.sqrt(next_a**2 + next_b**2)
        # Candidate values (draws x q x p, both sides), kept across steps when they fit in memory.
        self.cached = n_draws * q * p <= CHUNK_ELEMENTS
        self.step = n_draws if self.cached else max(1, CHUNK_ELEMENTS // (q * p))
        self.values = (
            [self._values(lo) for lo in range(0, n_draws, self.step)] if self.cached else None
        )

    def _values(self, lo: int) -> tuple[np.ndarray, np.ndarray]:
        sl = slice(lo, lo + self.step)
        zc, top_j, top_k = self.z[sl], self.top_j[sl], self.top_k[sl]
        zj = np.take_along_axis(zc, top_j, axis=1)
        rows = (zj[:, :, None] - zc[:, None, :]) * self.inv_sd[top_j]
        zk = np.take_along_axis(zc, top_k, axis=1)
        cols = (zc[:, None, :] - zk[:, :, None]) * self.inv_sd[top_k]
        return rows, cols

    def __call__(self, allowed: np.ndarray) -> np.ndarray:
        n_draws = self.z.shape[0]
        if allowed.sum() * n_draws <= CHUNK_ELEMENTS:
            return _direct_max(self.z, self.inv_sd, allowed)
        out = np.empty(n_draws)
        allowed_t = allowed.T
        for i, lo in enumerate(range(0, n_draws, self.step)):
            sl = slice(lo, lo + self.step)
            rows, cols = self.values[i] if self.cached else self._values(lo)
            best_rows = np.where(allowed[self.top_j[sl]], rows, -np.inf).max(axis=(1, 2))
            best_cols = np.where(allowed_t[self.top_k[sl]], cols, -np.inf).max(axis=(1, 2))
            out[sl] = np.maximum(best_rows, best_cols)
        rest = ~(out >= self.bound)
        if rest.any():
            out[rest] = _direct_max(self.z[rest], self.inv_sd, allowed)
        return out


def rank_intervals(
    estimates,
    ses,
    *,
    level: float = 0.95,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (rank_low, rank_high), 1 = highest estimate, simultaneous at `level` (step-down).

    `estimates` and `ses` are 1-D of equal length (independent estimates; se >= 0, finite).
    """
    x = np.asarray(estimates, dtype=np.float64)
    s = np.asarray(ses, dtype=np.float64)
    p = len(x)
    if s.shape != x.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(s))):
        raise ValueError("estimates and ses must be finite arrays of the same length")
    if np.any(s < 0):
        raise ValueError("standard errors must be >= 0")
    if p < 2:
        return np.ones(p, dtype=np.int64), np.full(p, p, dtype=np.int64)
    sd = np.sqrt(s[:, None] ** 2 + s[None, :] ** 2)
    # Two exact estimates (se 0) differ or not without sampling error: their statistic is 0.
    inv_sd = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)
    gap = x[:, None] - x[None, :]
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((draws, p))
    z = u * s
    positive = s > 0
    allowed = ~np.eye(p, dtype=bool)  # ordered pair (j, k): "j is not above k" still open
    above = np.zeros((p, p), dtype=bool)
    maxima_of = _PairMaxima(z, u, positive, inv_sd)
    while allowed.any():
        c = float(np.quantile(maxima_of(allowed), level))
        new = allowed & (gap - c * sd > 0)
        if not new.any():
            break
        above |= new
        allowed &= ~new
    n_above = above.sum(axis=0)  # agencies decided to be above j
    n_below = above.sum(axis=1)  # agencies j is decided to be above
    return 1 + n_above, p - n_below
