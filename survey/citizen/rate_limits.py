"""Flask-Limiter for the platform, with citizens' submissions counted by one direct hit."""

import functools
import threading
from collections.abc import Callable
from functools import lru_cache

from flask import abort, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage

# The form POSTs a citizen can make: the QR survey and the receipt-link survey, each with a
# budget per address and per counter.
SUBMIT_ENDPOINTS = frozenset({"citizen.submit", "receipts.submit"})
SCOPE = "citizen-submit"
# Pages no limit applies to, passed by without Flask-Limiter's bookkeeping (a tenth of the
# citizen's form page's work): a citizen's form is never held back, only what is sent, and
# the app has no default limits (extensions.py). tests/test_citizen_form.py checks both.
UNLIMITED_PAGES = frozenset({"citizen.form"})
# The page that shows a form over the limit again, answers kept, by endpoint; each view module
# registers its own (citizen/views.py, citizen/receipts.py).
HELD_BACK_PAGES: dict[str, Callable] = {}


def _one_at_a_time(method: Callable) -> Callable:
    """Wrap a storage method so that it runs under the storage's lock."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class ThreadSafeMemoryStorage(MemoryStorage):
    """limits' in-memory storage (`memory://`), safe in a worker of several threads.

    limits (5.8.0, pinned) has two races there. It restarts its expiry timer on a hit without a
    lock: two threads can both find it stopped, and the second to call start() on the timer the
    other just made fails with "threads can only be started once", a 500 for a citizen's
    submission (seen with gunicorn.conf.py's 4 threads, bench/peer.py --threads 4). And a hit
    first drops its key when the key has no window yet, and per-key locks are made and dropped
    without a lock, so threads hitting a new key at once lose each other's counts. Here every
    read and write of the windows, and the expiry sweep, take one lock (a call is
    microseconds), and the timer its own. Declaring the same scheme makes limits build this
    class for `memory://`.
    """

    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._lock = threading.RLock()
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    incr = _one_at_a_time(MemoryStorage.incr)
    decr = _one_at_a_time(MemoryStorage.decr)
    get = _one_at_a_time(MemoryStorage.get)
    get_expiry = _one_at_a_time(MemoryStorage.get_expiry)
    clear = _one_at_a_time(MemoryStorage.clear)
    reset = _one_at_a_time(MemoryStorage.reset)
    acquire_entry = _one_at_a_time(MemoryStorage.acquire_entry)
    get_moving_window = _one_at_a_time(MemoryStorage.get_moving_window)
    acquire_sliding_window_entry = _one_at_a_time(MemoryStorage.acquire_sliding_window_entry)
    get_sliding_window = _one_at_a_time(MemoryStorage.get_sliding_window)
    clear_sliding_window = _one_at_a_time(MemoryStorage.clear_sliding_window)
    # The names MemoryStorage's own methods call (its private __expire_events, __schedule_expiry).
    _MemoryStorage__expire_events = _one_at_a_time(MemoryStorage._MemoryStorage__expire_events)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802
        if self.timer.is_alive():
            return
        with self._timer_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)
                self.timer.start()


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
        if in_middleware and request.method == "GET" and request.endpoint in UNLIMITED_PAGES:
            return
        super()._check_request_limit(callable_name, in_middleware)

    def check_submission_limit(self) -> None:
        """Count a submission from this address at this counter; hold it back over the limit.

        Over SUBMIT_RATE_LIMIT the citizen gets the form again with every answer kept and a
        message to send again in a moment (429), never an error page that loses the answers.
        The key is the address and the counter: honest citizens behind one address (a
        centre's Wi-Fi, a carrier's NAT) are spread over many counters, a script at one.
        """
        if not current_app.config.get("RATELIMIT_ENABLED", True):
            return
        # Being this direct, the hit does not use Flask-Limiter's key prefix, error swallowing,
        # in-memory fallback or headers; none is configured here, and with the storage down a
        # submission fails rather than go uncounted.
        item = _parsed(current_app.config["SUBMIT_RATE_LIMIT"])
        if not self.limiter.hit(item, SCOPE, get_remote_address(), _counter_key()):
            page = HELD_BACK_PAGES.get(request.endpoint)
            abort(current_app.make_response(page(**request.view_args)) if page else 429)


def _counter_key() -> str:
    """Return which counter a submission is for, as far as the URL tells without a query."""
    args = request.view_args or {}
    if "token" in args:
        return f"t:{args['token']}"
    # A receipt link starts with its counter's id; a forged one only picks another budget,
    # and its signature is refused anyway.
    return f"c:{str(args.get('signed', '')).partition('.')[0]}"
