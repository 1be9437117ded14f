"""Results at scale: page and download times at 100,000 and 1,000,000 responses, and citizens' form
times while evaluators load them.

For each size, bench/indices.py's synthetic province (500 agencies, 2,000 counters, 16 criteria)
is spread over a year (1 January to 31 December 2026) and served by real gunicorn as production
serves it (gunicorn.conf.py: 2 workers of 4 threads; SQLite; the results stored in a folder and
refreshed in the background; rate limits out of the way). An evaluator signs in and loads
`/results/` (quarters), one agency's page, and the CSV and XLSX downloads:
- first view: nothing stored yet, computed in the request (what every view cost before);
- median of 7 views of each (the figures of the target: <= 300 ms at 1,000,000);
- the first view after 40 new responses arrived (the old result is served while a newer one is
  computed in a forked process at a low priority), and how long until every newer one is done.
Then citizens (4 threads, each a whole respondent: GET the form, POST it) run alone for 15 s,
and again for 15 s while 2 evaluators reload those four URLs without a pause: the citizens'
median must stay within 2x of its idle figure.

Run: .venv/bin/python bench/results.py [--sizes 100000 1000000] [--keep DIR] [--seconds 15]
"""

import argparse
import http.client
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stuffing import ITEMS, Browser, Server  # noqa: E402

EMAIL, PASSWORD = "danh-gia@example.vn", "Mat-khau-danh-gia-2026"
URLS = {
    "/results/": "/results/?period=quarter",
    "agency page": "/results/agency/AG007?period=quarter",
    "CSV": "/results/download.csv?period=quarter",
    "XLSX": "/results/download.xlsx?period=quarter",
}
COUNTERS = 2000
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def prepare(path: Path, n: int) -> None:
    """Make the database (once, kept), bring it to the newest migration, add an evaluator."""
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench/indices.py"), "--make", str(path), "--n", str(n)]
            + ["--days", "365"],
            check=True,
        )
    from survey import create_app, db
    from survey.console import operations as ops
    from survey.migrate import upgrade
    from survey.models import User

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    upgrade(db.make_engine(f"sqlite:///{path}"))
    with app.app_context():
        session = db.session()
        if not session.query(User).filter_by(email=EMAIL).first():
            ops.create_user(session, None, EMAIL, "evaluator", None, PASSWORD)
            session.commit()
    db.dispose_engines(app)


def sign_in(port: int) -> Browser:
    """Return a browser signed in as the evaluator."""
    browser = Browser(port)
    _, html = browser.request("GET", "/console/login")
    token = CSRF.search(html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    status, _ = browser.request("POST", "/console/login", body)
    if status != 303:
        raise RuntimeError(f"sign-in gave {status}")
    return browser


def timed(browser: Browser, url: str) -> float:
    """Return the seconds one GET took, to the last byte (and check it succeeded).

    The body is read as bytes and not decoded: the evaluators' client shares the 2 cores with
    the server and the citizens, and decoding 8 MB files as text would be its own load.
    """
    conn = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=120)
    start = time.perf_counter()
    try:
        conn.request("GET", url, headers={"Cookie": browser.cookie, "Connection": "close"})
        reply = conn.getresponse()
        reply.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    if reply.status != 200:
        raise RuntimeError(f"{url} gave {reply.status}")
    return seconds


def settle(browser: Browser, limit: float = 300.0) -> float:
    """Wait until every URL gives a result of the data now (no background computation left),
    so that the citizens' idle figure is idle; return the seconds waited."""
    start = time.monotonic()
    waiting = set(URLS)
    while waiting and time.monotonic() - start < limit:
        time.sleep(2)
        for name in list(waiting):
            if up_to_date(browser, URLS[name]):
                waiting.discard(name)
    if waiting:
        print(f"    (still computing after {limit:.0f} s: {', '.join(sorted(waiting))})")
    return time.monotonic() - start


