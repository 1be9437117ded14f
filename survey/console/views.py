"""The console's blueprint with every view module's routes on it, for the app factory."""

from survey.console import (  # noqa: F401  (imported for the routes they add to bp)
    accounts,
    agencies,
    counters,
    kiosks,
    receipts,
    review,
    tokens,
)
from survey.console.blueprint import bp

__all__ = ["bp"]
