"""Respondents (or submissions) per second through gunicorn (2 workers), beside the floor.

For SQLite (WAL) and PostgreSQL, with the rate-limit counters in Redis as in production (or in
memory, `--limits memory`): start the app and the floor (a bare endpoint of the same stack and
database) under gunicorn, warm both up, then time alternating rounds from a few loopback client
threads, median ratio at the end (`posts`: target >= 0.5, from before the trust work;
`respondents` has none of its own, the floor's GET computing nothing). Two modes:

- `respondents` (default): each iteration is a new citizen with an empty cookie jar: GET the
  form (session cookie, CSRF token and one-time nonce from the page), then POST every answer.
  The floor gets the same pair of requests: its GET answers the bytes of one page the survey
  rendered and the same cookie, with nothing computed; its POST inserts one row.
- `posts`: the figures of before; every form is fetched before timing, and only the POSTs are
  timed, the floor getting the very same POSTs (cookie and form).

The app flags forms sent sooner than a person can read them (FLAG_SUSPICIOUS, `too-fast`); a
benchmark sends at once, so its responses are stored as flagged: still stored once each and
answered 303, which the bench checks. SUBMIT_RATE_LIMIT is set out of the way. Prints each
round's rates, the server CPU time per request (or respondent) and the ratio. Alternating
rounds on servers that stay up keep one slow second of a shared 2-core machine from deciding.

Run: .venv/bin/python bench/submit.py [--mode respondents|posts] [--requests 2000] [--rounds 5]
     [--limits memory] [--db sqlite|postgresql|both]"""

import argparse
import http.client
import os
import re
import signal
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
EMPTY_CONFIG = Path(tempfile.gettempdir()) / "bench-gunicorn-empty.conf.py"
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
    """gunicorn with 2 workers (sync, or of `threads` threads) serving `target` on a free port."""

    def __init__(
        self,
        target: str,
        database_url: str,
        limiter_storage: str,
        extra_env: dict | None = None,
        threads: int = 1,
    ):
        self.port = free_port()
        EMPTY_CONFIG.write_text("")
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
                # No config file: a gunicorn.conf.py in the directory (its access log, say)
                # would otherwise be read, and the figures would depend on it.
                "-c",
                str(EMPTY_CONFIG),
                "-w",
                "2",
                "--threads",
                str(threads),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                target,
            ],
            cwd=ROOT,
            env=env | (extra_env or {}),
            start_new_session=True,  # its own process group, stopped as one
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({target}) exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        """Stop the master and its workers (their process group); kill them if they linger."""
        stop_group(self.process)


