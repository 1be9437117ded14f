"""Clustered synthetic survey data, for the R-agreement tests, the timing script and bench/coverage.

Answers come from a latent satisfaction: agency effect + counter effect + respondent effect +
item effect + noise, cut into the answer scale. Counter effects make the data clustered.
"""

from __future__ import annotations

import numpy as np

from analysis.data import Responses

# Cut points of the latent scale into answers 1..5 (about 75% answer 4 or 5 at effect 0).
FIVE_LEVEL_CUTS = np.array([-2.2, -1.4, -0.7, 0.9])
THREE_LEVEL_CUTS = np.array([-1.0, 0.8])


def answers(
    rng: np.random.Generator,
    person: np.ndarray,
    n_items: int,
    *,
    missing: float = 0.08,
    scale: int = 5,
    item_sd: float = 0.3,
    noise_sd: float = 0.8,
) -> np.ndarray:
    """Return (n, n_items) uint8 answers from per-person latent values; `missing` share set to 0."""
    cuts = FIVE_LEVEL_CUTS if scale == 5 else THREE_LEVEL_CUTS
    item = rng.normal(0.0, item_sd, n_items).astype(np.float32)
    latent = rng.standard_normal((len(person), n_items), dtype=np.float32)
    latent *= noise_sd
    latent += person.astype(np.float32)[:, None]
    latent += item
    scores = (np.searchsorted(cuts, latent.ravel()) + 1).astype(np.uint8).reshape(latent.shape)
    if missing > 0:
        scores[rng.random(scores.shape, dtype=np.float32) < missing] = 0
    return scores


def clustered_responses(
    seed: int,
    *,
    agencies: int,
    psus_per_agency: int | np.ndarray,
    respondents_per_psu: int | np.ndarray,
    n_items: int = 17,
    periods: int = 1,
    missing: float = 0.08,
    agency_sd: float = 0.4,
    counter_sd: float = 0.5,
    person_sd: float = 0.6,
    unequal_weights: bool = False,
    cells: int = 0,
    scale: int = 5,
) -> Responses:
    """Return responses from `agencies` x PSUs (counters) x respondents, spread over `periods`.

    PSU codes are unique across agencies. With `unequal_weights`, weights vary from 0.5 to 3;
    with `cells` > 0, each response gets a post-stratum code 0..cells-1.
    """
    rng = np.random.default_rng(seed)
    psus = np.broadcast_to(np.asarray(psus_per_agency), (agencies,)).astype(np.int64)
    psu_agency = np.repeat(np.arange(agencies), psus)
    per_psu = np.broadcast_to(np.asarray(respondents_per_psu), (len(psu_agency),))
    psu = np.repeat(np.arange(len(psu_agency)), per_psu)
    agency = psu_agency[psu]
    n = len(psu)
    person = (
        rng.normal(0.0, agency_sd, agencies)[agency]
        + rng.normal(0.0, counter_sd, len(psu_agency))[psu]
        + rng.normal(0.0, person_sd, n)
    )
    scores = answers(rng, person, n_items, missing=missing, scale=scale)
    weight = rng.uniform(0.5, 3.0, n) if unequal_weights else np.ones(n)
    period = rng.integers(0, periods, n)
    poststratum = rng.integers(0, cells, n) if cells else None
    return Responses(
        scores=scores,
        agency=agency,
        psu=psu,
        weight=weight,
        period=period,
        poststratum=poststratum,
    )
