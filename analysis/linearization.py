"""Indices and their linearization variances for every agency of one period, and for all of them.

Notation of METHOD.md: weight w_i, r_ik = 1 if criterion k was answered, y_ik = 1 if satisfied.
Influence value of respondent i for a key with weights a_k (criterion: a_k = 1 for itself):
    z_i = sum_k a_k w_i r_ik (y_ik - p_k) / sum_j w_j r_jk
Var = m/(m-1) sum_c (Z_c - Zbar)^2 over the PSUs c of each stratum (agency), Z_c the PSU sum of z.
Everything is done on blocks of whole agencies with numpy reductions: no loop over respondents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.composites import coefficients
from analysis.data import Scheme

# Rows per block: big enough for fast numpy calls, small enough to keep memory low (a block of
# 65,536 responses x 22 keys is 11 MB per float array).
BLOCK_ROWS = 1 << 16


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


def _segment_sums(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum `values` rows over consecutive segments; empty segments give 0 (reduceat does not)."""
    out = np.zeros((len(lengths), *values.shape[1:]))
    nonempty = lengths > 0
    if nonempty.any():
        out[nonempty] = np.add.reduceat(values, starts[nonempty], axis=0, dtype=np.float64)
    return out


def _centre_in_cells(z: np.ndarray, w: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """z_i - w_i * sum_g z / sum_g w within each post-stratum g (what R's postStratify does)."""
    _, code = np.unique(cell, return_inverse=True)
    n_cells = int(code.max()) + 1
    cell_w = np.bincount(code, weights=w, minlength=n_cells)
    cell_z = np.stack(
        [np.bincount(code, weights=z[:, j], minlength=n_cells) for j in range(z.shape[1])], axis=1
    )
    return z - w[:, None] * (cell_z / cell_w[:, None])[code]


def estimate_period(
    scores: np.ndarray,
    weight: np.ndarray,
    agency: np.ndarray,
    psu: np.ndarray,
    cell: np.ndarray | None,
    n_agencies: int,
    scheme: Scheme,
    design: str,
) -> PeriodEstimates:
    """Estimate every key for every agency and for all agencies ("*", agencies as strata).

    Rows must be sorted by agency (and by PSU within agency for the cluster design). The design
    is this period's only, as R's `svydesign(...)` on the period's data then `subset()` per
    agency: each agency is a stratum, PSUs are its counters (`cluster`) or its respondents (`srs`).
    """
    if design not in ("srs", "cluster"):
        raise ValueError("design must be 'srs' or 'cluster'")
    n_items = len(scheme.item_keys)
    if scores.shape[1] != n_items:
        raise ValueError(f"scores have {scores.shape[1]} columns, the scheme {n_items} items")
    keys = scheme.keys
    n_keys = len(keys)
    n_domains = n_agencies + 1
    star = n_agencies
    item_of = {k: i for i, k in enumerate(scheme.item_keys)}
    elements = list(scheme.elements.values())
    # Composite columns of the output and the criteria that make them up.
    composite_cols = [keys.index(k) for k in keys if k not in item_of]
    composite_items = []
    for key in keys:
        if key == "service":
            composite_items.append([item_of[m] for members in elements for m in members])
        elif key in scheme.elements:
            composite_items.append([item_of[m] for m in scheme.elements[key]])

    starts = np.searchsorted(agency, np.arange(n_agencies + 1))
    sizes = np.diff(starts)
    if design == "cluster":
        new_unit = np.ones(len(agency), dtype=bool)
        new_unit[1:] = (agency[1:] != agency[:-1]) | (psu[1:] != psu[:-1])
        unit_starts = np.flatnonzero(new_unit)
        unit_offsets = np.searchsorted(unit_starts, starts)  # first unit of each agency
        psus = np.diff(unit_offsets)
    else:
        psus = sizes.copy()
    blocks = _blocks(starts, BLOCK_ROWS)
    smin = scheme.satisfied_min

    def block_arrays(first: int, last: int):
        lo, hi = starts[first], starts[last]
        s = scores[lo:hi]
        w = weight[lo:hi]
        valid = s > 0
        wr = valid * w[:, None]
        wry = (s >= smin) * w[:, None]
        return lo, hi, s, w, valid, wr, wry

    # Pass 1: per agency and criterion, sum of w r (W0), of w r y (W1), of w r score, counts;
    # per composite, respondents with any valid answer among its criteria and their weight.
    w0 = np.zeros((n_domains, n_items))
    w1 = np.zeros((n_domains, n_items))
    wscore = np.zeros((n_domains, n_items))
    count = np.zeros((n_domains, n_items))
    any_n = np.zeros((n_domains, len(composite_cols)))
    any_w = np.zeros((n_domains, len(composite_cols)))
    for first, last in blocks:
        lo, hi, s, w, valid, wr, wry = block_arrays(first, last)
        seg = starts[first:last] - lo
        size = sizes[first:last]
        w0[first:last] = _segment_sums(wr, seg, size)
        w1[first:last] = _segment_sums(wry, seg, size)
        wscore[first:last] = _segment_sums(wr * s, seg, size)
        count[first:last] = _segment_sums(valid.view(np.uint8), seg, size)
        if composite_cols:
            anyv = np.stack([valid[:, idx].any(axis=1) for idx in composite_items], axis=1)
            any_n[first:last] = _segment_sums(anyv.view(np.uint8), seg, size)
            any_w[first:last] = _segment_sums(anyv * w[:, None], seg, size)
    for table in (w0, w1, wscore, count, any_n, any_w):
        table[star] = table[:star].sum(axis=0)

    valid_dom = count > 0
    p = np.divide(w1, w0, out=np.zeros_like(w1), where=valid_dom)
    inv_w0 = np.divide(1.0, w0, out=np.zeros_like(w0), where=valid_dom)
    mean = np.divide(wscore, w0, out=np.zeros_like(w0), where=valid_dom)
    coef = coefficients(valid_dom, scheme)
    has_key = coef.any(axis=1)
    estimate = np.where(has_key, np.einsum("dk,dkr->dr", p, coef), np.nan)
    mean_score = np.where(has_key, np.einsum("dk,dkr->dr", mean, coef), np.nan)

    # n and total weight of the respondents behind each key (criteria: their valid answers).
    n = np.zeros((n_domains, n_keys))
    w_key = np.zeros((n_domains, n_keys))
    for j, col in enumerate(composite_cols):
        n[:, col] = any_n[:, j]
        w_key[:, col] = any_w[:, j]
    for key, k in item_of.items():
        n[:, keys.index(key)] = count[:, k]
        w_key[:, keys.index(key)] = w0[:, k]

    # Agencies whose coefficients differ from the all-answered ones need their own matmul.
    full = coefficients(np.ones((1, n_items), dtype=bool), scheme)[0]
    special = [a for a in range(n_agencies) if sizes[a] and not valid_dom[a].all()]

    # Pass 2: influence values, PSU totals, centred sums of squares per stratum.
    sumsq = np.zeros((n_domains, n_keys))  # within-agency sum of squares, scaled m/(m-1)
    h = np.zeros((n_domains, n_keys))  # sum of z^2 / w, for the design effect
    for first, last in blocks:
        lo, hi, s, w, valid, wr, wry = block_arrays(first, last)
        del s, valid
        local_agency = agency[lo:hi] - first
        seg = starts[first:last] - lo
        size = sizes[first:last]
        z = (wry - wr * p[first:last][local_agency]) * inv_w0[first:last][local_agency]
        zs = (wry - wr * p[star]) * inv_w0[star]
        del wr, wry
        x = z @ full
        for a in special:
            if first <= a < last:
                rows = slice(starts[a] - lo, starts[a + 1] - lo)
                x[rows] = z[rows] @ coef[a]
        xs = zs @ coef[star]
        # Design effect denominators use the raw z (svyvar ignores post-strata).
        h[first:last] = _segment_sums(x * x / w[:, None], seg, size)
        h[star] += np.einsum("ir,ir,i->r", xs, xs, 1.0 / w)
        if cell is not None:
            # Post-stratified: centre within (agency, cell) before PSU totals, for both z and z*.
            cells = agency[lo:hi] * (int(cell.max()) + 1) + cell[lo:hi]
            x = _centre_in_cells(x, w, cells)
            xs = _centre_in_cells(xs, w, cells)
        if design == "cluster":
            u_lo, u_hi = unit_offsets[first], unit_offsets[last]
            ustarts = unit_starts[u_lo:u_hi] - lo
            x = np.add.reduceat(x, ustarts, axis=0)
            xs = np.add.reduceat(xs, ustarts, axis=0)
            unit_agency = local_agency[ustarts]
            useg = unit_offsets[first:last] - u_lo
        else:
            unit_agency = local_agency
            useg = seg
        m = psus[first:last].astype(np.float64)
        safe_m = np.maximum(m, 1.0)
        # Own agency: centre PSU totals at the stratum mean; a lone PSU gives no variance.
        centred = x - (_segment_sums(x, useg, psus[first:last]) / safe_m[:, None])[unit_agency]
        own = _segment_sums(centred * centred, useg, psus[first:last])
        scale = np.divide(m, m - 1.0, out=np.full_like(m, np.nan), where=m > 1)
        sumsq[first:last] = own * scale[:, None]
        # All agencies: same per stratum with z*, but a stratum with one PSU is not centred
        # (R's survey.lonely.psu = "adjust": its PSU total is taken around the grand mean 0).
        mean_s = _segment_sums(xs, useg, psus[first:last]) / safe_m[:, None]
        mean_s[m == 1] = 0.0
        centred = xs - mean_s[unit_agency]
        strat = _segment_sums(centred * centred, useg, psus[first:last])
        sumsq[star] += (strat * np.where(m > 1, scale, 1.0)[:, None]).sum(axis=0)

    nonempty = sizes > 0
    respondents = np.append(sizes, sizes.sum())
    all_psus = np.append(psus, psus.sum())
    df = np.append(psus - 1, psus.sum() - nonempty.sum())
    lonely = np.append((psus == 1).astype(np.int64), int((psus == 1).sum()))
    variance = np.where(has_key, sumsq, np.nan)
    # Agencies with one PSU: no variance (NaN from scale); "*" keeps its adjusted value.
    variance[star] = np.where(has_key[star], sumsq[star], np.nan)
    # deff = v / vsrs, vsrs = (sum w) (sum z^2 / w) / (n - 1): svymean(deff = "replace") of the
    # linearized score; for a criterion this is p (1 - p) / (n - 1) as R gives.
    vsrs = np.divide(w_key * h, n - 1.0, out=np.zeros_like(h), where=n > 1)
    ok = (vsrs > 0) & np.isfinite(variance)
    deff = np.divide(variance, vsrs, out=np.full_like(h, np.nan), where=ok)
    return PeriodEstimates(
        estimate=estimate,
        variance=variance,
        deff=deff,
        mean_score=mean_score,
        n=n.astype(np.int64),
        valid=valid_dom,
        respondents=respondents,
        psus=all_psus,
        df=df,
        lonely=lonely,
    )
