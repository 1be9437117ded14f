"""The published rows: indices, intervals, statuses, changes and ranks per period and agency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.comparisons import difference
from analysis.composites import missing_components
from analysis.data import Responses, Scheme
from analysis.intervals import effective_size, korn_graubard, logit_t
from analysis.layout import arrange
from analysis.linearization import PeriodEstimates, estimate_period
from analysis.ranks import DEFAULT_DRAWS, DEFAULT_SEED, rank_intervals
from analysis.status import SUPPRESSED, classify, finite_or_none

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
    kg_low, kg_high, kg_method = korn_graubard(est, var, respondents, df, n, level)
    lt_low, lt_high, lt_method = logit_t(est, var, df, n, level)
    low = np.where(criterion, kg_low, lt_low)
    high = np.where(criterion, kg_high, lt_high)
    method = np.where(criterion, kg_method, lt_method)
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
    r: int,
    key: str,
    level: str,
    design: str,
    is_all: bool,
    lost: dict[str, list[str]],
    has_estimate: bool,
    has_se: bool,
) -> tuple[list[str], list[str]]:
    """Return the (suppress, caution) reasons that come from the data rather than the numbers."""
    suppress: list[str] = []
    caution: list[str] = []
    unit = "respondent" if design == "srs" else "PSU"
    if e.respondents[d] == 0:
        suppress.append("no responses")
    elif not has_estimate:
        if level == "criterion":
            suppress.append("no valid answer to this criterion")
        else:
            suppress.append("no valid answer to any of its criteria")
    elif not has_se and is_all:
        suppress.append(f"every agency has a single {unit}: variance cannot be estimated")
    elif not has_se:
        suppress.append(f"one {unit}: variance cannot be estimated")
    if has_estimate and key in lost:
        caution.append("computed without " + ", ".join(lost[key]) + " (no valid answer)")
    if has_estimate and is_all and e.lonely[d] and has_se:
        caution.append(
            f"{e.lonely[d]} agencies with a single {unit}: their variance contribution is "
            "approximated (R survey.lonely.psu = 'adjust')"
        )
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
    status = np.empty(shape, dtype=object)
    reason = np.empty(shape, dtype=object)
    complete = np.ones(shape, dtype=bool)
    for p, e in enumerate(periods):
        df_p = e.df.tolist()
        for d in range(n_domains):
            lost = missing_components(e.valid[d], scheme)
            est_d, se_d = est[p, d].tolist(), se[p, d].tolist()
            low_d, high_d = low[p, d].tolist(), high[p, d].tolist()
            n_d, neff_d = e.n[d].tolist(), tables.n_effective[p, d].tolist()
            for r, key in enumerate(keys):
                has_est, has_se = np.isfinite(est_d[r]), np.isfinite(se_d[r])
                suppress, caution = _reasons(
                    e, d, r, key, levels[r], design, d == n_agencies, lost, has_est, has_se
                )
                complete[p, d, r] = key not in lost
                status[p, d, r], reason[p, d, r] = classify(
                    n=n_d[r],
                    estimate=est_d[r] if has_est else None,
                    se=se_d[r] if has_se else None,
                    ci_low=low_d[r] if np.isfinite(low_d[r]) else None,
                    ci_high=high_d[r] if np.isfinite(high_d[r]) else None,
                    df=df_p[d] if df_p[d] >= 0 else None,
                    n_effective=neff_d[r] if np.isfinite(neff_d[r]) else None,
                    suppress=suppress,
                    caution=caution,
                )

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
        change[1:], ch_low[1:], ch_high[1:], ch_sig[1:] = diff, lo_, hi_, sig
        # Two exact numbers (SE 0 both): the change is known but has no interval or test.
        change[1:] = np.where(both, diff, np.nan)

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

    rows = []
    mean_score = _stack(periods, "mean_score")
    deff = _stack(periods, "deff")
    for p, e in enumerate(periods):
        psus, df_p = e.psus.tolist(), e.df.tolist()
        for d in range(n_domains):
            values = {
                name: array[p, d].tolist()
                for name, array in (
                    ("estimate", est),
                    ("se", se),
                    ("ci_low", low),
                    ("ci_high", high),
                    ("deff", deff),
                    ("change", change),
                    ("change_ci_low", ch_low),
                    ("change_ci_high", ch_high),
                    ("change_significant", ch_sig),
                    ("rank_low", rank_low),
                    ("rank_high", rank_high),
                )
            }
            n_d = e.n[d].tolist()
            means = mean_score[p, d].tolist()
            for r, key in enumerate(keys):
                sig = values["change_significant"][r]
                rows.append(
                    {
                        "period": period_names[p],
                        "agency": agency_names[d],
                        "level": levels[r],
                        "key": key,
                        "estimate": finite_or_none(values["estimate"][r]),
                        "se": finite_or_none(values["se"][r]),
                        "ci_low": finite_or_none(values["ci_low"][r]),
                        "ci_high": finite_or_none(values["ci_high"][r]),
                        "mean_score": finite_or_none(means[r]),
                        "n": n_d[r],
                        "psus": psus[d],
                        "df": df_p[d] if df_p[d] >= 0 else None,
                        "deff": finite_or_none(values["deff"][r]),
                        "status": status[p, d, r],
                        "reason": reason[p, d, r],
                        "rank_low": values["rank_low"][r] or None,
                        "rank_high": values["rank_high"][r] or None,
                        "change": finite_or_none(values["change"][r]),
                        "change_ci_low": finite_or_none(values["change_ci_low"][r]),
                        "change_ci_high": finite_or_none(values["change_ci_high"][r]),
                        "change_significant": None if not np.isfinite(sig) else bool(sig),
                        "method": tables.method[p, d, r],
                    }
                )
    return rows
