"""Confidence intervals for indices (fractions 0-1): Korn-Graubard, logit-t, Clopper-Pearson.

All functions take numpy arrays (broadcastable) and return NaN where no interval can be made;
they evaluate scipy only where its arguments are valid, so no warning escapes.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

KORN_GRAUBARD = "korn-graubard"
LOGIT_T = "logit-t"
CLOPPER_PEARSON = "clopper-pearson"


def _arrays(*values):
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def t_quantile(q: float, df: np.ndarray) -> np.ndarray:
    """Return scipy's t.ppf(q, df), evaluated once per distinct df (there are few)."""
    df = np.asarray(df, dtype=np.float64)
    if df.size == 0:
        return np.empty(df.shape)
    distinct, index = np.unique(df, return_inverse=True)
    return stats.t.ppf(q, distinct)[index].reshape(df.shape)


def clopper_pearson(x, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Return the Clopper-Pearson interval for x successes out of n (x may be fractional)."""
    x, n = _arrays(x, n)
    alpha = 1.0 - level
    low = np.full(x.shape, np.nan)
    high = np.full(x.shape, np.nan)
    ok = (n > 0) & (x >= 0) & (x <= n)
    # The bound at an edge is the edge itself: Beta(0, .) and Beta(., 0) do not exist.
    low[ok & (x == 0)] = 0.0
    high[ok & (x == n)] = 1.0
    inner = ok & (x > 0)
    low[inner] = stats.beta.ppf(alpha / 2, x[inner], n[inner] - x[inner] + 1)
    inner = ok & (x < n)
    high[inner] = stats.beta.ppf(1 - alpha / 2, x[inner] + 1, n[inner] - x[inner])
    return low, high


def effective_size(p, variance, n_domain, df, n, level: float = 0.95) -> np.ndarray:
    """Return the Korn-Graubard effective sample size n* = p(1-p)/v * (t_{n-1} / t_df)^2.

    `n_domain` is the number of respondents of the domain (R's nrow of the design); where v is 0
    (p is 0 or 1) n* is `n`, the valid answers, as Clopper-Pearson uses; NaN without a variance.
    """
    p, variance, n_domain, df, n = _arrays(p, variance, n_domain, df, n)
    out = np.full(p.shape, np.nan)
    alpha = 1.0 - level
    kg = (variance > 0) & (p > 0) & (p < 1) & (df >= 1) & (n_domain >= 2)
    ratio = (t_quantile(alpha / 2, n_domain[kg] - 1) / t_quantile(alpha / 2, df[kg])) ** 2
    out[kg] = p[kg] * (1 - p[kg]) / variance[kg] * ratio
    degenerate = variance == 0
    out[degenerate] = n[degenerate]
    return out


def korn_graubard(
    p, variance, n_domain, df, n, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (low, high, method) for criterion indices, as R's svyciprop(method = "beta").

    Interval [Beta^-1(a/2; x, n*-x+1), Beta^-1(1-a/2; x+1, n*-x)] with x = n* p. Where the
    variance is 0 (p is 0 or 1, where R fails) it is Clopper-Pearson on the `n` valid answers.
    """
    p, variance, n_domain, df, n = _arrays(p, variance, n_domain, df, n)
    alpha = 1.0 - level
    low = np.full(p.shape, np.nan)
    high = np.full(p.shape, np.nan)
    method = np.full(p.shape, None, dtype=object)
    n_eff = effective_size(p, variance, n_domain, df, n, level)
    kg = (variance > 0) & (p > 0) & (p < 1) & (df >= 1) & (n_domain >= 2)
    x = n_eff[kg] * p[kg]
    low[kg] = stats.beta.ppf(alpha / 2, x, n_eff[kg] * (1 - p[kg]) + 1)
    high[kg] = stats.beta.ppf(1 - alpha / 2, x + 1, n_eff[kg] * (1 - p[kg]))
    method[kg] = KORN_GRAUBARD
    cp = variance == 0
    low[cp], high[cp] = clopper_pearson(n[cp] * p[cp], n[cp], level)
    method[cp & np.isfinite(low)] = CLOPPER_PEARSON
    return low, high, method


def logit_t(
    estimate, variance, df, n, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (low, high, method): expit(logit(I) +- t_df SE / (I (1 - I))), inside 0-1.

    R: svycontrast of log(I/(1-I)), confint(..., df = degf(d)). Where SE is 0 (I is 0 or 1) it
    is Clopper-Pearson with n* = `n`.
    """
    estimate, variance, df, n = _arrays(estimate, variance, df, n)
    alpha = 1.0 - level
    low = np.full(estimate.shape, np.nan)
    high = np.full(estimate.shape, np.nan)
    method = np.full(estimate.shape, None, dtype=object)
    ok = (variance > 0) & (estimate > 0) & (estimate < 1) & (df >= 1)
    e = estimate[ok]
    half = t_quantile(1 - alpha / 2, df[ok]) * np.sqrt(variance[ok]) / (e * (1 - e))
    centre = special.logit(e)
    low[ok] = special.expit(centre - half)
    high[ok] = special.expit(centre + half)
    method[ok] = LOGIT_T
    cp = variance == 0
    low[cp], high[cp] = clopper_pearson(n[cp] * estimate[cp], n[cp], level)
    method[cp & np.isfinite(low)] = CLOPPER_PEARSON
    return low, high, method
