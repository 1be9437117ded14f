"""Database migrations with Alembic, run from the app's configuration."""

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from survey.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for `database_url` using the project's migrations."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Create or upgrade the database behind `engine` to the newest migration."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
