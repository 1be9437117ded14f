"""Mean scores (1 to max_score) with linearization SEs and logit-t intervals, per period and agency.

The index rows carry each criterion's mean score as a number only; this gives the intervals.
A mean m on 1..top is put on 0-1 as t = (m - 1) / (top - 1) and gets the same logit-t interval as
a composite index (METHOD.md: "element and service index, mean scores: t interval on df, built
on the logit scale"), mapped back to 1..top. Composites use the same a_k as the indices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.data import Responses, Scheme
from analysis.indices import ALL, estimate_periods
from analysis.intervals import logit_t
from analysis.status import finite_or_none

MEAN_FIELDS = (
    "period",
    "agency",
    "level",
    "key",
    "mean_score",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "psus",
    "df",
    "method",
)


def mean_score_rows(
    responses: Responses,
    scheme: Scheme,
    *,
    design: str = "srs",
    level: float = 0.95,
    agency_labels: Sequence | None = None,
    period_labels: Sequence | None = None,
) -> list[dict]:
    """Return one row (MEAN_FIELDS) per period, agency (and "*") and key: mean score and its CI."""
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    n_agencies = len(agency_labels) if agency_labels is not None else None
    n_periods = len(period_labels) if period_labels is not None else None
    periods = estimate_periods(
        responses,
        scheme,
        design=design,
        n_agencies=n_agencies,
        n_periods=n_periods,
        measure="score",
    )
    if not periods:
        return []
    n_agencies = periods[0].estimate.shape[0] - 1
    agencies = list(agency_labels) if agency_labels is not None else list(range(n_agencies))
    agencies.append(ALL)
    names = list(period_labels) if period_labels is not None else list(range(len(periods)))
    span = scheme.max_score - 1.0
    rows = []
    for p, e in enumerate(periods):
        # Clip: a composite of criteria all at 1 (or all at the top) is off by rounding only.
        unit = np.clip((e.estimate - 1.0) / span, 0.0, 1.0)
        unit = np.where(np.isfinite(e.estimate), unit, np.nan)
        low, high, method = logit_t(unit, e.variance / span**2, e.df[:, None], e.n, level)
        se = np.sqrt(np.where(e.variance >= 0, e.variance, 0.0))
        se = np.where(e.variance >= 0, se, np.nan)
        for d in range(n_agencies + 1):
            for r, key in enumerate(scheme.keys):
                rows.append(
                    {
                        "period": names[p],
                        "agency": agencies[d],
                        "level": scheme.levels[r],
                        "key": key,
                        "mean_score": finite_or_none(e.estimate[d, r]),
                        "se": finite_or_none(se[d, r]),
                        "ci_low": finite_or_none(1.0 + span * low[d, r]),
                        "ci_high": finite_or_none(1.0 + span * high[d, r]),
                        "n": int(e.n[d, r]),
                        "psus": int(e.psus[d]),
                        "df": int(e.df[d]) if e.df[d] >= 0 else None,
                        "method": method[d, r],
                    }
                )
    return rows
