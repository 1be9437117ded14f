"""Flask-Limiter for the platform, with citizens' submissions counted by one direct hit."""

from functools import lru_cache

from flask import abort, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

# The form POSTs a citizen can make: the QR survey and the receipt-link survey share one budget.
SUBMIT_ENDPOINTS = frozenset({"citizen.submit", "receipts.submit"})
SCOPE = "citizen-submit"


@lru_cache(maxsize=8)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


class SurveyLimiter(Limiter):
    """Flask-Limiter, whose before-request check counts a citizen's submission by one hit.

    Flask-Limiter's check looks up the view, asks the request filters, evaluates the app's meta
    limits and keeps per-request bookkeeping, even for an endpoint with no limit of its own; with
    a separate hook for the hit besides, that was 9% of a submission's work (bench/submit.py).
    A submission makes one hit on the same strategy and storage in that check instead, before
    CSRF or the form is looked at. Every other request (sign-in, say) is checked by
    Flask-Limiter as usual.
    """

    # Flask-Limiter (pinned) registers this method as its before-request hook; the decorated
    # limits call it with in_middleware=False. A submission not counted here would go unlimited:
    # tests/test_citizen_form.py and tests/test_receipts.py check that it is limited.
    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        if in_middleware and request.method == "POST" and request.endpoint in SUBMIT_ENDPOINTS:
            self.check_submission_limit()
            return
        super()._check_request_limit(callable_name, in_middleware)

    def check_submission_limit(self) -> None:
        """Count a submission from this address; answer 429 when it goes over SUBMIT_RATE_LIMIT."""
        if not current_app.config.get("RATELIMIT_ENABLED", True):
            return
        # Being this direct, the hit does not use Flask-Limiter's key prefix, error swallowing,
        # in-memory fallback or headers; none is configured here, and with the storage down a
        # submission fails rather than go uncounted.
        item = _parsed(current_app.config["SUBMIT_RATE_LIMIT"])
        if not self.limiter.hit(item, SCOPE, get_remote_address()):
            abort(429)
