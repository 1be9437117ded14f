"""Ballot stuffing against a real server: do honest citizens still count, does the index move?

The attack of tests/test_stuffing.py, played in real time against gunicorn (2 sync workers)
behind PROXY_HOPS=1, with the rate-limit and flag windows in Redis as in production. One
commune has 100 counters. 200 honest citizens, each with a session of their own, open the form
at counters 1..99 over two minutes and send it 40-70 s later; 30 s after the first of them, a
script at counter 0 sends 1,000 all-"Rất hài lòng" forms in one minute, each from a fresh
session: `fast` sends each form as soon as it has it, `slow` opens all 1,000 first, waits 25 s
and then sends them over a minute. Everyone comes through the same address (X-Forwarded-For
203.0.113.10, a documentation range, as if behind the centre's Wi-Fi); every connection goes
to 127.0.0.1. The agency is open "Mon-Sun 00:00-23:59" so the run does not depend on the hour.

Afterwards the database is read directly: honest thanked (303) and counted (stored as valid),
the attack's stored, flagged (by reason), counted and held back (429) forms, and the agency's
service index with the attack and without it (its responses deleted), computed by the project's
own report. A run takes about four minutes.

Run: .venv/bin/python bench/stuffing.py [--attack fast|slow] [--limits redis|memory]
     [--database postgresql://...]   (that database's public schema is dropped first)
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
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import delete, insert, select, text  # noqa: E402

from analysis.data import SIPAS_ELEMENTS  # noqa: E402
from survey import create_app, db  # noqa: E402
from survey.config import default_config  # noqa: E402
from survey.db import make_engine  # noqa: E402
from survey.migrate import upgrade  # noqa: E402
from survey.models import Agency, Counter, Response, ResponseStatus  # noqa: E402
from survey.results.filters import results_request  # noqa: E402
from survey.results.report import build_report  # noqa: E402
from survey.timeutil import VIETNAM  # noqa: E402

REDIS = "redis://127.0.0.1:6379/15"
SECRET = "bench-stuffing-secret"
ADDRESS = "203.0.113.10"  # documentation range; only ever a header value
AGENCY = "XA-AN"
HOURS = "Mon-Sun 00:00-23:59"
COUNTERS = 100  # counter 0 is attacked; honest citizens use 1..99
HONEST = 200
HONEST_SPREAD = 120.0  # seconds over which honest citizens open their forms
ATTACKS = 1000
ATTACK_AFTER = 30.0  # seconds after the first honest citizen
ATTACK_SECONDS = 60.0
SLOW_WAIT = 25.0
ATTACK_THREADS = 4
TIMEOUT = 30.0  # on every request
WINDOWS = ("SUBMIT_RATE_LIMIT", "COUNTER_BURST", "REPEAT_SESSION_LIMIT", "REPEAT_ADDRESS_LIMIT")
ITEMS = [key for keys in SIPAS_ELEMENTS.values() for key in keys]
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def free_port() -> int:
    """Return a free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str) -> list[str]:
    """Migrate a fresh database, add the commune and its counters; return the counters' tokens."""
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    tokens = [f"stuffbench{number:03d}" for number in range(COUNTERS)]
    with engine.begin() as conn:
        agency_id = conn.execute(
            insert(Agency.__table__)
            .values(
                code=AGENCY,
                name_vi="UBND xã An Bình",
                name_en="An Binh commune",
                level="commune",
                opening_hours=HOURS,
            )
            .returning(Agency.__table__.c.id)
        ).scalar_one()
        conn.execute(
            insert(Counter.__table__),
            [
                {
                    "code": f"{AGENCY}-Q{number:03d}",
                    "agency_id": agency_id,
                    "name": f"Quầy {number}",
                    "token": token,
                    "questionnaire_slug": "sipas-service",
                    "active": True,
                    "created_at": datetime.now(UTC).replace(tzinfo=None),
                }
                for number, token in enumerate(tokens)
            ],
        )
    engine.dispose()
    return tokens


