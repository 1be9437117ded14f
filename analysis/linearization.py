"""Indices and their linearization variances for every agency of one period, and for all of them.

Notation of METHOD.md: weight w_i, r_ik = 1 if criterion k was answered, y_ik = 1 if satisfied.
Influence value of respondent i for a key with weights a_k (criterion: a_k = 1 for itself):
    z_i = sum_k a_k w_i r_ik (y_ik - p_k) / sum_j w_j r_jk
Var = m/(m-1) sum_c (Z_c - Zbar)^2 over the PSUs c of each stratum (agency), Z_c the PSU sum of z.
No loop over respondents: sums are bincounts, influence values one matrix product per block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.composites import coefficients
from analysis.data import Scheme

# Rows per block of whole agencies: big enough for fast numpy calls, small enough to keep the
# float copies of a block (65,536 x 32 answers indicators = 17 MB) cheap.
BLOCK_ROWS = 1 << 16
# A variance at or below this share of the simple random sample's is rounding noise: 0.
ROUNDING = 1e-10


@dataclass(frozen=True)
class PeriodEstimates:
    """Arrays over domains (agencies 0..A-1, then "*" for all) and keys (`Scheme.keys` order).

    Fractions 0-1; NaN marks "undefined" (turned into None with a status when rows are made).
    """

    estimate: np.ndarray  # (D, R) index; NaN when no criterion of the key has a valid answer
    variance: np.ndarray  # (D, R) linearization variance; NaN when it cannot be estimated
    deff: np.ndarray  # (D, R) design effect as svymean(deff = "replace"); NaN when undefined
    mean_score: np.ndarray  # (D, R) weighted mean answer (composites: same a_k over criteria)
    n: np.ndarray  # (D, R) respondents with a valid answer to the key (any of its criteria)
    valid: np.ndarray  # (D, K) criterion has at least one valid answer in the domain
    respondents: np.ndarray  # (D,) respondents of the domain (R's nrow of the domain design)
    psus: np.ndarray  # (D,) PSUs of the domain (respondents under srs)
    df: np.ndarray  # (D,) degrees of freedom: PSUs - strata (R's degf of the domain design)
    lonely: np.ndarray  # (D,) strata with a single PSU in the domain


def _blocks(starts: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Group consecutive agencies into blocks of about `limit` rows (whole agencies only)."""
    blocks = []
    first = 0
    n_agencies = len(starts) - 1
    while first < n_agencies:
        last = first + 1
        while last < n_agencies and starts[last + 1] - starts[first] <= limit:
            last += 1
        blocks.append((first, last))
        first = last
    return blocks


