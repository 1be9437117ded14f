"""The migrations build exactly the schema of survey.models: autogenerate finds nothing."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData

from survey import models  # noqa: F401  (registers the tables on Base.metadata)
from survey.db import Base, make_engine
from survey.migrate import alembic_config


def differences(database_url: str, metadata: MetaData) -> list:
    """Return what autogenerate would write to bring the database to `metadata`."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
            assert context.get_current_revision() == head
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_the_migrated_database_matches_the_models(database_url):
    # `database_url` is a fresh database upgraded to the newest migration (conftest).
    assert differences(database_url, Base.metadata) == []


def test_a_column_missing_from_the_migrations_is_found(database_url):
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["agencies"].append_column(Column("forgotten", Integer))
    # Only the additions: the test above reports any other difference.
    found = differences(database_url, changed)
    added = [d for d in found if isinstance(d, tuple) and d[0] == "add_column"]
    assert [(d[2], d[3].name) for d in added] == [("agencies", "forgotten")]
