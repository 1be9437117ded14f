"""`flask retention`: delete free-text comments and flags' evidence older than the policy.

The scale answers, demographics, flags (their reason codes) and status stay: the indices and
their history need them, and none of them is free text a citizen could have put a name into.
What goes is what a person may have written (`comment`) and what the flags kept about how a form
was filled in (`evidence`: seconds taken, when it was opened, counts of a window).
"""

from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import Text, cast, func, null, select, update

from survey import db
from survey.console.audit import record
from survey.models import Response
from survey.timeutil import VIETNAM


def _has_evidence():
    # A response without evidence may hold SQL NULL or JSON null, depending on how it was written.
    return func.coalesce(cast(Response.evidence, Text), "null") != "null"


def apply_retention(session, days: int, now: datetime | None = None, dry_run: bool = False):
    """Clear comments and evidence of responses submitted more than `days` days before `now`.

    Return (cutoff in UTC, comments cleared, evidence cleared); the change and its audit entry
    are committed together, and nothing is recorded when nothing was old enough.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    cutoff = now - timedelta(days=days)
    old = Response.submitted_at < cutoff
    has_comment = Response.comment.is_not(None)
    if dry_run:
        comments = session.scalar(select(func.count()).where(old, has_comment))
        evidence = session.scalar(select(func.count()).where(old, _has_evidence()))
        return cutoff, comments or 0, evidence or 0
    comments = session.execute(update(Response).where(old, has_comment).values(comment=None))
    evidence = session.execute(update(Response).where(old, _has_evidence()).values(evidence=null()))
    counts = (comments.rowcount, evidence.rowcount)
    if any(counts):
        record(
            session,
            None,
            "responses.retention",
            "responses",
            after={
                "older_than_days": days,
                "submitted_before": _vietnam(cutoff),
                "comments_deleted": counts[0],
                "evidence_deleted": counts[1],
            },
        )
    session.commit()
    return cutoff, *counts


def _vietnam(moment_utc: datetime) -> str:
    return moment_utc.replace(tzinfo=UTC).astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")


@click.command("retention")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Days to keep comments and flag evidence (default: RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@with_appcontext
def retention_command(days: int | None, dry_run: bool):
    """Delete comments and flag evidence of responses older than the retention policy."""
    days = days if days is not None else int(current_app.config["RETENTION_DAYS"])
    cutoff, comments, evidence = apply_retention(db.session(), days, dry_run=dry_run)
    values = {
        "days": days,
        "before": _vietnam(cutoff),
        "comments": comments,
        "evidence": evidence,
    }
    if dry_run:
        click.echo(
            _(
                "Dry run, nothing deleted: %(comments)d comments and the flag evidence of "
                "%(evidence)d responses submitted before %(before)s (older than %(days)d days) "
                "would be deleted.",
                **values,
            )
        )
    elif comments or evidence:
        click.echo(
            _(
                "Deleted %(comments)d comments and the flag evidence of %(evidence)d responses "
                "submitted before %(before)s (older than %(days)d days); recorded in the audit "
                "log.",
                **values,
            )
        )
    else:
        click.echo(
            _(
                "Nothing to delete: no comment or flag evidence is older than %(days)d days "
                "(submitted before %(before)s).",
                **values,
            )
        )


def register(app: Flask) -> None:
    """Add the retention command to `app`'s CLI."""
    app.cli.add_command(retention_command)