def flush_redis(url: str) -> None:
    """Empty the Redis database the windows will live in."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    client.flushdb()
    client.close()


class Server:
    """gunicorn with 2 sync workers serving app:app behind one trusted proxy hop."""

    def __init__(self, database_url: str, limiter_storage: str, log: Path, settings=None):
        self.port = free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "RATELIMIT_STORAGE_URI": limiter_storage,
            "PROXY_HOPS": "1",
        }
        # Every limit and window is the product's default, but for the `settings` given.
        for name in WINDOWS + ("OPENING_HOURS",):
            env.pop(name, None)
        env |= settings or {}
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}"]
            + ["--log-level", "warning", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz within 30 s")

    def stop(self) -> None:
        """Stop gunicorn and close its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log_file.close()


class Browser:
    """One phone: its own session cookie, every request to 127.0.0.1 from the shared address."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        """Send one request on a fresh connection; return (status, body); status 0 on failure."""
        headers = {"X-Forwarded-For": ADDRESS, "Connection": "close"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            html = reply.read().decode("utf-8", "replace")
            set_cookie = reply.getheader("Set-Cookie")
            if set_cookie:
                self.cookie = set_cookie.split(";", 1)[0]
            return reply.status, html
        except (OSError, http.client.HTTPException):
            return 0, ""
        finally:
            conn.close()

    def open_form(self, token: str) -> tuple[int, dict]:
        """GET the counter's form; return the status and its hidden fields (csrf_token, nonce)."""
        status, html = self.request("GET", f"/s/{token}")
        return status, dict(HIDDEN.findall(html))

    def send(self, token: str, hidden: dict, answers: dict) -> int:
        """POST the form's hidden fields and the answers; return the status."""
        body = urllib.parse.urlencode(hidden | answers)
        return self.request("POST", f"/s/{token}", body)[0]


def honest_plan(seed: int) -> list[dict]:
    """Return each honest citizen's counter, opening time (s from start), wait and answers."""
    rng = np.random.default_rng(seed)
    plan = []
    for number in range(HONEST):
        while True:
            answers = rng.choice(["2", "3", "4", "5"], p=[0.1, 0.25, 0.4, 0.25], size=len(ITEMS))
            if set(answers.tolist()) != {"5"}:  # never all 5s: those are the attack's
                break
        plan.append(
            {
                "counter": 1 + number % (COUNTERS - 1),
                "opens": number * HONEST_SPREAD / HONEST,
                "wait": float(rng.uniform(40, 70)),
                "answers": dict(zip(ITEMS, answers.tolist(), strict=True)),
            }
        )
    return plan


def sleep_until(moment: float) -> None:
    """Sleep until time.monotonic() reaches `moment`."""
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def honest_citizen(port: int, token: str, citizen: dict, start: float) -> dict:
    """Open the form at its time, answer for 40-70 s, send; return statuses and times."""
    sleep_until(start + citizen["opens"])
    browser = Browser(port)
    got, hidden = browser.open_form(token)
    opened = time.monotonic()
    if got != 200:
        return {"get": got, "post": None, "sent": opened - start, "counter": citizen["counter"]}
    sleep_until(opened + citizen["wait"])
    sent = time.monotonic()
    status = browser.send(token, hidden, citizen["answers"])
    return {"get": got, "post": status, "sent": sent - start, "counter": citizen["counter"]}


def attack(kind: str, port: int, token: str, start: float) -> list[tuple[int, int | None, float]]:
    """Run the attack at counter 0 from ATTACK_THREADS threads.

    Return (GET status, POST status or None, seconds from start when sent) of each form.
    """
    answers = dict.fromkeys(ITEMS, "5")
    results: list[tuple[int, int | None, float]] = []
    lock = threading.Lock()
    begin = start + ATTACK_AFTER

    def fast(numbers: range) -> None:
        for number in numbers:
            sleep_until(begin + number * ATTACK_SECONDS / ATTACKS)
            browser = Browser(port)
            got, hidden = browser.open_form(token)
            sent = time.monotonic() - start
            status = browser.send(token, hidden, answers) if got == 200 else None
            with lock:
                results.append((got, status, sent))

    def open_all(numbers: range, opened: list) -> None:
        for _ in numbers:
            browser = Browser(port)
            got, hidden = browser.open_form(token)
            opened.append((browser, got, hidden))

    def send_all(forms: list, numbers: range, sends_from: float) -> None:
        for number in numbers:
            browser, got, hidden = forms[number]
            sleep_until(sends_from + number * ATTACK_SECONDS / ATTACKS)
            sent = time.monotonic() - start
            status = browser.send(token, hidden, answers) if got == 200 else None
            with lock:
                results.append((got, status, sent))

    parts = [range(k, ATTACKS, ATTACK_THREADS) for k in range(ATTACK_THREADS)]
    sleep_until(begin)
    with ThreadPoolExecutor(ATTACK_THREADS) as pool:
        if kind == "fast":
            list(pool.map(fast, parts))
        else:
            opened_parts: list[list] = [[] for _ in parts]
            list(pool.map(open_all, parts, opened_parts))
            forms = [form for part in opened_parts for form in part]
            opened_by = time.monotonic() - start
            print(f"attack forms opened from {ATTACK_AFTER:.0f} s to {opened_by:.1f} s")
            sends_from = time.monotonic() + SLOW_WAIT
            everything = range(ATTACKS)
            parts = [everything[k::ATTACK_THREADS] for k in range(ATTACK_THREADS)]
            list(pool.map(send_all, [forms] * ATTACK_THREADS, parts, [sends_from] * len(parts)))
    return results