def _centre_in_cells(x: np.ndarray, w: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """x_i - w_i * sum_g x / sum_g w within each post-stratum g (what R's postStratify does)."""
    _, code = np.unique(cell, return_inverse=True)
    n_cells = int(code.max()) + 1
    cell_w = np.bincount(code, weights=w, minlength=n_cells)
    cell_x = np.stack(
        [np.bincount(code, weights=x[:, j], minlength=n_cells) for j in range(x.shape[1])], axis=1
    )
    return x - w[:, None] * (cell_x / cell_w[:, None])[code]


def _sum_of_squares(totals: np.ndarray, centre: bool = True) -> np.ndarray:
    """Return m/(m-1) sum_c (Z_c - Zbar)^2 per column (uncentred and unscaled for m = 1)."""
    m = totals.shape[0]
    if m == 1:
        return totals[0] ** 2
    if centre:
        totals = totals - totals.mean(axis=0)
    return np.einsum("cr,cr->r", totals, totals) * (m / (m - 1))


def _histograms(
    scores: np.ndarray, weight: np.ndarray, agency: np.ndarray, n_agencies: int, unit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return weighted and unweighted counts of each answer value per (agency, item, value)."""
    n_items = scores.shape[1]
    levels = int(scores.max()) + 1 if scores.size else 1
    weighted = np.zeros((n_agencies, n_items, levels))
    counts = np.zeros((n_agencies, n_items, levels))
    base = agency * levels
    for k in range(n_items):
        code = base + scores[:, k]
        counts[:, k] = np.bincount(code, minlength=n_agencies * levels).reshape(-1, levels)
        if unit:
            weighted[:, k] = counts[:, k]
        else:
            weighted[:, k] = np.bincount(
                code, weights=weight, minlength=n_agencies * levels
            ).reshape(-1, levels)
    return weighted, counts


def estimate_period(
    scores: np.ndarray,
    weight: np.ndarray,
    agency: np.ndarray,
    psu: np.ndarray | None,
    cell: np.ndarray | None,
    n_agencies: int,
    scheme: Scheme,
    design: str,
    measure: str = "satisfied",
) -> PeriodEstimates:
    """Estimate every key for every agency and for all agencies ("*", agencies as strata).

    Rows must be sorted by agency (and by PSU within agency for the cluster design). The design
    is this period's only, as R's `svydesign(...)` on the period's data then `subset()` per
    agency: each agency is a stratum, PSUs are its counters (`cluster`) or its respondents (`srs`).
    `measure` "satisfied" gives the indices (share of answers >= satisfied_min); "score" gives
    the mean scores (`estimate` is then the mean score, composites with the same a_k), whose
    influence values are the same with y_ik replaced by the answer value.
    """
    if design not in ("srs", "cluster"):
        raise ValueError("design must be 'srs' or 'cluster'")
    if measure not in ("satisfied", "score"):
        raise ValueError("measure must be 'satisfied' or 'score'")
    n_items = len(scheme.item_keys)
    if scores.shape[1] != n_items:
        raise ValueError(f"scores have {scores.shape[1]} columns, the scheme {n_items} items")
    keys = scheme.keys
    n_keys = len(keys)
    n_domains = n_agencies + 1
    star = n_agencies
    smin = scheme.satisfied_min
    item_of = {k: i for i, k in enumerate(scheme.item_keys)}
    composite_keys = [k for k in keys if k not in item_of]
    members = {
        key: [item_of[m] for m in scheme.elements[key]]
        if key != "service"
        else [item_of[m] for ms in scheme.elements.values() for m in ms]
        for key in composite_keys
    }
    unit = bool(np.all(weight == 1.0))

    starts = np.searchsorted(agency, np.arange(n_agencies + 1))
    sizes = np.diff(starts)
    if design == "cluster":
        new_unit = np.ones(len(agency), dtype=bool)
        new_unit[1:] = (agency[1:] != agency[:-1]) | (psu[1:] != psu[:-1])
        unit_starts = np.flatnonzero(new_unit)
        unit_offsets = np.searchsorted(unit_starts, starts)  # first PSU of each agency
        psus = np.diff(unit_offsets)
    else:
        psus = sizes.copy()

    # Pass 1, sufficient statistics: per agency, item and answer value, the sum of weights.
    # From them: W0 = sum w r, W1 = sum w r y, the score sums and the counts of valid answers.
    weighted, counts = _histograms(scores, weight, agency, n_agencies, unit)
    values = np.arange(weighted.shape[2], dtype=np.float64)
    w0 = np.zeros((n_domains, n_items))
    w1 = np.zeros((n_domains, n_items))
    wscore = np.zeros((n_domains, n_items))
    count = np.zeros((n_domains, n_items))
    w0[:star] = weighted[:, :, 1:].sum(axis=2)
    w1[:star] = weighted[:, :, smin:].sum(axis=2)
    wscore[:star] = weighted @ values
    count[:star] = counts[:, :, 1:].sum(axis=2)
    # Respondents (and their weight) with a valid answer to at least one criterion of a composite.
    n = np.zeros((n_domains, n_keys))
    w_key = np.zeros((n_domains, n_keys))
    for key in composite_keys:
        answered = (scores[:, members[key]] > 0).any(axis=1)
        col = keys.index(key)
        n[:star, col] = np.bincount(agency, weights=answered, minlength=n_agencies)
        w_key[:star, col] = np.bincount(agency, weights=weight * answered, minlength=n_agencies)
    for key, k in item_of.items():
        n[:star, keys.index(key)] = count[:star, k]
        w_key[:star, keys.index(key)] = w0[:star, k]
    for table in (w0, w1, wscore, count, n, w_key):
        table[star] = table[:star].sum(axis=0)

    valid = count > 0
    inv_w0 = np.divide(1.0, w0, out=np.zeros_like(w0), where=valid)
    mean = np.divide(wscore, w0, out=np.zeros_like(w0), where=valid)
    if measure == "satisfied":
        p = np.divide(w1, w0, out=np.zeros_like(w1), where=valid)
    else:
        p = mean
    coef = coefficients(valid, scheme)
    has_key = coef.any(axis=1)
    estimate = np.where(has_key, np.einsum("dk,dkr->dr", p, coef), np.nan)
    mean_score = np.where(has_key, np.einsum("dk,dkr->dr", mean, coef), np.nan)
    # z_i = w_i sum_k a_k e_ik with e_ik = (y_ik - p_k) r_ik / W0_k: e is built per block
    # (agency values repeated over their rows), then one matrix product per block gives every
    # key at once. Few large products, not one per agency: BLAS threads
    # cost more than they save on small matrices, worse on a busy machine.
    full = coefficients(np.ones((1, n_items), dtype=bool), scheme)[0]
    special = {a for a in range(n_agencies) if sizes[a] and not valid[a].all()}
    scaled_p = p * inv_w0

    # Pass 2: influence values, PSU totals, centred sums of squares per stratum.
    sumsq = np.full((n_domains, n_keys), np.nan)  # own variance; NaN for a lone PSU
    sumsq[star] = 0.0
    h = np.zeros((n_domains, n_keys))  # sum of z^2 / w, for the design effect
    for first, last in _blocks(starts, BLOCK_ROWS):
        lo, hi = starts[first], starts[last]
        s = scores[lo:hi]
        w = weight[lo:hi]
        answered = s > 0
        y = (s >= smin) if measure == "satisfied" else s  # r_ik * answer: missing answers are 0
        size = sizes[first:last]
        e = y * np.repeat(inv_w0[first:last], size, axis=0)
        e -= answered * np.repeat(scaled_p[first:last], size, axis=0)
        x = e @ full
        for a in special.intersection(range(first, last)):
            rows = slice(starts[a] - lo, starts[a + 1] - lo)
            x[rows] = e[rows] @ coef[a]
        e = y * inv_w0[star]
        e -= answered * scaled_p[star]
        xs = e @ coef[star]
        del e, y, answered
        if not unit:
            x *= w[:, None]
            xs *= w[:, None]
        # Design effect denominators use the raw z (svyvar ignores post-strata).
        hx = x * x if unit else x * x / w[:, None]
        h[star] += np.einsum("ir,ir->r", xs, xs if unit else xs / w[:, None])
        if cell is not None:
            # Post-stratified: centre within (agency, cell) before PSU totals, for z and z*.
            cells = agency[lo:hi] * (int(cell.max()) + 1) + cell[lo:hi]
            x = _centre_in_cells(x, w, cells)
            xs = _centre_in_cells(xs, w, cells)
        for a in range(first, last):
            if not sizes[a]:
                continue
            rows = slice(starts[a] - lo, starts[a + 1] - lo)
            h[a] = hx[rows].sum(axis=0)
            if design == "cluster":
                local = unit_starts[unit_offsets[a] : unit_offsets[a + 1]] - starts[a]
                totals = np.add.reduceat(x[rows], local, axis=0)
                totals_s = np.add.reduceat(xs[rows], local, axis=0)
            else:
                totals, totals_s = x[rows], xs[rows]
            if psus[a] > 1:
                sumsq[a] = _sum_of_squares(totals)
            # "*": same per stratum with z*, but a stratum with one PSU is not centred (R's
            # survey.lonely.psu = "adjust": its PSU total is taken around the grand mean 0).
            sumsq[star] += _sum_of_squares(totals_s)

    nonempty = sizes > 0
    respondents = np.append(sizes, sizes.sum())
    all_psus = np.append(psus, psus.sum())
    df = np.append(psus - 1, psus.sum() - nonempty.sum())
    lonely = np.append((psus == 1).astype(np.int64), int((psus == 1).sum()))
    variance = np.where(has_key, sumsq, np.nan)
    if df[star] < 1:
        # Every agency has one PSU: "adjust" alone would make up a variance with no df behind it
        # (R's svydesign refuses such a design).
        variance[star] = np.nan
    # deff = v / vsrs, vsrs = (sum w) (sum z^2 / w) / (n - 1): svymean(deff = "replace") of the
    # linearized score; for a criterion this is p (1 - p) / (n - 1) as R gives.
    vsrs = np.divide(w_key * h, n - 1.0, out=np.zeros_like(h), where=n > 1)
    # Every PSU with exactly the same share has a variance of 0 that rounding makes 1e-34: such
    # a variance is 0 (METHOD.md: Clopper-Pearson then), else R's zero-width interval follows.
    # A real variance is never below 1e-10 of the simple random sample's (that needs ~1e10 rows).
    variance = np.where(variance <= ROUNDING * vsrs, 0.0, variance)
    deff = np.divide(
        variance, vsrs, out=np.full_like(h, np.nan), where=(vsrs > 0) & np.isfinite(variance)
    )
    return PeriodEstimates(
        estimate=estimate,
        variance=variance,
        deff=deff,
        mean_score=mean_score,
        n=n.astype(np.int64),
        valid=valid,
        respondents=respondents,
        psus=all_psus,
        df=df,
        lonely=lonely,
    )
