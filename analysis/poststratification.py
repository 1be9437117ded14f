"""Post-stratified weights: scale the weights of each cell to a known population total."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.data import Responses


def population_array(
    population: np.ndarray | Mapping[tuple[int, ...], float], n_periods: int
) -> np.ndarray:
    """Return population totals as a (periods, agencies, cells) array (NaN = not given).

    Accepts an (agencies, cells) array (the same totals every period), a (periods, agencies,
    cells) array, or a mapping {(agency, cell): total} or {(period, agency, cell): total}.
    """
    if isinstance(population, Mapping):
        keys = list(population)
        if not keys:
            raise ValueError("population totals are empty")
        width = len(keys[0])
        if width not in (2, 3) or any(len(k) != width for k in keys):
            raise ValueError("population keys must all be (agency, cell) or (period, agency, cell)")
        shape = tuple(max(k[i] for k in keys) + 1 for i in range(width))
        table = np.full(shape, np.nan)
        for key, total in population.items():
            table[key] = total
        population = table
    table = np.asarray(population, dtype=np.float64)
    if table.ndim == 2:
        table = np.broadcast_to(table, (n_periods, *table.shape))
    if table.ndim != 3:
        raise ValueError("population must be (agencies, cells) or (periods, agencies, cells)")
    return table


def poststratify(
    responses: Responses, population: np.ndarray | Mapping[tuple[int, ...], float]
) -> np.ndarray:
    """Return weights post-stratified within (period, agency, cell) to the population totals.

    w_i * N_g / sum of w in cell g, as R's `postStratify(design, ~agency + cell, population)`
    applied to each period's design. A cell with responses but no population total raises
    ValueError (R stops too); a cell with a total but no responses is ignored (R's partial=TRUE),
    so that agency's weights then sum to less than its population.
    """
    if responses.poststratum is None:
        raise ValueError("responses have no poststratum codes")
    n_periods = int(responses.period.max()) + 1 if responses.n else 0
    table = population_array(population, n_periods)
    p, a, g = responses.period, responses.agency, responses.poststratum
    if responses.n and (
        p.max() >= table.shape[0] or a.max() >= table.shape[1] or g.max() >= table.shape[2]
    ):
        raise ValueError("a response's (period, agency, cell) lies outside the population table")
    # One flat code per (period, agency, cell), so a single bincount gives every cell's weight.
    flat = np.ravel_multi_index((p, a, g), table.shape)
    cell_weight = np.bincount(flat, weights=responses.weight, minlength=table.size)
    totals = table.reshape(-1)[flat]
    bad = ~(np.isfinite(totals) & (totals > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"cell (period {p[i]}, agency {a[i]}, cell {g[i]}) has responses "
            "but no positive population total"
        )
    return responses.weight * totals / cell_weight[flat]
