"""The in-memory rate-limit storage in a worker of several threads (gunicorn.conf.py's 4)."""

import sys
import threading
import time

from limits.storage import storage_from_string

from survey import db
from survey.citizen.rate_limits import ThreadSafeMemoryStorage
from survey.extensions import limiter


def test_memory_scheme_builds_the_thread_safe_storage(app_config):
    from survey import create_app

    assert type(storage_from_string("memory://")) is ThreadSafeMemoryStorage
    limited = create_app(app_config | {"RATELIMIT_ENABLED": True})
    assert limited.config["RATELIMIT_STORAGE_URI"] == "memory://"
    with limited.app_context():
        assert type(limiter.storage) is ThreadSafeMemoryStorage
    db.dispose_engines(limited)


def test_hits_from_many_threads_at_once_never_fail_and_all_count():
    """Threads hit together just after the expiry timer stopped, with the GIL switching often.

    The same stress makes limits' own MemoryStorage (5.8.0) raise "threads can only be started
    once" a few times in 100 rounds, the 500 seen under bench/peer.py; with only that fixed,
    1 to 5 of the 800 hits were lost in one run out of five (a hit drops a key with no window).
    """
    interval = sys.getswitchinterval()
    storage = ThreadSafeMemoryStorage()
    errors: list[BaseException] = []
    rounds, threads = 100, 8
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(rounds):
            barrier = threading.Barrier(threads)

            def hit(barrier=barrier):
                barrier.wait()
                try:
                    storage.incr("citizen-submit/127.0.0.1/t:abc", 60)
                except Exception as error:  # the test reports any, not only RuntimeError
                    errors.append(error)

            workers = [threading.Thread(target=hit) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            time.sleep(0.015)  # past the timer's 10 ms: the next round restarts it
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert storage.get("citizen-submit/127.0.0.1/t:abc") == rounds * threads


def test_a_moving_window_lets_exactly_its_limit_through_threads_at_once():
    """The flags' windows (moving): 8 threads at once on a new key with room for 5: 5 pass."""
    storage = ThreadSafeMemoryStorage()
    interval = sys.getswitchinterval()
    passed_per_round: list[int] = []
    sys.setswitchinterval(1e-6)
    try:
        for number in range(60):
            barrier = threading.Barrier(8)
            passed: list[bool] = []

            def take(barrier=barrier, passed=passed, key=f"burst/{number}"):
                barrier.wait()
                passed.append(storage.acquire_entry(key, 5, 60))

            workers = [threading.Thread(target=take) for _ in range(8)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            passed_per_round.append(sum(passed))
            time.sleep(0.012)  # the expiry sweep runs between rounds
    finally:
        sys.setswitchinterval(interval)
    assert passed_per_round == [5] * 60
