"""Results computed once per data version and kept where every worker and server finds them.

Why a cache keyed by the data version rather than stored sums (README, "Results at scale"): the
published numbers are not only sums. Rank intervals, statuses and suppression, post-strata read
from a file, the `cluster` design's PSU totals and composites whose criteria vary by agency would
each need its own aggregate kept right through every import, review and questionnaire version;
every one of them is a place for the stored sums and a fresh computation to drift apart. A cache
holds exactly what a fresh computation gave, so it cannot differ from one.

How it behaves:
- The data version (survey/results/changes.py) is read with one cheap query per view. A stored
  result of the same version is served as it is: nothing is computed.
- A result of an older version is served at once, with the time it was computed shown on the
  page, and one newer computation is started beside the web workers: in a forked process at
  the lowest CPU priority (SCHED_IDLE), so that citizens' requests go first
  (`RESULTS_REFRESH = "background"`).
  New responses start one at most every `RESULTS_REFRESH_SECONDS`; a review or an edit (the
  revision) starts one at once. One such computation runs at a time (`refresh-slot`).
- Nothing stored yet (the first view of a set of filters): computed in the request, as before.
- A result made from another stored one (the overview, a file: from the whole report) uses that
  one while it is not yet due again, and is stored with its data version: so the whole report
  is computed once per refresh, not once for each page and file made from it.
- `RESULTS_REFRESH = "inline"` computes every old result in the request (the tests; a quiet
  installation); `RESULTS_CACHE_URL = "null://"` keeps nothing.

The store is Redis when `RESULTS_CACHE_URL` is a redis:// URL (shared by every app server), else
a folder beside the database (`instance/results-cache`, shared by the workers of one machine).
"""

import hashlib
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cachelib import BaseCache, FileSystemCache, NullCache, RedisCache, SimpleCache
from flask import Flask, current_app, g

from survey import db
from survey.results import changes
from survey.results.changes import DataVersion, data_version

DAY = 24 * 3600
# A folder store keeps at most this many results (the oldest go first): a year's file of 500
# agencies is 8 MB, most results far less.
FILES = 1000
SLOT = "refresh-slot"
# Where SCHED_IDLE is missing: how much lower than the web workers' a computation runs.
NICENESS = 15
_in_refresh = False  # True in a background computation: what it needs, it computes itself
# In a forked computation: the parent's sessions and pools, never freed here (_forget_connections).
_inherited: list = []
# Per thread, for each result being computed, the data versions of the stored ones it uses.
_sources = threading.local()


@dataclass(frozen=True)
class Stored:
    """A result as kept: the value, the data version it was computed from, and when."""

    value: Any
    version: DataVersion
    computed_at: datetime  # UTC


@dataclass(frozen=True)
class Cached:
    """A result as served: its value, when it was computed, whether it is of the data now."""

    value: Any
    computed_at: datetime  # UTC
    fresh: bool  # computed from the data as they are now
    refreshing: bool = False  # a newer computation has been started

    def headers(self) -> dict[str, str]:
        """Return the headers that say how old a file is (downloads and the API)."""
        return {
            "X-Results-Computed-At": self.computed_at.isoformat(timespec="seconds"),
            "X-Results-Up-To-Date": "yes" if self.fresh else "no",
        }

    @property
    def computed_at_vietnam(self) -> datetime:
        """Return when the result was computed, in Vietnam's time."""
        from survey.timeutil import VIETNAM

        return self.computed_at.astimezone(VIETNAM)


def make_store(url: str, folder: Path) -> BaseCache:
    """Return the store `url` names: redis://..., simple:// (this process), null://, or a folder."""
    if not url:
        return FileSystemCache(str(folder), threshold=FILES, default_timeout=DAY)
    scheme = url.partition("://")[0]
    if scheme in ("redis", "rediss", "unix"):
        import redis

        return RedisCache(
            host=redis.Redis.from_url(url), key_prefix="results:", default_timeout=DAY
        )
    if scheme == "simple":
        return SimpleCache(threshold=500, default_timeout=DAY)
    if scheme == "null":
        return NullCache()
    if scheme == "file":
        return FileSystemCache(url.partition("://")[2], threshold=FILES, default_timeout=DAY)
    raise ValueError(
        f"RESULTS_CACHE_URL '{url}': use redis://host:port/db, file:///folder, simple:// or null://"
    )


def init_app(app: Flask) -> None:
    """Attach the results store to `app` and watch the sessions for changes of the data."""
    if app.config["RESULTS_REFRESH"] not in ("background", "inline"):
        raise ValueError("RESULTS_REFRESH must be 'background' or 'inline'")
    app.extensions["results_cache"] = make_store(
        app.config["RESULTS_CACHE_URL"], Path(app.instance_path) / "results-cache"
    )
    changes.watch()


def store() -> BaseCache:
    """Return the current app's results store."""
    return current_app.extensions["results_cache"]


def clear() -> None:
    """Forget every stored result (after a database is restored from a backup, say)."""
    store().clear()


def _key(name: str, parts: dict) -> str:
    """Return the store key of a result: its name and parts, and which database it reads."""
    database = db.results_engine().url.render_as_string(hide_password=True)
    text = json.dumps([database, name, parts], sort_keys=True, default=str)
    return f"{name}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _now() -> datetime:
    return datetime.now(UTC)


