"""The database: declarative base, engine and the per-request session."""

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints, so that Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver named for plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **options) -> Engine:
    """Create an engine for `url`, with SQLite set up for concurrent web use."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: a connection left dead by a PostgreSQL restart is replaced on checkout, so the
    # app recovers by itself without a restart (tests/test_faults.py).
    return create_engine(url, pool_pre_ping=True, **options)


def make_autocommit_engine(engine: Engine) -> Engine:
    """Return an engine on `engine`'s database whose connections are in autocommit from the start.

    Switching a pooled connection into autocommit on every checkout and back on every return
    cost some 6% of a submission (bench/submit.py); a pool of its own switches each connection
    once, when it opens. In autocommit there is never anything to roll back, so SQLAlchemy is
    told not to call the driver's rollback() when a connection closes either.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        # A pool of its own would open a second, empty in-memory database: share the pool.
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    # Each gunicorn worker keeps a connection in this pool beside the one in the main pool:
    # count two per worker against PostgreSQL's max_connections.
    return make_engine(
        url.render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers work while a citizen's answer is written; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    """Attach an engine and a session factory to `app` and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_autocommit_engine"] = make_autocommit_engine(engine)
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    # The results may read from a replica (RESULTS_DATABASE_URL): pages and downloads never
    # load the primary that citizens write to. Without it they read the primary.
    replica = app.config.get("RESULTS_DATABASE_URL")
    results = make_engine(replica) if replica else engine
    app.extensions["db_results_engine"] = results
    app.extensions["db_results_sessionmaker"] = (
        sessionmaker(results, expire_on_commit=False)
        if replica
        else app.extensions["db_sessionmaker"]
    )
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["db_engine"]


def results_engine() -> Engine:
    """Return the engine the results read from (the replica if one is set, else the primary)."""
    return current_app.extensions["db_results_engine"]


def results_session() -> Session:
    """Return the session the results pages read with (the replica's, if one is set)."""
    if current_app.extensions["db_results_engine"] is current_app.extensions["db_engine"]:
        return session()
    if "db_results_session" not in g:
        g.db_results_session = current_app.extensions["db_results_sessionmaker"]()
    return g.db_results_session


def all_engines(app: Flask) -> list[Engine]:
    """Return every engine of `app`: the primary, its autocommit pool and the results' one."""
    names = ("db_engine", "db_autocommit_engine", "db_results_engine")
    found: list[Engine] = []
    for engine in (app.extensions[name] for name in names):
        if all(engine is not other for other in found):
            found.append(engine)
    return found


def session() -> Session:
    """Return the session of the current request or CLI command, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def autocommit_connection() -> Connection:
    """Return a new connection in autocommit mode (use it in a `with` block).

    A single INSERT is atomic by itself: without BEGIN and COMMIT the citizen's submission needs
    two round trips to PostgreSQL instead of four.
    """
    return current_app.extensions["db_autocommit_engine"].connect()


def dispose_engines(app: Flask) -> None:
    """Close every pooled connection of `app` (before a test drops its database, say)."""
    for engine in all_engines(app):
        engine.dispose()


def _close_session(_exc) -> None:
    for name in ("db_results_session", "db_session"):
        db_session = g.pop(name, None)
        if db_session is not None:
            _close(db_session)


def _close(db_session: Session) -> None:
    try:
        db_session.close()
    except Exception as error:  # noqa: BLE001 - the response is made; a raise would replace it
        # The rollback of close() fails when the database went away mid-request: a second error
        # here would turn the 503 page into Werkzeug's bare 500. Drop the connection instead,
        # so the pool does not hand it out again.
        current_app.logger.warning("closing the database session failed: %r", error)
        try:
            db_session.invalidate()
        except Exception:  # noqa: BLE001 - nothing more can be done with a dead connection
            pass
