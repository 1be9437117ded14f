"""The staff console: agencies, counters, posters, receipt links, accounts and the audit log.

Every view asks survey.permissions for what it shows or changes; writes go through
survey.console.operations, reads through survey.console.queries.
"""

from survey.console import accounts, agencies, counters, receipts  # noqa: F401  (register views)
from survey.console.blueprint import bp  # noqa: F401
