"""Respondents per second of our survey beside the peer (django-survey-and-report), one run.

Both are served by gunicorn with 2 sync workers on SQLite and driven by the peer's own load
generator (`/work/shared/peer/loadgen.py`, stdlib only): each iteration is a new respondent with
an empty cookie jar who GETs the form and POSTs a complete answer set. The peer is set up by
`setup.sh` if it is not yet (in --peer-dir, ~/.cache/peer by default), served as its
`measure.sh` serves it (`gunicorn peerproj.wsgi:application --workers 2 --timeout 60`), on a
copy of its database in a temporary directory (its journal mode as Django leaves it); success
is its 302 to `/survey/confirm/`. Ours is `app:app` on a temporary SQLite database in WAL mode
with one agency and one SIPAS counter, rate limits out of the way (SUBMIT_RATE_LIMIT 1,000,000
a minute; counters in memory, or Redis with --limits redis); success is its 303 to the thank-you
page. Our responses are flagged `too-fast` (a load generator sends at once) and still stored.

After a warm-up, timed runs alternate between the two servers (the order swapped each run);
after each run, the rows stored must equal the successful POSTs. Prints each run's
respondents/s, the server CPU (master and workers) and the client CPU per respondent, then the
medians and the ratio (target: ours >= 10 x the peer's). Every server is stopped (its process
group) at the end, also on error; every request goes to 127.0.0.1.

Run: .venv/bin/python bench/peer.py [--runs 3] [--duration 20] [--concurrency 32]
     [--limits memory|redis] [--peer-dir ~/.cache/peer] [--threads 1]
(`--threads 4`: both servers with 4 threads per worker, as gunicorn.conf.py serves ours.)
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.submit import (  # noqa: E402
    REDIS,
    Server,
    cpu_seconds,
    free_port,
    prepare_database,
    redis_reachable,
    stop_group,
)

PEER_TOOLS = Path("/work/shared/peer")
LOADGEN = PEER_TOOLS / "loadgen.py"
ANSWERS_PER_PEER_RESPONSE = 17  # 16 criteria and the comment


class PeerServer:
    """The peer's gunicorn (2 sync workers) on a copy of its SQLite database."""

    def __init__(self, peer_dir: Path, database: Path, log_path: Path, threads: int = 1):
        self.port = free_port()
        survey_id = int((peer_dir / "survey_id.sqlite").read_text().strip())
        self.url = f"http://127.0.0.1:{self.port}/survey/{survey_id}/"
        self.database = database
        self.survey_id = survey_id
        env = os.environ | {
            "PEER_DIR": str(peer_dir),
            "PEER_DB": "sqlite",
            "PEER_SQLITE": str(database),
            "DJANGO_SETTINGS_MODULE": "peerproj.settings_peer",
            "PYTHONWARNINGS": "ignore:Cannot import 'sankey'",
        }
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [
                str(peer_dir / "venv" / "bin" / "gunicorn"),
                "peerproj.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--chdir",
                str(peer_dir / "project"),
                "--timeout",
                "60",
                "--threads",
                str(threads),
            ],
            # Not from here: our own `survey` package would shadow the peer's Django app.
            cwd=peer_dir / "project",
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                tail = log_path.read_text()[-2000:]
                raise RuntimeError(f"peer gunicorn exited with {self.process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("peer gunicorn did not answer within 30 s")

    def stored(self) -> tuple[int, int]:
        """Return the peer survey's responses and answers in the database."""
        with sqlite3.connect(self.database) as conn:
            responses = conn.execute(
                "SELECT count(*) FROM survey_response WHERE survey_id = ?", (self.survey_id,)
            ).fetchone()[0]
            answers = conn.execute(
                "SELECT count(*) FROM survey_answer JOIN survey_response"
                " ON survey_answer.response_id = survey_response.id WHERE survey_id = ?",
                (self.survey_id,),
            ).fetchone()[0]
        conn.close()
        return responses, answers

    def stop(self) -> None:
        stop_group(self.process)
        self.log.close()


def ours_stored(database: Path) -> tuple[int, int]:
    """Return our responses in the database, and how many of them are flagged."""
    with sqlite3.connect(database) as conn:
        total, flagged = conn.execute(
            "SELECT count(*), coalesce(sum(status = 'flagged'), 0) FROM responses"
        ).fetchone()
    conn.close()
    return total, flagged


def load(url: str, server_pid: int, args, seed: int, duration: float, success: list[str]) -> dict:
    """Drive `url` with loadgen.py for `duration` s; return its figures and the server's CPU."""
    before = cpu_seconds(server_pid)
    done = subprocess.run(
        [
            sys.executable,
            str(LOADGEN),
            url,
            "-c",
            str(args.concurrency),
            "-d",
            str(duration),
            "--seed",
            str(seed),
            *success,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 150,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["server_cpu_s"] = cpu_seconds(server_pid) - before
    return figures


def per_respondent_ms(figures: dict, key: str) -> float:
    return 1000 * figures[key] / max(figures["successful_submissions"], 1)


def describe(name: str, figures: dict, stored: int) -> str:
    errors = figures["errors"]
    return (
        f"{name} {figures['submissions_per_s']:7.1f}/s ({figures['successful_submissions']} ok, "
        f"{errors} errors{' ' + str(figures['error_breakdown']) if errors else ''}, "
        f"{stored} stored; server CPU {per_respondent_ms(figures, 'server_cpu_s'):.2f} ms, "
        f"client {per_respondent_ms(figures, 'client_cpu_s'):.2f} ms each; "
        f"median iteration {figures['latency_ms']['iteration_p50']} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each server")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up each")
    parser.add_argument("--limits", choices=["memory", "redis"], default="memory")
    parser.add_argument("--peer-dir", default="~/.cache/peer")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker, the same for both servers"
    )
    args = parser.parse_args()
    peer_dir = Path(args.peer_dir).expanduser()
    if not (peer_dir / "survey_id.sqlite").exists():
        print(f"setting the peer up in {peer_dir} (setup.sh)", flush=True)
        subprocess.run(["bash", str(PEER_TOOLS / "setup.sh"), str(peer_dir)], check=True)
    limiter = REDIS if args.limits == "redis" and redis_reachable() else "memory://"
    print(
        f"gunicorn 2 workers each ({'sync' if args.threads == 1 else f'{args.threads} threads'}), "
        f"SQLite; loadgen.py -c {args.concurrency} "
        f"-d {args.duration:g}, {args.runs} alternating runs after {args.warmup:g} s of warm-up; "
        f"our limits in {limiter.split(':')[0]}; {os.cpu_count()} cores",
        flush=True,
    )
    ours_success = ["--success-status", "303", "--success-location", "/thanks"]
    peer_success = ["--success-status", "302", "--success-location", "/survey/confirm/"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The peer's database is copied (a consistent snapshot), so the shared one is untouched.
        with (
            sqlite3.connect(peer_dir / "db.sqlite3") as source,
            sqlite3.connect(tmp / "peer.sqlite3") as copy,
        ):
            source.backup(copy)
        source.close()
        copy.close()
        ours_db = tmp / "ours.sqlite3"
        prepare_database(f"sqlite:///{ours_db}")
        servers = []
        rates: dict[str, list[float]] = {"peer": [], "ours": []}
        cpu: dict[str, list[float]] = {"peer": [], "ours": []}
        ratios = []
        try:
            peer = PeerServer(
                peer_dir, tmp / "peer.sqlite3", tmp / "peer-gunicorn.log", args.threads
            )
            servers.append(peer)
            ours = Server("app:app", f"sqlite:///{ours_db}", limiter, threads=args.threads)
            servers.append(ours)
            ours_url = f"http://127.0.0.1:{ours.port}/s/benchtoken"
            targets = {
                "peer": (peer.url, peer.process.pid, peer_success),
                "ours": (ours_url, ours.process.pid, ours_success),
            }
            for url, pid, success in targets.values():
                load(url, pid, args, 999, args.warmup, success)
            for number in range(args.runs):
                order = ["peer", "ours"] if number % 2 == 0 else ["ours", "peer"]
                line = []
                for name in order:
                    url, pid, success = targets[name]
                    before = peer.stored() if name == "peer" else ours_stored(ours_db)
                    figures = load(url, pid, args, 100 + number, args.duration, success)
                    after = peer.stored() if name == "peer" else ours_stored(ours_db)
                    added = after[0] - before[0]
                    ok = figures["successful_submissions"]
                    assert added == ok, (name, added, ok)
                    if name == "peer":
                        answers = after[1] - before[1]
                        assert answers == ANSWERS_PER_PEER_RESPONSE * ok, (answers, ok)
                    rates[name].append(figures["submissions_per_s"])
                    cpu[name].append(per_respondent_ms(figures, "server_cpu_s"))
                    line.append(describe(name, figures, added))
                ratios.append(rates["ours"][-1] / rates["peer"][-1])
                print(f"run {number + 1}: " + "\n       ".join(line), flush=True)
                print(f"       ratio {ratios[-1]:.1f}", flush=True)
            total, flagged = ours_stored(ours_db)
        finally:
            for server in servers:
                server.stop()
    peer_rate, ours_rate = statistics.median(rates["peer"]), statistics.median(rates["ours"])
    print(
        f"median respondents/s: ours {ours_rate:.1f} (runs {min(rates['ours']):.1f}-"
        f"{max(rates['ours']):.1f}), peer {peer_rate:.1f} (runs {min(rates['peer']):.1f}-"
        f"{max(rates['peer']):.1f})\n"
        f"ratio of medians {ours_rate / peer_rate:.1f} (runs {min(ratios):.1f}-"
        f"{max(ratios):.1f}; target >= 10)\n"
        f"median server CPU per respondent: ours {statistics.median(cpu['ours']):.2f} ms, "
        f"peer {statistics.median(cpu['peer']):.2f} ms\n"
        f"ours: {total} responses stored (warm-up included), {flagged} flagged too-fast "
        "(sent at once), all answered 303"
    )


if __name__ == "__main__":
    main()
