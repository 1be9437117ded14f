"""Differences between independent estimates: changes between periods, agency pairs, Holm."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

from analysis.status import SUPPRESSED

SIGNIFICANCE = 0.05  # METHOD.md: changes and differences are flagged at 5%, two-sided


def welch_df(v1, v2, df1, df2) -> np.ndarray:
    """Return the Welch-Satterthwaite df (v1 + v2)^2 / (v1^2/df1 + v2^2/df2) (NaN if undefined)."""
    v1, v2, df1, df2 = (
        np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(v1, v2, df1, df2)
    )
    out = np.full(v1.shape, np.nan)
    ok = (v1 >= 0) & (v2 >= 0) & (v1 + v2 > 0) & (df1 >= 1) & (df2 >= 1)
    den = v1[ok] ** 2 / df1[ok] + v2[ok] ** 2 / df2[ok]
    out[ok] = (v1[ok] + v2[ok]) ** 2 / den
    return out


def difference(
    est1, se1, df1, est2, se2, df2, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (diff, se, df, ci_low, ci_high, p_value, significant) of est2 - est1.

    Independent samples: SE = sqrt(v1 + v2), Welch df, t interval at `level`, two-sided p-value;
    `significant` (0/1, NaN if untestable) at 5% whatever the level. Vectorised.
    """
    est1, se1, df1, est2, se2, df2 = (
        np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(est1, se1, df1, est2, se2, df2)
    )
    diff = est2 - est1
    var = se1**2 + se2**2
    df = welch_df(se1**2, se2**2, df1, df2)
    ok = np.isfinite(diff) & np.isfinite(df) & (var > 0)
    se = np.where(np.isfinite(var), np.sqrt(np.where(np.isfinite(var), var, 0.0)), np.nan)
    low = np.full(diff.shape, np.nan)
    high = np.full(diff.shape, np.nan)
    p_value = np.full(diff.shape, np.nan)
    significant = np.full(diff.shape, np.nan)
    half = stats.t.ppf(1 - (1 - level) / 2, df[ok]) * se[ok]
    low[ok] = diff[ok] - half
    high[ok] = diff[ok] + half
    p_value[ok] = 2 * stats.t.sf(np.abs(diff[ok]) / se[ok], df[ok])
    significant[ok] = p_value[ok] < SIGNIFICANCE
    return diff, se, df, low, high, p_value, significant


def holm(p_values: Sequence[float]) -> list[float]:
    """Return Holm's step-down adjusted p-values (as R's p.adjust(method = "holm"))."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def _none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def pairwise_differences(
    rows: Iterable[dict],
    *,
    period,
    key: str = "service",
    level: float = 0.95,
    alpha: float = SIGNIFICANCE,
) -> list[dict]:
    """Return one row per pair of agencies: difference of `key` in `period`, with Holm's correction.

    Takes the rows of `index_rows`; agencies whose row is suppressed or has no SE are left out.
    Each row: period, key, agency, other, difference (agency - other, points), se, df, ci_low,
    ci_high (unadjusted, at `level`), p_value, p_holm (Holm over all pairs made here) and
    significant (p_holm < alpha).
    """
    chosen = [
        r
        for r in rows
        if r["period"] == period
        and r["key"] == key
        and r["agency"] != "*"
        and r["status"] != SUPPRESSED
        and r["se"] is not None
        and r["estimate"] is not None
    ]
    if len(chosen) < 2:
        return []
    i, j = np.triu_indices(len(chosen), k=1)
    est = np.array([r["estimate"] for r in chosen])
    se = np.array([r["se"] for r in chosen])
    df = np.array([r["df"] for r in chosen], dtype=np.float64)
    diff, dse, ddf, low, high, p_value, _ = difference(
        est[j], se[j], df[j], est[i], se[i], df[i], level
    )
    testable = np.isfinite(p_value)
    adjusted = np.full(len(i), np.nan)
    adjusted[testable] = holm(p_value[testable])
    out = []
    for n in range(len(i)):
        out.append(
            {
                "period": period,
                "key": key,
                "agency": chosen[i[n]]["agency"],
                "other": chosen[j[n]]["agency"],
                "difference": _none(diff[n]),
                "se": _none(dse[n]),
                "df": _none(ddf[n]),
                "ci_low": _none(low[n]),
                "ci_high": _none(high[n]),
                "p_value": _none(p_value[n]),
                "p_holm": _none(adjusted[n]),
                "significant": bool(adjusted[n] < alpha) if testable[n] else None,
            }
        )
    return out
