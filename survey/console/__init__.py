"""The staff console: agencies, counters, posters, receipt links, accounts, reviews, audit log.

Every view asks survey.permissions for what it shows or changes; writes go through
survey.console.operations, reads through survey.console.queries.
"""

from survey.console import accounts, agencies, counters, receipts, review  # noqa: F401  (views)
from survey.console.blueprint import bp  # noqa: F401