def most_in_window(sent: list[dict], seconds: float) -> int:
    """Return the most honest forms sent at one counter within any `seconds` window."""
    by_counter: dict[int, list[float]] = {}
    for row in sent:
        by_counter.setdefault(row["counter"], []).append(row["sent"])
    most = 0
    for times in by_counter.values():
        times.sort()
        for i, first in enumerate(times):
            most = max(most, sum(1 for t in times[i:] if t - first < seconds))
    return most


def service_index(url: str) -> tuple[float | None, int | None]:
    """Return the commune's service index over the whole run and its n, by the project's report."""
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "RATELIMIT_STORAGE_URI": "memory://"}
    )
    try:
        with app.app_context():
            questionnaires = app.extensions["questionnaires"]
            request = results_request(questionnaires)
            report = build_report(db.engine(), questionnaires["sipas-service"], request)
    finally:
        db.dispose_engines(app)
    rows = [r for r in report["rows"] if r["agency"] == AGENCY and r["key"] == "service"]
    if len(rows) != 1:
        return None, None
    return rows[0]["estimate"], rows[0].get("n")


def tally(values) -> str:
    """Return a tally such as '303: 199, 0: 1', commonest first."""
    counted = Tally("error" if v == 0 else v for v in values)
    return ", ".join(f"{key}: {n}" for key, n in counted.most_common()) or "none"


def figures(url: str, attack_token: str, honest: list[dict], attacked: list) -> None:
    """Read the database and print every figure, one per line."""
    engine = make_engine(url)
    with engine.connect() as conn:
        attack_counter = conn.execute(
            select(Counter.id).where(Counter.token == attack_token)
        ).scalar_one()
        rows = conn.execute(
            select(Response.counter_id, Response.status, Response.flags, Response.scores)
        ).all()
    engine.dispose()
    honest_rows = [r for r in rows if r.counter_id != attack_counter]
    attack_rows = [r for r in rows if r.counter_id == attack_counter]
    posts = [h["post"] for h in honest if h["post"] is not None]

    def reasons(selected) -> str:
        found = Tally(code for r in selected for code in (r.flags or "").split(",") if code)
        return ", ".join(f"{code} {n}" for code, n in found.most_common()) or "none"

    honest_flagged = [r for r in honest_rows if r.status != ResponseStatus.VALID]
    print(f"honest GET statuses: {tally(h['get'] for h in honest)}")
    print(f"honest POST statuses: {tally(posts)}")
    print(f"honest thanked (303): {posts.count(303)} of {HONEST}")
    print(f"honest stored: {len(honest_rows)}")
    print(f"honest counted (valid): {len(honest_rows) - len(honest_flagged)} of {HONEST}")
    print(f"honest flagged: {len(honest_flagged)} (reasons: {reasons(honest_flagged)})")
    print(f"honest most forms at one counter in any 2 minutes: {most_in_window(honest, 120)}")
    gets = [g for g, _, _ in attacked]
    sends = [s for _, s, _ in attacked if s is not None]
    times = [t for _, s, t in attacked if s is not None]
    if times:
        print(f"attack sent from {min(times):.1f} s to {max(times):.1f} s after the start")
    all_five = sum(1 for r in attack_rows if set(r.scores.rstrip("0")) == {"5"})
    attack_flagged = [r for r in attack_rows if r.status != ResponseStatus.VALID]
    print(f"attack forms opened (GET 200): {gets.count(200)} of {ATTACKS}")
    print(f"attack POST statuses: {tally(sends)}")
    print(f"attack held back (429): {sends.count(429)}")
    print(f"attack stored: {len(attack_rows)} (all-5 answers: {all_five})")
    print(f"attack flagged: {len(attack_flagged)} (reasons: {reasons(attack_flagged)})")
    print(f"attack counted (valid): {len(attack_rows) - len(attack_flagged)}")
    with_attack, n_with = service_index(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(Response.__table__).where(Response.counter_id == attack_counter))
    engine.dispose()
    without_attack, n_without = service_index(url)
    print(f"service index with the attack: {with_attack:.2f} (n {n_with})")
    print(f"service index without it: {without_attack:.2f} (n {n_without})")
    print(f"index movement: {with_attack - without_attack:+.2f} points")