def stop_group(process: subprocess.Popen) -> None:
    """Terminate the process group led by `process`, killing it after 10 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def answered(html: str) -> str:
    """Return the POST body of a form page: its hidden fields and a 4 to every criterion."""
    return urllib.parse.urlencode(dict.fromkeys(ITEMS, "4") | dict(HIDDEN.findall(html)))


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
        prepared.append((cookie, answered(html)))
    conn.close()
    return prepared


def respond_all(port: int, path: str, count: int, ok: int, results: list) -> None:
    """Be `count` new respondents in turn: GET the form with no cookie, then POST it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    good = 0
    for _ in range(count):
        conn.request("GET", path)
        reply = conn.getresponse()
        html = reply.read().decode()
        if reply.status != 200:
            continue
        cookie = (reply.getheader("Set-Cookie") or "").split(";", 1)[0]
        conn.request(
            "POST",
            path,
            body=answered(html),
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = conn.getresponse()
        reply.read()
        good += reply.status == ok
    conn.close()
    results.append(good)


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
    return timed_threads(server, [(post_all, (server.port, path, b, ok)) for b in batches])


def timed_respondents(server: Server, path: str, count: int, clients: int, ok: int) -> Run:
    """Have `count` respondents (GET then POST) come from `clients` threads; return the Run."""
    return timed_threads(
        server, [(respond_all, (server.port, path, count // clients, ok))] * clients
    )


def timed_threads(server: Server, work: list) -> Run:
    """Run each (function, args) in its own thread at once, timed; return the Run."""
    results: list[int] = []
    threads = [threading.Thread(target=f, args=(*a, results)) for f, a in work]
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


def stored(url: str) -> dict[str, int]:
    """Return how many responses the database holds, by status."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM responses GROUP BY status"))
        counts = {status: number for status, number in rows}
    engine.dispose()
    return counts


def check_stored(name: str, url: str, expected: int, ratios: list[float]) -> None:
    """Check every response is stored once; print the median ratio and how they were stored."""
    counts = stored(url)
    in_db = sum(counts.values())
    assert in_db == expected, (in_db, expected)
    states = ", ".join(f"{number} {status}" for status, number in sorted(counts.items()))
    print(
        f"{name}: median ratio {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}; {in_db} responses stored, each once: "
        f"{states}; sent at once, so flagged too-fast, and answered 303 all the same)"
    )


def bench_posts(name: str, url: str, limiter: str, args: argparse.Namespace) -> list[float]:
    """Alternate timed rounds of submissions and floor inserts; print each and the median ratio."""
    prepare_database(url)
    per_round = args.requests - args.requests % args.clients
    servers = []
    ratios = []
    try:
        app = Server("app:app", url, limiter)
        servers.append(app)
        floor = Server("bench.floor_app:app", url, limiter)
        servers.append(floor)
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
        for server in servers:
            server.stop()
    check_stored(name, url, args.warmup + args.rounds * per_round, ratios)
    return ratios


def bench_respondents(
    name: str, url: str, limiter: str, args: argparse.Namespace, tmp: Path
) -> list[float]:
    """Alternate timed rounds of whole respondents at the survey and at the floor."""
    prepare_database(url)
    per_round = args.requests - args.requests % args.clients
    servers = []
    ratios = []
    try:
        app = Server("app:app", url, limiter)
        servers.append(app)
        # The floor answers the bytes of one page the survey rendered, and its cookie.
        conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
        conn.request("GET", "/s/benchtoken")
        reply = conn.getresponse()
        page = tmp / "floor-page.html"
        page.write_bytes(reply.read())
        cookie = (reply.getheader("Set-Cookie") or "").split(";", 1)[0]
        conn.close()
        floor_env = {"FLOOR_PAGE": str(page), "FLOOR_COOKIE": cookie}
        floor = Server("bench.floor_app:app", url, limiter, floor_env)
        servers.append(floor)
        warmup = args.warmup - args.warmup % args.clients
        timed_respondents(app, "/s/benchtoken", warmup, args.clients, 303)
        timed_respondents(floor, "/floor", warmup, args.clients, 204)
        for number in range(args.rounds):
            answered_ = timed_respondents(app, "/s/benchtoken", per_round, args.clients, 303)
            floored = timed_respondents(floor, "/floor", per_round, args.clients, 204)
            assert answered_.successes == floored.successes == per_round, (answered_, floored)
            ratios.append(answered_.rate / floored.rate)
            print(
                f"  round {number + 1}: respondents {answered_.rate:5.0f}/s "
                f"({answered_.cpu_ms:.2f} ms server CPU each)   floor {floored.rate:5.0f}/s "
                f"({floored.cpu_ms:.2f} ms)   ratio {ratios[-1]:.2f}"
            )
    finally:
        for server in servers:
            server.stop()
    check_stored(name, url, warmup + args.rounds * per_round, ratios)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=["respondents", "posts"],
        default="respondents",
        help="time whole respondents (GET the form, then POST it), or POSTs only",
    )
    parser.add_argument("--requests", type=int, default=2000, help="respondents/POSTs per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--limits",
        choices=["redis", "memory"],
        default="redis",
        help="where rate-limit counters live: Redis as in production, or memory as `make run`",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    what = "respondents (GET + POST)" if args.mode == "respondents" else "POSTs"
    print(
        f"gunicorn 2 workers; {args.rounds} rounds of {args.requests} {what} from {args.clients} "
        f"loopback clients; {os.cpu_count()} cores"
    )
    # Rate-limit counters in Redis, as in production (the database is what varies here);
    # in memory when no Redis answers.
    limiter = REDIS if args.limits == "redis" and redis_reachable() else "memory://"
    store = limiter.split(":")[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        if args.db != "postgresql":
            sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            runs.append((f"SQLite WAL (limits: {store})", sqlite_url))
        if args.db != "sqlite" and ensure_pg_database():
            runs.append((f"PostgreSQL (limits: {store})", PG_BENCH))
        for name, url in runs:
            print(name)
            if args.mode == "posts":
                bench_posts(name, url, limiter, args)
            else:
                bench_respondents(name, url, limiter, args, Path(tmp))


if __name__ == "__main__":
    main()
