"""The limit on citizens' submissions, counted in Flask-Limiter's storage (Redis in production)."""

from functools import lru_cache

from flask import Flask, abort, current_app, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from survey.extensions import limiter

# The form POSTs a citizen can make: the QR survey and the receipt-link survey share one budget.
SUBMIT_ENDPOINTS = frozenset({"citizen.submit", "receipts.submit"})
SCOPE = "citizen-submit"


@lru_cache(maxsize=8)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def check_submission_limit() -> None:
    """Count a submission from this address; answer 429 when it goes over SUBMIT_RATE_LIMIT."""
    if request.method != "POST" or request.endpoint not in SUBMIT_ENDPOINTS:
        return
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    # One hit on Flask-Limiter's own strategy and storage. Its decorator resolves and filters
    # every limit of the app on each request, which cost more than the Redis round trip itself
    # on the busiest path (bench/submit.py). Being this direct, the hit does not use
    # Flask-Limiter's key prefix, error swallowing, in-memory fallback or headers; none is
    # configured here, and with the storage down a submission fails rather than go uncounted.
    item = _parsed(current_app.config["SUBMIT_RATE_LIMIT"])
    if not limiter.limiter.hit(item, SCOPE, get_remote_address()):
        abort(429)


@limiter.request_filter
def _counted_here() -> bool:
    """Tell Flask-Limiter to pass over submissions: check_submission_limit counts them."""
    # Without this its own hook would still resolve the app's limits on every submission.
    return request.endpoint in SUBMIT_ENDPOINTS


def init_app(app: Flask) -> None:
    """Check the submission limit before anything else (CSRF, forms) is done for a request."""
    app.before_request(check_submission_limit)
