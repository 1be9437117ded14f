"""Faults under load, on real gunicorn: a PostgreSQL restart and SIGKILLed workers.

Each test drives a bounded load of citizens (GET the form, POST it, send the same form again
after a 503 or a dropped connection, as a phone would) and checks that every acknowledged
submission (a 303) is stored exactly once. PostgreSQL runs in a private cluster made here with
Debian's tools on a free port, never the shared server on 5432, and is dropped afterwards.
"""

import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import full_answers
from itsdangerous import URLSafeTimedSerializer
from needs import need
from sqlalchemy import insert, text

from survey.db import make_engine
from survey.migrate import upgrade
from survey.models import Agency, Counter, Response

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PG_VERSIONS = Path("/usr/lib/postgresql")
TOKEN = "faulttoken"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
# Statuses a citizen may get during a fault; anything else (a 500 above all) fails the test.
EXPECTED = {200, 303, 503}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


@dataclass
class Cluster:
    """A private PostgreSQL cluster on its own port, trusted from localhost."""

    version: str
    name: str
    port: int

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, action: str, *options: str) -> None:
        run("pg_ctlcluster", *options, self.version, self.name, action)

    def create_database(self, name: str) -> str:
        engine = make_engine(self.url("postgres")).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="module")
def cluster():
    """Create, start and finally drop a private PostgreSQL cluster (skipped without the tools)."""
    need(shutil.which("pg_createcluster") is not None, "pg_createcluster (postgresql-common)")
    need(os.geteuid() == 0, "pg_createcluster needs root to make a cluster for user postgres")
    versions = (
        sorted(PG_VERSIONS.iterdir(), key=lambda p: int(p.name)) if PG_VERSIONS.is_dir() else []
    )
    need(bool(versions), "no PostgreSQL server installed under /usr/lib/postgresql")
    port = free_port()
    assert port != 5432
    made = Cluster(versions[-1].name, f"faulttest{os.getpid()}", port)
    try:
        run(
            "pg_createcluster",
            made.version,
            made.name,
            "-p",
            str(port),
            "-o",
            "shared_buffers=16MB",
            "--",
            "--auth-host=trust",
            "--auth-local=trust",
        )
        made.ctl("start")
        yield made
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", made.version, made.name], capture_output=True, timeout=60
        )


def prepare(url: str) -> None:
    """Migrate and add one agency with one counter behind TOKEN."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        agency_id = conn.execute(
            insert(Agency.__table__)
            .values(code="FAULT", name_vi="Sở Thử nghiệm", name_en="Test", level="department")
            .returning(Agency.__table__.c.id)
        ).scalar_one()
        conn.execute(
            insert(Counter.__table__).values(
                code="FAULT-1",
                agency_id=agency_id,
                name="Quầy 1",
                token=TOKEN,
                questionnaire_slug="sipas-service",
                active=True,
                created_at=text("CURRENT_TIMESTAMP"),
            )
        )
    engine.dispose()


def stored_nonces(url: str) -> Tally:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT nonce FROM {Response.__tablename__}")).scalars()
        found = Tally(rows)
    engine.dispose()
    return found


class Gunicorn:
    """Real gunicorn serving the app with `workers` workers of `threads` threads (production's
    gunicorn.conf.py: 4), in its own process group."""

    def __init__(self, database_url: str, workers: int, log: Path, threads: int = 4):
        self.port = free_port()
        empty = log.with_suffix(".conf.py")
        empty.write_text("")
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "fault-test-secret",
            "SUBMIT_RATE_LIMIT": "1000000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(empty),  # not the repo's gunicorn.conf.py: no access log to fill
                "-w",
                str(workers),
                "--threads",
                str(threads),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "20",
                "app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
            if len(self.workers()) == workers and self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("gunicorn did not start")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def workers(self) -> set[int]:
        """Return the PIDs of the master's workers, read from /proc."""
        found = set()
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                found.update(int(pid) for pid in children.read_text().split())
            except OSError:
                pass
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log.close()


@dataclass
class Load:
    """What the citizens saw."""

    acknowledged: list[str] = field(default_factory=list)  # nonce values of 303s
    statuses: Tally = field(default_factory=Tally)
    retry_after_missing: int = 0
    dropped: int = 0  # connections reset or refused (a worker killed mid-request)
    given_up: int = 0  # forms still not acknowledged when the load ended
    last_ack: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def nonce_value(signed: str) -> str:
    """Return the random value inside a signed form nonce (the stored `nonce`)."""
    _valid, payload = URLSafeTimedSerializer("unused").loads_unsafe(signed)
    return payload["n"]