def up_to_date(browser: Browser, url: str) -> bool:
    """Tell whether `url` gives a result of the data now (files: a header; pages: no note)."""
    conn = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=60)
    try:
        conn.request("GET", url, headers={"Cookie": browser.cookie})
        reply = conn.getresponse()
        body = reply.read().decode("utf-8", "replace")
        header = reply.getheader("X-Results-Up-To-Date")
    finally:
        conn.close()
    return header == "yes" if header else "brought up to date" not in body


def respondent(port: int, counter: int) -> float:
    """One citizen: GET the form at `counter` (0..1,999), POST it; return the seconds, or -1."""
    browser = Browser(port)
    token = f"t{counter:09d}"
    start = time.perf_counter()
    status, html = browser.request("GET", f"/s/{token}")
    if status != 200:
        return -1.0
    answers = dict.fromkeys(ITEMS, "4")
    status = browser.send(token, dict(HIDDEN.findall(html)), answers)
    return time.perf_counter() - start if status == 303 else -1.0


def citizens(port: int, seconds: float, threads: int = 4) -> list[float]:
    """Run `threads` citizens back to back for `seconds`; return each respondent's time."""
    times: list[float] = []
    failures = []
    stop = time.monotonic() + seconds

    def loop(first: int) -> None:
        counter = first
        while time.monotonic() < stop:
            took = respondent(port, counter % COUNTERS)
            (times if took >= 0 else failures).append(took)
            counter += threads

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        print(f"    ({len(failures)} respondents failed)")
    return times


def evaluators(port: int, until: threading.Event, views: list) -> None:
    """Reload the four URLs without a pause until `until` is set."""
    browser = sign_in(port)
    while not until.is_set():
        for name, url in URLS.items():
            views.append((name, timed(browser, url)))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def run(path: Path, n: int, seconds: float, work: Path) -> None:
    prepare(path, n)
    settings = {
        "RESULTS_CACHE_URL": f"file://{work / f'cache-{n}'}",
        "RESULTS_REFRESH": "background",
        "SUBMIT_RATE_LIMIT": "1000000 per minute",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    server = Server(f"sqlite:///{path}", "memory://", work / f"gunicorn-{n}.log", settings)
    try:
        browser = sign_in(server.port)
        print(f"\n{n:,} responses over a year, 500 agencies (SQLite, gunicorn 2 x 4 threads)")
        first = {name: timed(browser, url) for name, url in URLS.items()}
        medians = {
            name: statistics.median(timed(browser, url) for _ in range(7))
            for name, url in URLS.items()
        }
        for counter in range(40):
            if respondent(server.port, counter) < 0:
                raise RuntimeError("a citizen's form failed")
        after = {name: timed(browser, url) for name, url in URLS.items()}
        settled = settle(browser)
        print(f"  {'':14} {'first view':>12} {'median of 7':>12} {'after new':>12}")
        for name in URLS:
            print(
                f"  {name:14} {ms(first[name]):>12} {ms(medians[name]):>12} {ms(after[name]):>12}"
            )

        print(f"  newer results computed in the background within {settled:.0f} s")
        idle = citizens(server.port, seconds)
        until, views = threading.Event(), []
        readers = [
            threading.Thread(target=evaluators, args=(server.port, until, views)) for _ in range(2)
        ]
        for reader in readers:
            reader.start()
        busy = citizens(server.port, seconds)
        until.set()
        for reader in readers:
            reader.join()
        idle_median, busy_median = statistics.median(idle), statistics.median(busy)
        print(
            f"  citizens alone:            {len(idle) / seconds:6.1f} respondents/s, "
            f"median {ms(idle_median).strip()}"
        )
        print(
            f"  with 2 evaluators loading: {len(busy) / seconds:6.1f} respondents/s, "
            f"median {ms(busy_median).strip()} ({busy_median / idle_median:.2f}x idle; "
            f"{len(views)} evaluator views, median {ms(statistics.median(t for _, t in views))})"
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) the databases in this folder.")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-results-"))
    folder = args.keep or work
    folder.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        run(folder / f"year-{n}.sqlite3", n, args.seconds, work)


if __name__ == "__main__":
    main()
