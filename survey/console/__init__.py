"""The staff console: agencies, counters, posters, receipt links, accounts, reviews, audit log.

Every view asks survey.permissions for what it shows or changes; writes go through
survey.console.operations, reads through survey.console.queries.
"""

from survey.console import (  # noqa: F401  (views)
    accounts,
    agencies,
    counters,
    kiosks,
    receipts,
    review,
    tokens,
)
from survey.console.blueprint import bp  # noqa: F401
