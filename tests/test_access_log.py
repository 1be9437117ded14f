"""The access log of `make run` and production (gunicorn.conf.py) cannot re-link a response to a
person: no client address, user agent, referrer or link token, whatever the format asks for."""

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIGNED = "17.eyJkIjoiSFMtMjAyNi0wMDQyIn0.Xq9SecretSignatureOfTheLink"
TOKEN = "PosterTokenSecret42"
AGENT = "Mozilla/5.0 (Linux; Android 14; SM-A155F) ZaloTheCitizensPhone/24.1"
FORWARDED = "203.0.113.77"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback)
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def served(tmp_path):
    """Start gunicorn with the repo's gunicorn.conf.py (as `make run` does); yield a starter."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}",
        "SECRET_KEY": "access-log-test-secret",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("GUNICORN_ACCESS_LOG", None)
    env.pop("GUNICORN_BIND", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "init-db"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    started = []

    def start(*extra: str, **settings: str) -> tuple[str, Path, Path]:
        port = free_port()
        out, err = tmp_path / f"{port}.out", tmp_path / f"{port}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *extra, "app:app"],
                cwd=ROOT,
                env=env | {"PORT": str(port)} | settings,
                stdout=stdout,
                stderr=stderr,
            )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                get(base + "/healthz")
                return base, out, err
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start: " + err.read_text())

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def requests_with_secrets(base: str) -> None:
    headers = {"User-Agent": AGENT, "X-Forwarded-For": FORWARDED, "Referer": f"{base}/r/{SIGNED}"}
    assert get(f"{base}/r/{SIGNED}?lang=en", headers) in (404, 410)
    assert get(f"{base}/s/{TOKEN}", headers) == 404
    assert get(f"{base}/s/{TOKEN}/thanks", headers) == 404
    assert get(f"{base}/healthz", headers) == 200


def read_log(path: Path) -> str:
    # Gunicorn writes each line as it happens; give the workers a moment to flush.
    for _ in range(50):
        text = path.read_text()
        if text.count("\n") >= 4:
            return text
        time.sleep(0.1)
    return path.read_text()


@pytest.mark.parametrize(
    "extra",
    [
        (),
        # Someone "improving" the format on the command line still gets no address or agent.
        (
            "--access-logformat",
            '%(h)s %(a)s "%(r)s" %(f)s %(q)s %({user-agent}i)s %({x-forwarded-for}i)s',
        ),
    ],
    ids=["default-format", "hostile-format"],
)
def test_the_access_log_has_no_address_agent_or_link(served, extra):
    base, out, err = served(*extra)
    requests_with_secrets(base)
    log = read_log(out)
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) >= 4, log
    for secret in (SIGNED, TOKEN, "Xq9Secret", AGENT, "Zalo", FORWARDED, "127.0.0.1", "lang=en"):
        assert secret not in log, (secret, log)
        assert secret not in err.read_text().replace(f"Listening at: {base}", ""), secret
    if not extra:
        assert any('"GET /r/…" 404' in line or '"GET /r/…" 410' in line for line in lines), log
        assert any('"GET /s/…" 404' in line for line in lines), log
        assert any('"GET /healthz" 200' in line for line in lines), log


def test_the_access_log_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "off")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["accesslog"] is None
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["accesslog"] == "-"