def cached(name: str, parts: dict, compute: Callable[[], Any], stale_ok: bool = True) -> Cached:
    """Return the result `compute()` gives for the data now, or a stored one (see the module).

    `parts` must name everything the result depends on but the data (filters, language, the
    agencies it covers); `compute` must read the database through `db` when called, not before,
    since a background computation calls it in another process. `stale_ok=False` is for a
    result another one is made from: an old one is used only while it is not yet due to be
    computed again (never with `RESULTS_REFRESH = "inline"`), and the result made from it is
    stored with its data version, so that it too is computed again in its turn.
    """
    keep = store()
    if isinstance(keep, NullCache):
        return Cached(compute(), _now(), fresh=True)
    version = data_version(db.results_engine())
    key = _key(name, parts)
    stored = keep.get(key)
    if not isinstance(stored, Stored):
        stored = None
    if stored and stored.version == version:
        _made_from(stored.version)
        return Cached(stored.value, stored.computed_at, fresh=True)
    background = current_app.config["RESULTS_REFRESH"] == "background"
    if stored and background and stale_ok and not _in_refresh:
        started = _due(stored, version) and _refresh_in_background(key, compute)
        _made_from(stored.version)
        return Cached(stored.value, stored.computed_at, fresh=False, refreshing=started)
    if stored and background and not stale_ok and not _due(stored, version):
        _made_from(stored.version)
        return Cached(stored.value, stored.computed_at, fresh=False)
    stored = _compute(compute, version)
    keep.set(key, stored)
    _made_from(stored.version)
    return Cached(stored.value, stored.computed_at, fresh=stored.version == version)


def _compute(compute: Callable[[], Any], version: DataVersion) -> Stored:
    """Compute a result; it is of the data version of an older stored result it was made from."""
    _sources.stack = getattr(_sources, "stack", [])
    _sources.stack.append([])
    try:
        value = compute()
    finally:
        used = _sources.stack.pop()
    made_from = next((v for v in used if v != version), version)
    return Stored(value, made_from, _now())


def _made_from(version: DataVersion) -> None:
    """Note that the result being computed (if any) is made from data of `version`."""
    stack = getattr(_sources, "stack", None)
    if stack:
        stack[-1].append(version)


def memo(name: str, parts: dict, compute: Callable[[], Any]) -> Any:
    """Return `compute()` stored under `parts` alone: for what a stored result fully decides.

    A page's HTML is made from a stored result and the URL: `parts` then names that result (its
    computation time) and the URL's arguments, and no data version is needed.
    """
    keep = store()
    key = _key(name, parts)
    value = keep.get(key)
    if value is None:
        value = compute()
        keep.set(key, value)
    return value


def _due(stored: Stored, version: DataVersion) -> bool:
    """A review or an edit: at once; only new responses or links: after the refresh interval."""
    if stored.version.revision != version.revision:
        return True
    age = (_now() - stored.computed_at).total_seconds()
    return age >= current_app.config["RESULTS_REFRESH_SECONDS"]


def _refresh_in_background(key: str, compute: Callable[[], Any]) -> bool:
    """Start computing `key` again in a forked process (one at a time); True if started."""
    keep = store()
    if not _take_slot(keep, current_app.config["RESULTS_REFRESH_TIMEOUT"]):
        return False
    app = current_app._get_current_object()
    try:
        middle = os.fork()
    except OSError:  # no process to spare: the old result is served, the next view tries again
        app.logger.exception("could not start a background computation of the results")
        keep.delete(SLOT)
        return False
    if middle:
        os.waitpid(middle, 0)  # the middle process leaves at once: init reaps the worker
        return True
    try:
        if os.fork() == 0:
            _compute_and_store(app, keep, key, compute)
    finally:
        os._exit(0)


def _take_slot(keep: BaseCache, timeout: int) -> bool:
    """Take the one refresh slot for `timeout` seconds; False while another computation has it.

    A folder store's `add` does not look at expiry: a slot left by a computation that died (its
    alarm, a reboot) is removed here once expired, or no result would be computed again.
    """
    if not keep.has(SLOT):
        keep.delete(SLOT)
    return bool(keep.add(SLOT, os.getpid(), timeout=timeout))


def _compute_and_store(app: Flask, keep: BaseCache, key: str, compute: Callable[[], Any]) -> None:
    """In the forked process: compute at the lowest priority, store, free the slot."""
    global _in_refresh
    _in_refresh = True
    try:
        # Forked from a threaded worker, a lock another thread held stays held here: should the
        # computation ever hang on one, the alarm ends it, and the slot expires by itself.
        signal.alarm(int(app.config["RESULTS_REFRESH_TIMEOUT"]))
        _lowest_priority()
        _forget_connections(app)
        keep.set(key, _compute(compute, data_version(db.results_engine())))
    except Exception:  # noqa: BLE001 - logged; the old result stays, the next view tries again
        app.logger.exception("computing the results %s in the background failed", key)
    finally:
        keep.delete(SLOT)


def _lowest_priority() -> None:
    """Run at Linux's SCHED_IDLE priority, else at nice 15.

    Beside busy web workers a SCHED_IDLE process weighs 3 against their 1,024 (nice 15: 36), so
    it runs on what they leave: citizens' forms do not wait for a computation of results.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(NICENESS)


def _forget_connections(app: Flask) -> None:
    """Leave the parent's database connections to it: new pools here, the old ones kept.

    A connection freed in this process would be closed by its driver (psycopg's PQfinish tells
    the server "terminate" over the socket both processes share), and the parent's session
    would be gone. So they are held until the process exits with os._exit.
    """
    for name in ("db_session", "db_results_session"):
        session = g.pop(name, None)
        if session is not None:
            _inherited.append(session)
    for engine in db.all_engines(app):
        _inherited.append(engine.pool)
        engine.dispose(close=False)
