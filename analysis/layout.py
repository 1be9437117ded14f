"""Put the responses in (period, agency, PSU) order so that every domain is a contiguous slice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.data import Responses


@dataclass(frozen=True)
class Layout:
    """Responses sorted by period, agency and (for the cluster design) PSU, with period bounds."""

    scores: np.ndarray
    weight: np.ndarray
    agency: np.ndarray
    psu: np.ndarray | None
    poststratum: np.ndarray | None
    period_starts: np.ndarray  # rows of period p are period_starts[p]:period_starts[p + 1]


def _is_sorted(key: np.ndarray) -> bool:
    return bool(key.size < 2 or np.all(key[1:] >= key[:-1]))


def arrange(responses: Responses, n_agencies: int, n_periods: int, by_psu: bool) -> Layout:
    """Return the responses sorted so that domains (and, if `by_psu`, PSUs) are contiguous.

    Data read with ORDER BY period, agency, psu are used as they are (no copy).
    """
    if responses.n and responses.agency.max() >= n_agencies:
        raise ValueError("an agency code is >= the number of agencies")
    if responses.n and responses.period.max() >= n_periods:
        raise ValueError("a period code is >= the number of periods")
    domain = responses.period * n_agencies + responses.agency
    if by_psu and responses.n:
        span = int(responses.psu.max()) + 1
        if n_periods * n_agencies * span >= 2**62:
            raise ValueError("psu codes too large: recode them to 0..number of PSUs - 1")
        key = domain * span + responses.psu
    else:
        key = domain
    if _is_sorted(key):
        order = None
    elif key.size and int(key.max()) < 2**16:
        # numpy's stable sort is a radix sort for 16-bit keys: linear time for 1M responses.
        order = np.argsort(key.astype(np.uint16), kind="stable")
    else:
        order = np.argsort(key, kind="stable")

    def take(values: np.ndarray | None) -> np.ndarray | None:
        if values is None or order is None:
            return values
        return values[order]

    # Sorted domain codes are runs: rebuild them from counts instead of gathering them.
    runs = np.bincount(domain, minlength=n_periods * n_agencies)
    sorted_domain = np.repeat(np.arange(n_periods * n_agencies), runs)
    period_starts = np.searchsorted(sorted_domain, np.arange(n_periods + 1) * n_agencies)
    return Layout(
        scores=_take_rows(responses.scores, order),
        weight=take(responses.weight),
        agency=sorted_domain % n_agencies if n_agencies else sorted_domain,
        psu=take(responses.psu) if by_psu else None,  # srs: respondents are the units
        poststratum=take(responses.poststratum),
        period_starts=period_starts,
    )


def _take_rows(scores: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Return scores[order]; rows are moved as single 16-byte-like items, which is much faster."""
    if order is None:
        return scores
    if not scores.flags.c_contiguous or scores.shape[1] == 0:
        return scores[order]
    rows = scores.view(np.dtype((np.void, scores.shape[1]))).reshape(-1)
    return rows[order].view(np.uint8).reshape(-1, scores.shape[1])
