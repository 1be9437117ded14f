"""Successful submissions per second through gunicorn (2 workers), beside the floor of the stack.

For SQLite (WAL) and PostgreSQL, with the rate-limit counters in Redis as in production: start
the app under gunicorn, fetch forms (each with its CSRF
token and one-time nonce) beforehand, then time a bounded number of form POSTs from a few
loopback client threads; then the same against a bare endpoint that inserts one row into the
same database through the same stack. Prints both rates and their ratio (target >= 0.5).

Run: .venv/bin/python bench/submit.py [--requests 1500] [--clients 8]
"""

import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from analysis.data import SIPAS_ELEMENTS  # noqa: E402
from bench.floor_app import metadata as floor_metadata  # noqa: E402
from survey.db import make_engine  # noqa: E402
from survey.migrate import upgrade  # noqa: E402
from survey.models import Agency, Counter  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH = "postgresql://postgres@127.0.0.1:5432/survey_bench"
REDIS = "redis://127.0.0.1:6379/15"
ITEMS = [key for keys in SIPAS_ELEMENTS.values() for key in keys]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str) -> None:
    """Migrate, add one agency and counter, and the floor table."""
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    floor_metadata.create_all(engine)
    with engine.begin() as conn:
        agency_id = conn.execute(
            insert(Agency.__table__)
            .values(code="BENCH", name_vi="Sở Thử nghiệm", name_en="Bench", level="department")
            .returning(Agency.__table__.c.id)
        ).scalar_one()
        conn.execute(
            insert(Counter.__table__).values(
                code="BENCH-1",
                agency_id=agency_id,
                name="Quầy 1",
                token="benchtoken",
                questionnaire_slug="sipas-service",
                active=True,
                created_at=text("CURRENT_TIMESTAMP"),
            )
        )
    engine.dispose()


def ensure_pg_database() -> bool:
    try:
        engine = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname='survey_bench'"))
            if exists.scalar() is None:
                conn.execute(text("CREATE DATABASE survey_bench"))
        engine.dispose()
        return True
    except Exception as exc:  # no server: say so and bench SQLite only
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); skipping it")
        return False


def redis_reachable() -> bool:
    """Tell whether Redis answers on loopback."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


class Server:
    """gunicorn with 2 sync workers serving `target` on a free loopback port."""

    def __init__(self, target: str, database_url: str, limiter_storage: str):
        self.port = free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret",
            "SUBMIT_RATE_LIMIT": "1000000 per minute",
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "RATELIMIT_STORAGE_URI": limiter_storage,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                target,
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def fetch_forms(port: int, count: int) -> list[tuple[str, str]]:
    """GET `count` forms on one connection; return (cookie, body) pairs ready to POST."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    prepared = []
    cookie = ""
    for _ in range(count):
        conn.request("GET", "/s/benchtoken", headers={"Cookie": cookie} if cookie else {})
        reply = conn.getresponse()
        html = reply.read().decode()
        set_cookie = reply.getheader("Set-Cookie")
        if set_cookie:
            cookie = set_cookie.split(";", 1)[0]
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
        answers = dict.fromkeys(ITEMS, "4") | hidden
        prepared.append((cookie, urllib.parse.urlencode(answers)))
    conn.close()
    return prepared


def post_all(port: int, path: str, bodies: list[tuple[str, str]], ok: int, results: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    good = 0
    for cookie, body in bodies:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = conn.getresponse()
        reply.read()
        good += reply.status == ok
    conn.close()
    results.append(good)


def timed(port: int, path: str, batches: list, ok: int) -> tuple[float, int]:
    """POST every batch from its own thread; return (successes per second, successes)."""
    results: list[int] = []
    threads = [
        threading.Thread(target=post_all, args=(port, path, b, ok, results)) for b in batches
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.perf_counter() - start
    return sum(results) / elapsed, sum(results)


def bench(name: str, url: str, limiter: str, requests: int, clients: int) -> tuple[float, float]:
    prepare_database(url)
    per_client = requests // clients
    app = Server("app:app", url, limiter)
    try:
        batches = [fetch_forms(app.port, per_client) for _ in range(clients)]
        submit_rate, stored = timed(app.port, "/s/benchtoken", batches, 303)
    finally:
        app.stop()
    floor = Server("bench.floor_app:app", url, limiter)
    try:
        floor_batches = [[("", "")] * per_client for _ in range(clients)]
        floor_rate, _ = timed(floor.port, "/floor", floor_batches, 204)
    finally:
        floor.stop()
    engine = make_engine(url)
    with engine.connect() as conn:
        in_db = conn.execute(text("SELECT count(*) FROM responses")).scalar_one()
    engine.dispose()
    assert in_db == stored == per_client * clients, (in_db, stored)
    print(
        f"{name:<11} submissions {submit_rate:7.0f}/s   floor {floor_rate:7.0f}/s   "
        f"ratio {submit_rate / floor_rate:.2f}   ({stored} stored, {clients} clients)"
    )
    return submit_rate, floor_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1600)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(f"gunicorn 2 workers, {args.requests} POSTs per run, {os.cpu_count()} cores")
    # Rate-limit counters in Redis, as in production (the database is what varies here);
    # in memory when no Redis answers.
    limiter = REDIS if redis_reachable() else "memory://"
    store = limiter.split(":")[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sqlite_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        runs = [(f"SQLite WAL (limits: {store})", sqlite_url)]
        if ensure_pg_database():
            runs.append((f"PostgreSQL (limits: {store})", PG_BENCH))
        for name, url in runs:
            bench(name, url, limiter, args.requests, args.clients)


if __name__ == "__main__":
    main()
