"""The backup in docs/deploy.md works: scripts/backup_restore_check.sh dumps a PostgreSQL
database made here with pg_dump, restores it into another and finds the same row counts."""

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from needs import need, need_program
from sqlalchemy import text
from test_console_support import add_user

from survey import db
from survey.db import make_engine
from survey.migrate import upgrade
from survey.models import Channel, Response
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "backup_restore_check.sh"
SERVER = os.environ.get("TEST_DATABASE_URL")


def url_of(database: str) -> str:
    """Return the URL of `database` on the test server (never the shared test database)."""
    parts = urlsplit(SERVER)
    return urlunsplit(parts._replace(path="/" + database))


def libpq(url: str) -> str:
    # pg_dump and psql read libpq URLs; SQLAlchemy's driver suffix is not one of them.
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def databases():
    """Create two empty databases of this test's own on the test server; drop them after."""
    need(SERVER is not None, "TEST_DATABASE_URL is not set (a PostgreSQL server to test on)")
    need_program("pg_dump", "postgresql-client")
    need_program("pg_restore", "postgresql-client")
    need_program("psql", "postgresql-client")
    names = [f"backup_check_{os.getpid()}_{role}" for role in ("source", "restored")]
    with psycopg.connect(libpq(SERVER), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    yield [url_of(name) for name in names]
    with psycopg.connect(libpq(SERVER), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(databases):
    """The app of this test works on the source database (overrides conftest's)."""
    engine = make_engine(databases[0])
    upgrade(engine)
    engine.dispose()
    return databases[0]


def test_a_backup_restores_with_every_row(app, make_counter, databases, tmp_path):
    counter = make_counter()
    add_user(app, "admin@example.vn", "admin")
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["sipas-service"]
        version = ensure_version(session, definition).id
        for n in range(25):
            values = response_values(
                definition,
                {key: 1 + n % 5 for key in definition.scale_items},
                channel=Channel.QR,
                questionnaire_id=version,
                counter=session.merge(counter),
                comment=f"ý kiến số {n}" if n % 3 == 0 else None,
            )
            session.add(Response(**values))
        session.commit()
    source, restored = (libpq(url) for url in databases)
    dump = tmp_path / "survey.dump"
    result = subprocess.run(
        [str(SCRIPT), source, restored, str(dump)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "row counts equal" in result.stdout and "responses 25" in result.stdout, result.stdout
    assert dump.stat().st_size > 0
    engine = make_engine(databases[1])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses")).scalar() == 25
        comments = conn.execute(text("SELECT count(comment) FROM responses")).scalar()
        assert comments == 9
    engine.dispose()


def test_the_check_fails_when_the_copy_differs(app, make_counter, databases, tmp_path):
    make_counter()
    source, restored = (libpq(url) for url in databases)
    # A restore that silently lost rows must be caught: the script compares, table by table.
    fake_restore = tmp_path / "bin"
    fake_restore.mkdir()
    (fake_restore / "pg_restore").write_text("#!/bin/sh\nexit 0\n")
    (fake_restore / "pg_restore").chmod(0o755)
    result = subprocess.run(
        [str(SCRIPT), source, restored],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"PATH": f"{fake_restore}:{os.environ['PATH']}"},
    )
    assert result.returncode == 1 and "FAILED" in result.stderr, result.stdout + result.stderr


def test_the_check_refuses_to_restore_over_its_source(databases):
    source = libpq(databases[0])
    result = subprocess.run([str(SCRIPT), source, source], capture_output=True, text=True)
    assert result.returncode == 2 and "refused" in result.stderr
