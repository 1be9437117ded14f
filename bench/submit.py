"""Successful submissions per second through gunicorn (2 workers), beside the floor of the stack.

For SQLite (WAL) and PostgreSQL, with the rate-limit counters in Redis as in production: start
the app and the floor (a bare endpoint inserting one row into the same database through the
same stack) under gunicorn, fetch every form beforehand (each with its CSRF token and one-time
nonce), warm both up, then time alternating rounds: a bounded number of form POSTs from a few
loopback client threads, then as many floor POSTs. Prints each round's rates, the server CPU
time per request and the ratio, then the median ratio (target >= 0.5). Alternating rounds on
servers that stay up keep one slow second of a shared 2-core machine from deciding the figure.

Run: .venv/bin/python bench/submit.py [--requests 2000] [--rounds 5] [--limits memory]"""

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
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


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) used so far by process `pid` and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [str(pid)]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            pending += Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # the process ended meanwhile
            pass
    return total


@dataclass
class Run:
    """One timed batch of POSTs: how many succeeded, how long it took, the server's CPU time."""

    successes: int
    seconds: float
    server_cpu: float

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.successes / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds (both workers) per successful request."""
        return 1000 * self.server_cpu / max(self.successes, 1)


def timed(server: Server, path: str, batches: list, ok: int) -> Run:
    """POST every batch from its own client thread at once; return the Run."""
    results: list[int] = []
    threads = [
        threading.Thread(target=post_all, args=(server.port, path, b, ok, results)) for b in batches
    ]
    cpu_before = cpu_seconds(server.process.pid)
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.perf_counter() - start
    return Run(sum(results), elapsed, cpu_seconds(server.process.pid) - cpu_before)


def split(items: list, parts: int) -> list[list]:
    """Deal `items` into `parts` equal batches, one per client thread."""
    return [items[i::parts] for i in range(parts)]


def bench(name: str, url: str, limiter: str, args: argparse.Namespace) -> list[float]:
    """Alternate timed rounds of submissions and floor inserts; print each and the median ratio."""
    prepare_database(url)
    per_round = args.requests - args.requests % args.clients
    app = Server("app:app", url, limiter)
    floor = Server("bench.floor_app:app", url, limiter)
    ratios = []
    try:
        # Forms are fetched (each with its CSRF token and nonce) before any timing starts.
        forms = fetch_forms(app.port, args.warmup + args.rounds * per_round)
        # Warm both servers (first requests compile statements, open pools) before timing.
        timed(app, "/s/benchtoken", split(forms[: args.warmup], args.clients), 303)
        timed(floor, "/floor", split(forms[: args.warmup], args.clients), 204)
        forms = forms[args.warmup :]
        for number in range(args.rounds):
            batch = forms[number * per_round : (number + 1) * per_round]
            submitted = timed(app, "/s/benchtoken", split(batch, args.clients), 303)
            # The floor gets the very same requests (cookie and form), so that only what each
            # endpoint does with them differs.
            inserted = timed(floor, "/floor", split(batch, args.clients), 204)
            assert submitted.successes == inserted.successes == per_round, (submitted, inserted)
            ratios.append(submitted.rate / inserted.rate)
            print(
                f"  round {number + 1}: submissions {submitted.rate:5.0f}/s "
                f"({submitted.cpu_ms:.2f} ms server CPU each)   floor {inserted.rate:5.0f}/s "
                f"({inserted.cpu_ms:.2f} ms)   ratio {ratios[-1]:.2f}"
            )
    finally:
        app.stop()
        floor.stop()
    engine = make_engine(url)
    with engine.connect() as conn:
        in_db = conn.execute(text("SELECT count(*) FROM responses")).scalar_one()
    engine.dispose()
    expected = args.warmup + args.rounds * per_round
    assert in_db == expected, (in_db, expected)
    print(
        f"{name}: median ratio {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}; {in_db} responses stored, each once)"
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="POSTs per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--limits",
        choices=["redis", "memory"],
        default="redis",
        help="where rate-limit counters live: Redis as in production, or memory as `make run`",
    )
    args = parser.parse_args()
    print(
        f"gunicorn 2 workers; {args.rounds} rounds of {args.requests} POSTs from {args.clients} "
        f"loopback clients; {os.cpu_count()} cores"
    )
    # Rate-limit counters in Redis, as in production (the database is what varies here);
    # in memory when no Redis answers.
    limiter = REDIS if args.limits == "redis" and redis_reachable() else "memory://"
    store = limiter.split(":")[0]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        runs = [(f"SQLite WAL (limits: {store})", sqlite_url)]
        if ensure_pg_database():
            runs.append((f"PostgreSQL (limits: {store})", PG_BENCH))
        for name, url in runs:
            print(name)
            bench(name, url, limiter, args)


if __name__ == "__main__":
    main()
