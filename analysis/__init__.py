"""SIPAS indices with their sampling errors, computed as R's survey package computes them.

Plain numpy/scipy; no web framework, no database. Start with `index_rows(responses, scheme)`;
docs/statistics.md describes the method and the decisions.
"""

from analysis.comparisons import difference, holm, pairwise_differences, welch_df
from analysis.data import Responses, Scheme
from analysis.indices import ALL, FIELDS, estimate_tables, index_rows
from analysis.intervals import clopper_pearson, effective_size, korn_graubard, logit_t
from analysis.mean_scores import MEAN_FIELDS, mean_score_rows
from analysis.poststratification import poststratify
from analysis.ranks import rank_intervals
from analysis.status import classify

__all__ = [
    "ALL",
    "FIELDS",
    "MEAN_FIELDS",
    "Responses",
    "Scheme",
    "classify",
    "clopper_pearson",
    "difference",
    "effective_size",
    "estimate_tables",
    "holm",
    "index_rows",
    "korn_graubard",
    "logit_t",
    "mean_score_rows",
    "pairwise_differences",
    "poststratify",
    "rank_intervals",
    "welch_df",
]
