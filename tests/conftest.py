"""Fixtures: an app on a fresh database per test (SQLite always, PostgreSQL when configured)."""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import TUESDAY_9AM, Clock
from sqlalchemy import select, text
from test_console_support import PASSWORD, World, build_world, csrf

from survey import create_app, db
from survey.console.passwords import hash_password
from survey.db import make_engine
from survey.migrate import upgrade
from survey.models import Agency, ApiToken, Counter, User
from survey.permissions import new_api_token, token_digest
from survey.results.changes import start_epoch

PG_URL = os.environ.get("TEST_DATABASE_URL")
# argon2's cheapest parameters: the production ones (64 MiB, tested once in test_auth) would
# spend most of the run hashing.
CHEAP_PASSWORD_HASHES = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """Rebuild the PostgreSQL test schema from the migrations once per run."""
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return PG_URL


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path, sqlite_template) -> str:
    """Return the URL of an empty, migrated database."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).scalar()
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        start_epoch(conn)  # the ids start again: results stored for the last test are not these
    engine.dispose()
    return url


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Return the configuration of the test app (tests may change it before `app` is built)."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PUBLIC_BASE_URL": "http://survey.test",
        "RATELIMIT_ENABLED": False,
        # Tests send forms at once and at any hour: flags are tested on their own.
        "FLAG_SUSPICIOUS": False,
        "PASSWORD_HASH_PARAMETERS": CHEAP_PASSWORD_HASHES,
        # Stored results in this app's own memory, recomputed in the request whenever the data
        # changed: each test sees its own numbers at once (test_results_cache.py tests the rest).
        "RESULTS_CACHE_URL": "simple://",
        "RESULTS_REFRESH": "inline",
    }


@pytest.fixture
def app(app_config):
    """Return an app on a fresh database."""
    application = create_app(app_config)
    yield application
    db.dispose_engines(application)


@pytest.fixture
def client(app):
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Return a CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def make_agency(app):
    """Return a function that stores an agency."""

    def make(code="SO-TP", name_vi="Sở Tư pháp", level="department", parent=None) -> Agency:
        with app.app_context():
            session = db.session()
            agency = Agency(
                code=code,
                name_vi=name_vi,
                name_en=f"{code} (en)",
                level=level,
                parent_id=parent.id if parent else None,
            )
            session.add(agency)
            session.commit()
            return agency

    return make


@pytest.fixture
def make_counter(app, make_agency):
    """Return a function that stores a counter (and an agency for it when none is given)."""
    counter_number = iter(range(1, 10_000))

    def make(agency=None, questionnaire="sipas-service", active=True, token=None) -> Counter:
        agency = agency or make_agency(code=f"AG{next(counter_number)}")
        n = next(counter_number)
        with app.app_context():
            session = db.session()
            counter = Counter(
                code=f"C{n}",
                agency_id=agency.id,
                name=f"Quầy số {n}",
                token=token or f"tok{n:07d}",
                questionnaire_slug=questionnaire,
                active=active,
            )
            session.add(counter)
            session.commit()
            return counter

    return make


@pytest.fixture
def make_token(app):
    """Return make(email, role="admin", agency=None, plain=None, name="test") -> plain token.

    It stores an API token for the account `email` (made, without an audit entry, when missing;
    `agency` is a code) and returns the plain token: `plain` when given, else a new one.
    """

    def make(email, role="admin", agency=None, plain=None, name="test") -> str:
        with app.app_context():
            session = db.session()
            owner = session.scalar(select(User).where(User.email == email))
            if owner is None:
                agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
                owner = User(
                    email=email,
                    password_hash=hash_password(PASSWORD),
                    role=role,
                    agency_id=agency_id,
                    active=True,
                )
                session.add(owner)
            plain = plain or new_api_token()
            session.add(ApiToken(user=owner, name=name, token_hash=token_digest(plain)))
            session.commit()
            return plain

    return make


@pytest.fixture
def world(app, make_agency, make_counter) -> World:
    """Return the small province of test_console_support, with an account per role."""
    return build_world(app, make_agency, make_counter)


def sign_in(client, email: str, password: str = PASSWORD, expect: int = 303):
    """Sign `client` in through the form and check the status of the answer."""
    reply = client.post(
        "/console/login",
        data={"csrf_token": csrf(client), "email": email, "password": password},
    )
    assert reply.status_code == expect, reply.get_data(as_text=True)[:500]
    return reply


@pytest.fixture
def login():
    """Return the sign-in helper: login(client, email, password=PASSWORD, expect=303)."""
    return sign_in


@pytest.fixture
def live_server(app):
    """Serve the app on a real HTTP server in a background thread; yield its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Return Debian's Chromium driven by Playwright (skipped outside CI when it is missing)."""
    from needs import need

    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # As root in a container Chromium needs --no-sandbox; the rest stop it calling out.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot_dir() -> Path | None:
    """Return the folder for screenshots when SCREENSHOT_DIR is set (to look at the pages)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- the flags' clock


@pytest.fixture
def clock(monkeypatch):
    """Return the test's clock, started on a Tuesday at 09:00 in Vietnam."""
    fake = Clock(TUESDAY_9AM)
    monkeypatch.setattr("time.time", fake)
    monkeypatch.setattr(
        "survey.responses.utcnow",
        lambda: datetime.fromtimestamp(fake(), UTC).replace(tzinfo=None),
    )
    return fake


@pytest.fixture
def flagging_app(app_config, clock):
    """Return an app with the flags and the submission limit on, as in production."""
    application = create_app(
        app_config | {"FLAG_SUSPICIOUS": True, "RATELIMIT_ENABLED": True, "PROXY_HOPS": 1}
    )
    yield application
    db.dispose_engines(application)
