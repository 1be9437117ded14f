"""Which changes make the stored results old, and the data version they are keyed by.

The data version is three numbers read in one query: the highest response id (every new
response, from a citizen, a kiosk, an import or the demo, is a new row), the highest issued
receipt-link id (the response rates), and the results revision, which grows with every other
change the results depend on: a review that flags, excludes or restores a response, an edited,
added or removed agency, counter or questionnaire version. The revision is raised by the ORM
events below, in the transaction that makes the change, so that no code path has to remember it;
a new response does not touch it, so citizens' submissions never queue on one row.
"""

import secrets
from dataclasses import dataclass

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from survey.models import Agency, Counter, Questionnaire, Response

# Rows whose change (or removal) changes what the results show. A new Response is not here:
# the highest response id covers it.
CHANGED = (Agency, Counter, Questionnaire, Response)
ADDED = (Agency, Counter, Questionnaire)
_SESSION_FLAG = "results_revision_raised"


@dataclass(frozen=True)
class DataVersion:
    """The data version: the database's epoch, results revision, highest response and link ids."""

    epoch: str = ""
    revision: int = 0
    responses: int = 0
    links: int = 0

    def __str__(self) -> str:
        return f"{self.epoch}.{self.revision}.{self.responses}.{self.links}"


def data_version(connection: Connection | Engine) -> DataVersion:
    """Return the data version of the database behind `connection` (one cheap query)."""
    sql = text(
        "SELECT (SELECT epoch FROM results_revision WHERE id = 1), "
        "(SELECT revision FROM results_revision WHERE id = 1), "
        "(SELECT max(id) FROM responses), (SELECT max(id) FROM receipt_links)"
    )
    if isinstance(connection, Engine):
        with connection.connect() as conn:
            row = conn.execute(sql).one()
    else:
        row = connection.execute(sql).one()
    return DataVersion(row[0] or "", *(int(value or 0) for value in row[1:]))


def start_epoch(connection: Connection) -> None:
    """Give the database a new epoch: results stored before it are never served again."""
    connection.execute(text("DELETE FROM results_revision"))
    connection.execute(
        text("INSERT INTO results_revision (id, revision, epoch) VALUES (1, 0, :epoch)"),
        {"epoch": secrets.token_hex(8)},
    )


def raise_revision(connection: Connection) -> None:
    """Add one to the results revision, in the transaction of `connection`."""
    done = connection.execute(
        text("UPDATE results_revision SET revision = revision + 1 WHERE id = 1")
    )
    if not done.rowcount:  # a database emptied by hand: start a new epoch
        start_epoch(connection)


def _raise_once(session: Session) -> None:
    """Raise the revision once per transaction: one more would change nothing."""
    if session.info.get(_SESSION_FLAG):
        return
    session.info[_SESSION_FLAG] = True
    raise_revision(session.connection())


def _changes_results(session: Session) -> bool:
    if any(isinstance(obj, ADDED) for obj in session.new):
        return True
    if any(isinstance(obj, CHANGED) for obj in session.deleted):
        return True
    return any(
        isinstance(obj, CHANGED) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    )


def _before_flush(session: Session, _context, _instances) -> None:
    if _changes_results(session):
        _raise_once(session)


def _on_statement(state) -> None:
    """An ORM UPDATE or DELETE of a row the results depend on (a bulk review, say)."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, CHANGED):
        _raise_once(state.session)


def _transaction_over(session: Session, *_args) -> None:
    session.info.pop(_SESSION_FLAG, None)


def watch(session_class=Session) -> None:
    """Listen for changes on every ORM session (once per process; it is idempotent)."""
    if event.contains(session_class, "before_flush", _before_flush):
        return
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "do_orm_execute", _on_statement)
    event.listen(session_class, "after_commit", _transaction_over)
    event.listen(session_class, "after_rollback", _transaction_over)
