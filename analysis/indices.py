"""The published rows: indices, intervals, statuses, changes and ranks per period and agency."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis import status as st
from analysis.comparisons import difference
from analysis.composites import missing_components
from analysis.data import Responses, Scheme
from analysis.intervals import effective_size, korn_graubard, logit_t
from analysis.layout import arrange
from analysis.linearization import PeriodEstimates, estimate_period
from analysis.ranks import DEFAULT_DRAWS, DEFAULT_SEED, rank_intervals
from analysis.status import SUPPRESSED, assess, describe

ALL = "*"
FIELDS = (
    "period",
    "agency",
    "level",
    "key",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "mean_score",
    "n",
    "psus",
    "df",
    "deff",
    "status",
    "reason",
    "reasons",
    "rank_low",
    "rank_high",
    "change",
    "change_ci_low",
    "change_ci_high",
    "change_significant",
    "method",
)
SNAP = 1e-12  # composites of all-0 or all-1 criteria come out 1 - 1e-16: report them as 0 / 100


@dataclass(frozen=True)
class Tables:
    """Every number of the rows as arrays over (period, domain, key); domain A is "*" (all)."""

    estimate: np.ndarray  # percent, NaN = none
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    method: np.ndarray  # object: method name or None
    n_effective: np.ndarray
    periods: list[PeriodEstimates]


def _stack(periods: list[PeriodEstimates], name: str) -> np.ndarray:
    return np.stack([getattr(e, name) for e in periods])


def estimate_periods(
    responses: Responses,
    scheme: Scheme,
    *,
    design: str = "srs",
    n_agencies: int | None = None,
    n_periods: int | None = None,
    measure: str = "satisfied",
) -> list[PeriodEstimates]:
    """Return one PeriodEstimates per period (each period's own design), fractions or scores."""
    if n_agencies is None:
        n_agencies = int(responses.agency.max()) + 1 if responses.n else 0
    if n_periods is None:
        n_periods = int(responses.period.max()) + 1 if responses.n else 0
    layout = arrange(responses, n_agencies, n_periods, by_psu=design == "cluster")
    periods = []
    for p in range(n_periods):
        lo, hi = layout.period_starts[p], layout.period_starts[p + 1]
        periods.append(
            estimate_period(
                layout.scores[lo:hi],
                layout.weight[lo:hi],
                layout.agency[lo:hi],
                None if layout.psu is None else layout.psu[lo:hi],
                None if layout.poststratum is None else layout.poststratum[lo:hi],
                n_agencies,
                scheme,
                design,
                measure,
            )
        )
    return periods


def estimate_tables(
    responses: Responses,
    scheme: Scheme,
    *,
    design: str = "srs",
    level: float = 0.95,
    n_agencies: int | None = None,
    n_periods: int | None = None,
) -> Tables:
    """Return indices, SEs and intervals (percent) for every period, agency and "*" as arrays."""
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    if n_agencies is None:
        n_agencies = int(responses.agency.max()) + 1 if responses.n else 0
    periods = estimate_periods(
        responses, scheme, design=design, n_agencies=n_agencies, n_periods=n_periods
    )
    if not periods:
        shape = (0, n_agencies + 1, len(scheme.keys))
        empty = np.zeros(shape)
        return Tables(empty, empty, empty, empty, np.empty(shape, dtype=object), empty, [])
    est = _stack(periods, "estimate")
    # Composites of criteria all at 0 or 1 differ from 0 / 1 by rounding only.
    est = np.where(np.abs(est) < SNAP, 0.0, np.where(np.abs(est - 1) < SNAP, 1.0, est))
    var = _stack(periods, "variance")
    n = _stack(periods, "n").astype(np.float64)
    respondents = _stack(periods, "respondents")[:, :, None].astype(np.float64)
    df = _stack(periods, "df")[:, :, None].astype(np.float64)
    criterion = np.array([lv == "criterion" for lv in scheme.levels])
    low, high = np.full(est.shape, np.nan), np.full(est.shape, np.nan)
    method = np.full(est.shape, None, dtype=object)
    c, k = criterion, ~criterion
    low[..., c], high[..., c], method[..., c] = korn_graubard(
        est[..., c], var[..., c], respondents, df, n[..., c], level
    )
    low[..., k], high[..., k], method[..., k] = logit_t(
        est[..., k], var[..., k], df, n[..., k], level
    )
    n_eff = effective_size(est, var, respondents, df, n, level)
    se = np.sqrt(np.where(var >= 0, var, np.nan), where=var >= 0, out=np.full(var.shape, np.nan))
    return Tables(
        estimate=100 * est,
        se=100 * se,
        ci_low=100 * low,
        ci_high=100 * high,
        method=method,
        n_effective=n_eff,
        periods=periods,
    )


def _reasons(
    e: PeriodEstimates,
    d: int,
    key: str,
    level: str,
    design: str,
    is_all: bool,
    lost: dict[str, list[str]],
    has_estimate: bool,
    has_se: bool,
) -> tuple[list[dict], list[dict]]:
    """Return the (suppress, caution) reasons that come from the data rather than the numbers."""
    suppress: list[dict] = []
    caution: list[dict] = []
    unit = "respondent" if design == "srs" else "PSU"
    if e.respondents[d] == 0:
        suppress.append(st.reason(st.NO_RESPONSES))
    elif not has_estimate:
        code = st.NO_VALID_CRITERION if level == "criterion" else st.NO_VALID_COMPOSITE
        suppress.append(st.reason(code))
    elif not has_se and is_all:
        suppress.append(st.reason(st.SINGLE_PSU_EVERYWHERE, unit=unit))
    elif not has_se:
        suppress.append(st.reason(st.SINGLE_PSU, unit=unit))
    if has_estimate and key in lost:
        caution.append(st.reason(st.COMPONENTS_MISSING, keys=", ".join(lost[key])))
    if has_estimate and is_all and e.lonely[d] and has_se:
        caution.append(st.reason(st.LONELY_PSUS, count=int(e.lonely[d]), unit=unit))
    return suppress, caution


def index_rows(
    responses: Responses,
    scheme: Scheme,
    *,
    design: str = "srs",
    level: float = 0.95,
    agency_labels: Sequence | None = None,
    period_labels: Sequence | None = None,
    rank_keys: Sequence[str] | None = None,
    rank_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> list[dict]:
    """Return every row (dict with FIELDS) for all periods, agencies and "*" (all agencies).

    `design` is "srs" (respondents are the units) or "cluster" (`psu` codes are the units);
    agencies are strata in both. `agency_labels[a]` / `period_labels[p]` replace the codes in
    the rows (their lengths set the number of agencies and periods, so agencies without
    responses get rows too). Changes are against the previous period; rank intervals are among
    the agencies of a period for `rank_keys` (default: the service index, or each criterion if
    the scheme has no elements).
    """
    n_agencies = len(agency_labels) if agency_labels is not None else None
    n_periods = len(period_labels) if period_labels is not None else None
    tables = estimate_tables(
        responses, scheme, design=design, level=level, n_agencies=n_agencies, n_periods=n_periods
    )
    periods = tables.periods
    n_periods = len(periods)
    if not n_periods:
        return []
    n_domains = periods[0].estimate.shape[0]
    n_agencies = n_domains - 1
    keys, levels = scheme.keys, scheme.levels
    agency_names = list(agency_labels) if agency_labels is not None else list(range(n_agencies))
    agency_names.append(ALL)
    period_names = list(period_labels) if period_labels is not None else list(range(n_periods))
    if rank_keys is None:
        rank_keys = ["service"] if scheme.elements else list(scheme.item_keys)
    unknown = set(rank_keys) - set(keys)
    if unknown:
        raise ValueError(f"unknown rank keys: {sorted(unknown)}")

    shape = (n_periods, n_domains, len(keys))
    est, se, low, high = tables.estimate, tables.se, tables.ci_low, tables.ci_high
    status, reasons, complete = _statuses(tables, scheme, design)

    # Change since the previous period: both numbers published (not suppressed) and with an SE.
    df = np.stack([e.df for e in periods])[:, :, None] * np.ones(shape)
    usable = (status != SUPPRESSED) & np.isfinite(se) & np.isfinite(est)
    change = np.full(shape, np.nan)
    ch_low = np.full(shape, np.nan)
    ch_high = np.full(shape, np.nan)
    ch_sig = np.full(shape, np.nan)
    if n_periods > 1:
        both = usable[1:] & usable[:-1]
        masked = [np.where(both, a, np.nan) for a in (est[:-1], se[:-1], df[:-1])]
        masked += [np.where(both, a, np.nan) for a in (est[1:], se[1:], df[1:])]
        diff, _, _, lo_, hi_, _, sig = difference(*masked, level=level)
        # Two exact numbers (SE 0 both) have a change but no interval or test (NaN from there).
        change[1:], ch_low[1:], ch_high[1:], ch_sig[1:] = diff, lo_, hi_, sig

    # Rank intervals among the agencies of each period (not "*"), for published complete indices.
    rank_low = np.zeros(shape, dtype=np.int64)
    rank_high = np.zeros(shape, dtype=np.int64)
    for p in range(n_periods):
        for key in rank_keys:
            r = keys.index(key)
            eligible = np.flatnonzero(usable[p, :n_agencies, r] & complete[p, :n_agencies, r])
            if not len(eligible):
                continue
            lo_r, hi_r = rank_intervals(
                est[p, eligible, r], se[p, eligible, r], level=level, draws=rank_draws, seed=seed
            )
            rank_low[p, eligible, r] = lo_r
            rank_high[p, eligible, r] = hi_r

    psus = np.stack([e.psus for e in periods])[:, :, None] * np.ones(shape, dtype=np.int64)
    columns = {
        "period": [name for name in period_names for _ in range(n_domains * len(keys))],
        "agency": [name for name in agency_names for _ in keys] * n_periods,
        "level": levels * (n_periods * n_domains),
        "key": keys * (n_periods * n_domains),
        "estimate": _column(est),
        "se": _column(se),
        "ci_low": _column(low),
        "ci_high": _column(high),
        "mean_score": _column(_stack(periods, "mean_score")),
        "n": _stack(periods, "n").reshape(-1).tolist(),
        "psus": psus.reshape(-1).tolist(),
        "df": _column(np.where(df >= 0, df, np.nan), integer=True),
        "deff": _column(_stack(periods, "deff")),
        "status": status.reshape(-1).tolist(),
        "reason": [describe(r) for r in reasons.reshape(-1).tolist()],
        "reasons": reasons.reshape(-1).tolist(),
        "rank_low": _column(np.where(rank_low > 0, rank_low, np.nan), integer=True),
        "rank_high": _column(np.where(rank_high > 0, rank_high, np.nan), integer=True),
        "change": _column(change),
        "change_ci_low": _column(ch_low),
        "change_ci_high": _column(ch_high),
        "change_significant": [None if flag is None else flag == 1 for flag in _column(ch_sig)],
        "method": tables.method.reshape(-1).tolist(),
    }
    return [
        dict(zip(FIELDS, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _column(array: np.ndarray, integer: bool = False) -> list:
    """Flatten to a list in (period, domain, key) order; NaN and infinities become None."""
    flat = np.asarray(array, dtype=np.float64).reshape(-1)
    finite = np.isfinite(flat)
    out = (np.where(finite, flat, 0).astype(np.int64) if integer else flat).astype(object)
    out[~finite] = None
    return out.tolist()


def _statuses(tables: Tables, scheme: Scheme, design: str):
    """Return (status, reasons, complete) arrays over (period, domain, key)."""
    periods = tables.periods
    keys, levels = scheme.keys, scheme.levels
    shape = tables.estimate.shape
    n_agencies = shape[1] - 1
    status = np.empty(shape, dtype=object)
    reason = np.empty(shape, dtype=object)
    complete = np.ones(shape, dtype=bool)
    for p, e in enumerate(periods):
        df_p = e.df.tolist()
        for d in range(shape[1]):
            lost = missing_components(e.valid[d], scheme)
            est_d, se_d = tables.estimate[p, d].tolist(), tables.se[p, d].tolist()
            low_d, high_d = tables.ci_low[p, d].tolist(), tables.ci_high[p, d].tolist()
            n_d, neff_d = e.n[d].tolist(), tables.n_effective[p, d].tolist()
            df = df_p[d] if df_p[d] >= 0 else None
            for r, key in enumerate(keys):
                has_est, has_se = math.isfinite(est_d[r]), math.isfinite(se_d[r])
                suppress, caution = _reasons(
                    e, d, key, levels[r], design, d == n_agencies, lost, has_est, has_se
                )
                complete[p, d, r] = key not in lost
                status[p, d, r], reason[p, d, r] = assess(
                    n=n_d[r],
                    estimate=est_d[r] if has_est else None,
                    se=se_d[r] if has_se else None,
                    ci_low=low_d[r] if math.isfinite(low_d[r]) else None,
                    ci_high=high_d[r] if math.isfinite(high_d[r]) else None,
                    df=df,
                    n_effective=neff_d[r] if math.isfinite(neff_d[r]) else None,
                    suppress=suppress,
                    caution=caution,
                )
    return status, reason, complete
