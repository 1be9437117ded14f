"""Time every index with CI and rank intervals, read from the app's own SQLite schema.

Makes 1,000,000 responses (16 criteria, 8% missing) over 500 agencies and 2,000 counters with
agency and counter effects, stores them with bulk inserts (not timed), then times - in a fresh
process, from the first database read to the finished rows - the same `build_report` the
`indices` command runs, and reports its peak memory. The same at 100,000 shows how cost grows.

Run: .venv/bin/python bench/indices.py [--sizes 100000 1000000] [--keep DIR]
"""

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AGENCIES, COUNTERS, ITEMS, MISSING = 500, 2000, 16, 0.08
FIRST_DAY = date(2026, 1, 1)


def make_database(path: Path, n: int, seed: int = 7, days: int = 28) -> None:
    """Create the schema with the app's migrations and bulk-insert `n` synthetic responses.

    The responses fall on `days` days from 1 January 2026 (28: one month, this benchmark's
    own figures; bench/results.py spreads them over a year).
    """
    from survey import create_app
    from survey.db import make_engine
    from survey.migrate import upgrade
    from survey.questionnaires.versions import ensure_version

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        from survey import db

        version_id = ensure_version(
            db.session(), app.extensions["questionnaires"]["sipas-service"]
        ).id
    db.dispose_engines(app)

    rng = np.random.default_rng(seed)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO agencies (id, code, name_vi, name_en, level, parent_id) VALUES (?,?,?,?,?,?)",
        [
            (a + 1, f"AG{a:03d}", f"Cơ quan {a}", f"Agency {a}", "commune", None)
            for a in range(AGENCIES)
        ],
    )
    counter_agency = np.arange(COUNTERS) % AGENCIES
    conn.executemany(
        "INSERT INTO counters (id, code, agency_id, name, token, questionnaire_slug, active, "
        "created_at) VALUES (?,?,?,?,?,?,1,'2026-01-01')",
        [
            (
                c + 1,
                f"C{c:04d}",
                int(counter_agency[c]) + 1,
                f"Quầy {c}",
                f"t{c:09d}",
                "sipas-service",
            )
            for c in range(COUNTERS)
        ],
    )
    first = FIRST_DAY.toordinal()
    day_numbers = np.array(
        [int(date.fromordinal(first + d).strftime("%Y%m%d")) for d in range(days)]
    )
    agency_effect = rng.normal(0, 0.5, AGENCIES)
    counter_effect = agency_effect[counter_agency] + rng.normal(0, 0.3, COUNTERS)
    chunk = 200_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        counter = rng.integers(0, COUNTERS, m)
        latent = (
            counter_effect[counter][:, None]
            + rng.normal(0, 1, (m, 1))
            + rng.normal(0, 0.8, (m, ITEMS))
        )
        values = np.digitize(latent, [-2.2, -1.2, -0.4, 1.0]).astype(np.uint8) + 1
        values[rng.random((m, ITEMS)) < MISSING] = 0
        digits = np.concatenate([values, np.zeros((m, 1), np.uint8)], axis=1) + 48  # OVERALL empty
        text = digits.tobytes().decode("ascii")
        width = ITEMS + 1
        day = day_numbers[rng.integers(0, days, m)]
        rows = [
            (
                version_id,
                int(counter[i]) + 1,
                int(counter_agency[counter[i]]) + 1,
                "2026-01-15 03:00:00",
                int(day[i]),
                "vi",
                "qr",
                1.0,
                None,
                "valid",
                text[i * width : (i + 1) * width],
                "{}",
            )
            for i in range(m)
        ]
        conn.executemany(
            "INSERT INTO responses (questionnaire_id, counter_id, agency_id, submitted_at, "
            "local_day, locale, channel, weight, psu, status, scores, details) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def compute(path: Path, design: str) -> None:
    """Child process: time build_report and print a JSON line with the figures."""
    from survey import create_app
    from survey.results.filters import ResultsRequest
    from survey.results.report import build_report

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    definition = app.extensions["questionnaires"]["sipas-service"]
    engine = app.extensions["db_engine"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = build_report(engine, definition, ResultsRequest(design=design))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    service = [r for r in report["rows"] if r["key"] == "service" and r["agency"] != "*"]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak / 1024,
                "start_mb": before / 1024,
                "rows": len(report["rows"]),
                "ranked": sum(r["rank_low"] is not None for r in service),
                "n": max(r["n"] for r in report["rows"] if r["agency"] == "*"),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--designs", nargs="+", default=["srs", "cluster"])
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) the databases in this folder.")
    parser.add_argument("--compute", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--design", default="srs", help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, default=28, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute:
        compute(args.compute, args.design)
        return
    if args.make:
        make_database(args.make, args.n, days=args.days)
        return
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{AGENCIES} agencies, {COUNTERS} counters, {ITEMS} criteria, {MISSING:.0%} missing")
    for n in args.sizes:
        path = folder / f"indices-{n}.sqlite3"
        if not path.exists():
            start = time.perf_counter()
            # Its own process: Linux carries a process's peak memory over into its children.
            subprocess.run(
                [sys.executable, __file__, "--make", str(path), "--n", str(n)], check=True
            )
            print(f"  stored {n:>9,} responses in {time.perf_counter() - start:.1f} s (not timed)")
        for design in args.designs:
            out = subprocess.run(
                [sys.executable, __file__, "--compute", str(path), "--design", design],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{n:>9,} responses  {design:<7}  {figures['seconds']:5.2f} s wall   "
                f"peak {figures['peak_mb']:6.0f} MB (process, of which {figures['start_mb']:.0f} "
                f"MB before the first read)   {figures['rows']:,} rows, "
                f"{figures['ranked']} agencies ranked"
            )


if __name__ == "__main__":
    main()