def main() -> None:
    """Parse the options, run the honest day and the attack against gunicorn, print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attack", choices=["fast", "slow"], default="fast")
    parser.add_argument(
        "--limits",
        choices=["redis", "memory"],
        default="redis",
        help="rate-limit and flag windows in Redis (shared by the workers, as in production) "
        "or in each worker's memory",
    )
    parser.add_argument(
        "--database",
        default="sqlite",
        help="'sqlite' (a temporary file) or a postgresql:// URL whose public schema is dropped",
    )
    parser.add_argument("--seed", type=int, default=20261103)
    args = parser.parse_args()
    defaults = default_config(ROOT / "instance")
    storage = REDIS if args.limits == "redis" else "memory://"
    local = datetime.now(VIETNAM)
    with tempfile.TemporaryDirectory() as tmp:
        url = (
            f"sqlite:///{Path(tmp) / 'stuffing.sqlite3'}"
            if args.database == "sqlite"
            else args.database
        )
        print(
            f"bench/stuffing.py: attack {args.attack}; gunicorn 2 sync workers, PROXY_HOPS=1; "
            f"{url.split(':')[0]} database; limits and flag windows in {storage}; "
            f"{os.cpu_count()} cores"
        )
        print(
            f"{HONEST} honest citizens at counters 1..{COUNTERS - 1} (own sessions, opening over "
            f"{HONEST_SPREAD:.0f} s, sending 40-70 s later); {ATTACKS} all-5 forms at counter 0 "
            f"from {ATTACK_AFTER:.0f} s on, over {ATTACK_SECONDS:.0f} s"
            + (f" (opened first, sent after {SLOW_WAIT:.0f} s)" if args.attack == "slow" else "")
            + f"; everyone X-Forwarded-For {ADDRESS}"
        )
        print(
            f"agency opening hours set to '{HOURS}' so the run does not depend on the hour "
            f"(started {local:%a %H:%M} Vietnam time; a form opened at 23:59 would be out of hours)"
        )
        print("product defaults: " + ", ".join(f"{name} {defaults[name]}" for name in WINDOWS))
        tokens = prepare_database(url)
        if args.limits == "redis":
            flush_redis(REDIS)
        server = Server(url, storage, Path(tmp) / "gunicorn.log")
        plan = honest_plan(args.seed)
        began = time.monotonic()
        try:
            start = time.monotonic() + 1.0
            with ThreadPoolExecutor(HONEST + 1) as pool:
                futures = [
                    pool.submit(honest_citizen, server.port, tokens[c["counter"]], c, start)
                    for c in plan
                ]
                attack_future = pool.submit(attack, args.attack, server.port, tokens[0], start)
                done, pending = wait(futures + [attack_future], timeout=900)
                if pending:
                    raise RuntimeError(f"{len(pending)} clients did not finish in 15 minutes")
            honest = [f.result() for f in futures]
            attacked = attack_future.result()
        finally:
            server.stop()
        duration = time.monotonic() - began
        log = server.log.read_text()
        print(f"run duration: {duration:.0f} s (first honest form to the last reply)")
        figures(url, tokens[0], honest, attacked)
        errors = [line for line in log.splitlines() if line.strip()]
        print(f"gunicorn log lines (warning and above): {len(errors)}")
        for line in errors[-10:]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