def citizen(port: int, until: float, load: Load, pause: float) -> None:
    """Be one citizen after another until `until`: fetch a form, post it until acknowledged."""
    answers = full_answers("4")

    def request(method, path, body=None, cookie=""):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            headers = {"Cookie": cookie} if cookie else {}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return reply.status, reply.getheader, reply.read().decode()
        except (OSError, http.client.HTTPException):
            with load.lock:
                load.dropped += 1
            return None, None, ""
        finally:
            conn.close()

    def record(status, header):
        with load.lock:
            load.statuses[status] += 1
            if status == 503 and not header("Retry-After"):
                load.retry_after_missing += 1

    while time.monotonic() < until:
        status, header, html = request("GET", f"/s/{TOKEN}")
        if status is None:
            time.sleep(pause)
            continue
        record(status, header)
        if status != 200:
            time.sleep(pause)
            continue
        cookie = (header("Set-Cookie") or "").split(";", 1)[0]
        fields = dict(HIDDEN.findall(html))
        body = urllib.parse.urlencode(answers | fields)
        # The same form is sent again after a 503 or a dropped connection, as a phone would;
        # the nonce makes a second copy of a stored one impossible.
        for _ in range(200):
            status, header, _html = request("POST", f"/s/{TOKEN}", body, cookie)
            if status is not None:
                record(status, header)
            if status == 303:
                with load.lock:
                    load.acknowledged.append(nonce_value(fields["nonce"]))
                    load.last_ack = time.monotonic()
                break
            if status not in (None, 503):
                break
            if time.monotonic() > until + 15:
                with load.lock:
                    load.given_up += 1
                break
            time.sleep(pause)
        time.sleep(0.01)


def drive(port: int, seconds: float, clients: int, pause: float = 0.2) -> tuple[Load, list]:
    """Start `clients` citizens for about `seconds`; return the load and the threads."""
    load = Load()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=citizen, args=(port, until, load, pause), daemon=True)
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    return load, threads


def finish(threads: list) -> None:
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a citizen thread hung"


def assert_nothing_unhandled(log: str) -> None:
    # Flask logs an unhandled error (a 500) as "Exception on", gunicorn a crash of its own.
    for unhandled in ("Exception on", "Error handling request"):
        assert unhandled not in log, log[log.find(unhandled) - 300 :][:3000]


def check_stored_once(load: Load, url: str) -> Tally:
    stored = stored_nonces(url)
    acknowledged = Tally(load.acknowledged)
    assert load.acknowledged, "no submission was acknowledged"
    assert [n for n, times in acknowledged.items() if times > 1] == []
    assert [n for n in acknowledged if stored[n] == 0] == [], "acknowledged but not stored"
    assert [n for n, times in stored.items() if times > 1] == [], "stored twice"
    return stored


def test_postgresql_restart_gives_503s_then_recovers_without_restarting_the_app(cluster, tmp_path):
    url = cluster.create_database("fault_restart")
    prepare(url)
    server = Gunicorn(url, workers=2, log=tmp_path / "gunicorn.log")
    try:
        master, workers = server.process.pid, server.workers()
        load, threads = drive(server.port, seconds=9, clients=3, pause=0.1)
        time.sleep(2)
        before = sum(load.statuses.values())
        cluster.ctl("stop", "-m", "fast")
        time.sleep(2.5)
        during = load.statuses[503]
        cluster.ctl("start")
        restarted = time.monotonic()
        finish(threads)
        stored = check_stored_once(load, url)
        log = (tmp_path / "gunicorn.log").read_text()
        print(
            f"restart: {dict(load.statuses)}, {len(load.acknowledged)} acknowledged, "
            f"{sum(stored.values())} stored, {load.given_up} given up, {load.dropped} dropped"
        )
        assert before > 0
        assert during > 0 and load.statuses[503] > 0, "no 503 while PostgreSQL was down"
        assert load.retry_after_missing == 0
        assert set(load.statuses) <= EXPECTED, load.statuses
        assert load.last_ack > restarted, "nothing acknowledged after PostgreSQL came back"
        assert load.given_up == 0
        # Recovered by itself: the same master and workers, none restarted.
        assert server.process.poll() is None and server.process.pid == master
        assert server.workers() == workers
        assert_nothing_unhandled(log)
    finally:
        server.stop()


def kill_workers(server: Gunicorn, until: float, every: float, killed: list) -> None:
    """SIGKILL one worker of `server` every `every` seconds until `until`."""
    chosen = random.Random(12)
    while time.monotonic() + every < until:
        time.sleep(every)
        workers = sorted(server.workers())
        if workers:
            victim = chosen.choice(workers)
            try:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigkilled_workers_lose_or_duplicate_no_acknowledged_submission(
    database, tmp_path, request
):
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    else:
        url = request.getfixturevalue("cluster").create_database("fault_kill")
    prepare(url)
    server = Gunicorn(url, workers=3, log=tmp_path / "gunicorn.log")
    try:
        seconds = 9
        load, threads = drive(server.port, seconds=seconds, clients=4, pause=0.05)
        killed: list[int] = []
        kill_workers(server, time.monotonic() + seconds, 2, killed)
        finish(threads)
        stored = check_stored_once(load, url)
        print(
            f"sigkill {database}: {len(killed)} workers killed, {dict(load.statuses)}, "
            f"{len(load.acknowledged)} acknowledged, {sum(stored.values())} stored, "
            f"{load.dropped} dropped"
        )
        assert len(killed) >= 3
        assert_nothing_unhandled((tmp_path / "gunicorn.log").read_text())
        assert 500 not in load.statuses, load.statuses
        assert load.given_up == 0
        assert server.process.poll() is None
    finally:
        server.stop()
