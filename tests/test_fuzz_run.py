"""bench/fuzz.py keeps working: a short run on SQLite gives no server error (marked slow)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_fuzz_run_on_sqlite_gives_no_server_error():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz.py"), "--requests", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert re.search(r"malformed requests: 300 \(.*\); server errors \(5xx\): 0\n", output), output
    # Every acknowledged submission was stored, no more.
    stored = re.search(r"(\d+) stored; (\d+) acknowledged", output)
    assert stored and stored.group(1) == stored.group(2) and int(stored.group(2)) > 0, output
