"""Check by simulation that nominal 95% intervals cover the true index about 95% of the time.

A synthetic agency has many counters; each counter's citizens share a counter effect (so the
data ARE clustered) and 8% of answers are missing ("does not apply"). The population indices
are the truth. Each replication samples counters, then citizens within them, and computes the
intervals under the `cluster` design (counters as PSUs: right here) and the `srs` design
(respondents as units: ignores the clustering). All replications are computed in one call, as
agencies of one data set (agencies are independent strata), so 2,000 replications take seconds.

    .venv/bin/python bench/coverage.py [--replications 2000] [--seed 1]

METHOD.md expects the cluster design in 93-97% and the srs design well below when clustered.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis import Responses, Scheme
from analysis.indices import estimate_tables
from analysis.synthetic import answers

SCHEME = Scheme(
    item_keys=Scheme.sipas().item_keys[:16], elements=Scheme.sipas().elements, satisfied_min=4
)
CHECKED = ("service", "A1", "E3")  # the service index and two criterion indices


def population(rng, counters: int, citizens: int, counter_sd: float):
    """Return (answers, counter of each citizen) of one agency's citizens."""
    counter = np.repeat(np.arange(counters), citizens)
    person = rng.normal(0.0, counter_sd, counters)[counter] + rng.normal(0.0, 0.6, len(counter))
    return answers(rng, person, len(SCHEME.item_keys), missing=0.08), counter


def true_indices(scores: np.ndarray) -> dict[str, float]:
    """Return the population value (percent) of each checked key: ratios of population totals."""
    valid = scores > 0
    p = (scores >= SCHEME.satisfied_min).sum(axis=0) / valid.sum(axis=0)
    index = dict(zip(SCHEME.item_keys, p, strict=True))
    elements = [np.mean([index[k] for k in keys]) for keys in SCHEME.elements.values()]
    index["service"] = float(np.mean(elements))
    return {key: 100 * index[key] for key in CHECKED}


def samples(rng, scores, counter, counters, citizens, replications, m, per_counter):
    """Return all replications as one Responses: replication r is agency r (two-stage sample)."""
    # Stage 1: m counters per replication without replacement (argsort of uniforms, vectorised).
    chosen = np.argsort(rng.random((replications, counters)), axis=1)[:, :m]
    # Stage 2: per_counter citizens per chosen counter without replacement.
    within = np.argsort(rng.random((replications * m, citizens)), axis=1)[:, :per_counter]
    rows = (chosen.reshape(-1, 1) * citizens + within).reshape(-1)
    agency = np.repeat(np.arange(replications), m * per_counter)
    psu = np.repeat(np.arange(replications * m), per_counter)  # unique across agencies
    assert np.all(counter[rows] == chosen.reshape(-1).repeat(per_counter))
    return Responses(
        scores=scores[rows],
        agency=agency,
        psu=psu,
        weight=np.ones(len(rows)),  # equal probabilities: a self-weighting sample
        period=np.zeros(len(rows), dtype=np.int64),
    )


def coverage(data: Responses, truth: dict[str, float], design: str) -> dict[str, tuple]:
    """Return, per checked key, (coverage %, mean CI width, mean SE / empirical SD)."""
    tables = estimate_tables(data, SCHEME, design=design)
    keys = SCHEME.keys
    out = {}
    for key in CHECKED:
        r = keys.index(key)
        est = tables.estimate[0, :-1, r]
        low, high = tables.ci_low[0, :-1, r], tables.ci_high[0, :-1, r]
        se = tables.se[0, :-1, r]
        covered = (low <= truth[key]) & (truth[key] <= high)
        out[key] = (
            100 * covered.mean(),
            float(np.mean(high - low)),
            float(np.mean(se) / np.std(est, ddof=1)),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--counters", type=int, default=200, help="counters in the population")
    parser.add_argument("--citizens", type=int, default=300, help="citizens per counter")
    parser.add_argument("--sampled-counters", type=int, default=10)
    parser.add_argument("--per-counter", type=int, default=12, help="respondents per counter")
    args = parser.parse_args()
    started = time.perf_counter()
    n = args.sampled_counters * args.per_counter
    print(
        f"{args.replications} replications; population {args.counters} counters x "
        f"{args.citizens} citizens; sample {args.sampled_counters} counters x "
        f"{args.per_counter} = {n} respondents per replication; 8% missing answers"
    )
    mc = 100 * np.sqrt(0.95 * 0.05 / args.replications)
    print(f"Monte Carlo standard error of a 95% coverage: {mc:.1f} points\n")
    header = f"{'counter effect sd':>17}  {'design':<8}" + "".join(
        f"{key + ' cover':>14}{'width':>7}{'SE/SD':>7}" for key in CHECKED
    )
    print(header)
    print("-" * len(header))
    for counter_sd in (0.5, 0.0):
        rng = np.random.default_rng(args.seed)
        scores, counter = population(rng, args.counters, args.citizens, counter_sd)
        truth = true_indices(scores)
        data = samples(
            rng,
            scores,
            counter,
            args.counters,
            args.citizens,
            args.replications,
            args.sampled_counters,
            args.per_counter,
        )
        for design in ("cluster", "srs"):
            result = coverage(data, truth, design)
            cells = "".join(f"{c:>13.1f}%{w:>7.1f}{ratio:>7.2f}" for c, w, ratio in result.values())
            label = f"{counter_sd:.1f}" + (" (clustered)" if counter_sd else " (none)")
            print(f"{label:>17}  {design:<8}{cells}")
        print("   true values: " + ", ".join(f"{k} {v:.2f}" for k, v in truth.items()))
    print(
        "\ncover: share of replications whose interval contains the true index; width: mean "
        "interval width (points);\nSE/SD: mean estimated SE over the SD of the estimates "
        "(1 = the SE is right).\nCriteria: Korn-Graubard intervals; service index: logit-t."
        f"\n({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
