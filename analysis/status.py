"""Whether a number is fit to publish: the NCHS standards for proportions (Parker et al. 2017).

suppressed: n < 30 respondents, or effective size n* < 30, or a CI 30 points wide or more (and
            anything without an estimate, a variance or an interval);
caution:    df < 8, or a CI wider than 20 points, or an index of 0 or 100 (and composites that
            lost a component, "*" rows whose variance includes an agency with a single PSU);
ok:         the rest.
"""

from __future__ import annotations

import math

OK = "ok"
CAUTION = "caution"
SUPPRESSED = "suppressed"

MIN_N = 30
MIN_EFFECTIVE_N = 30
MAX_WIDTH = 30.0  # CI width in points at or above which the number is suppressed
CAUTION_WIDTH = 20.0  # CI width in points above which the number needs caution
MIN_DF = 8


def _number(x: float) -> str:
    return f"{x:.1f}"


def classify(
    *,
    n: int,
    estimate: float | None,
    se: float | None,
    ci_low: float | None,
    ci_high: float | None,
    df: float | None,
    n_effective: float | None,
    suppress: list[str] | None = None,
    caution: list[str] | None = None,
) -> tuple[str, str | None]:
    """Return (status, reason) for one index in percent; the reason lists every rule that hit.

    `suppress` and `caution` carry reasons found elsewhere (e.g. "one PSU: variance cannot be
    estimated", "computed without B3 (no valid answer)"); they are reported first.
    """
    hard = list(suppress or [])
    soft = list(caution or [])
    if estimate is not None and se is not None and (ci_low is None or ci_high is None):
        hard.append("no confidence interval (df = 0)")
    if n < MIN_N:
        hard.append(f"n = {n} respondents < {MIN_N}")
    if n_effective is not None and n_effective < MIN_EFFECTIVE_N and n >= MIN_N:
        hard.append(f"effective sample size {_number(n_effective)} < {MIN_EFFECTIVE_N}")
    width = None if ci_low is None or ci_high is None else ci_high - ci_low
    if width is not None and width >= MAX_WIDTH:
        hard.append(f"CI {_number(width)} points wide (>= {MAX_WIDTH:.0f})")
    if df is not None and df < MIN_DF and se is not None:
        soft.append(f"df = {df:g} < {MIN_DF}")
    if width is not None and CAUTION_WIDTH < width < MAX_WIDTH:
        soft.append(f"CI {_number(width)} points wide (> {CAUTION_WIDTH:.0f})")
    if estimate is not None and (estimate == 0 or estimate == 100):
        soft.append(f"index of {estimate:g}")
    if hard:
        return SUPPRESSED, "; ".join(hard + soft)
    if soft:
        return CAUTION, "; ".join(soft)
    return OK, None


def finite_or_none(x: float) -> float | None:
    """Return x as a float, or None when it is NaN or infinite (rows never carry NaN)."""
    return float(x) if math.isfinite(x) else None
