"""Command-line commands for API tokens: create (shown once), list, revoke."""

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from survey import db
from survey.console import token_ops
from survey.console.operations import StaffError
from survey.models import ApiToken
from survey.timeutil import VIETNAM

tokens = AppGroup("tokens", help="API tokens (each belongs to a staff account).")


def vietnam_time(moment: datetime | None) -> str:
    """Return a stored UTC time as Vietnam's time (YYYY-MM-DD HH:MM), or a dash for none."""
    if moment is None:
        return "–"
    return moment.replace(tzinfo=UTC).astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")


@tokens.command("create")
@click.argument("email")
@click.option("--name", default=token_ops.DEFAULT_NAME, show_default=True, help="What it is for.")
def tokens_create(email: str, name: str):
    """Create an API token for the account EMAIL and print it once."""
    session = db.session()
    owner = token_ops.user_by_email(session, email)
    if owner is None:
        raise click.ClickException(_("No account has e-mail %(email)s.", email=email))
    try:
        token, plain = token_ops.create_token(session, None, owner, name)
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        _(
            "Token %(id)d (%(name)s) created for %(email)s (%(role)s).",
            id=token.id,
            name=token.name,
            email=owner.email,
            role=owner.role,
        )
    )
    click.echo(plain)
    # On stderr, so that `tokens create … > file` stores the token alone.
    click.echo(_("Copy it now: it is not stored and will not be shown again."), err=True)


@tokens.command("list")
def tokens_list():
    """List the API tokens: id, name, owner, created, last used, revoked (Vietnam time)."""
    rows = token_ops.all_tokens(db.session())
    if not rows:
        click.echo(_("No API token yet."))
        return
    header = (_("id"), _("name"), _("owner"), _("created"), _("last used"), _("revoked"))
    click.echo("\t".join(header))
    for token in rows:
        click.echo(
            "\t".join(
                (
                    str(token.id),
                    token.name,
                    token.user.email,
                    vietnam_time(token.created_at),
                    vietnam_time(token.last_used_at),
                    vietnam_time(token.revoked_at),
                )
            )
        )


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def tokens_revoke(token_id: int):
    """Revoke the API token ID: it stops working with the next call."""
    session = db.session()
    token = session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(_("No API token has id %(id)d.", id=token_id))
    if token_ops.revoke_token(session, None, token):
        click.echo(_("Token %(id)d (%(name)s) revoked.", id=token.id, name=token.name))
    else:
        click.echo(_("Token %(id)d was already revoked.", id=token.id))


def register(app: Flask) -> None:
    """Add the token commands to `app`'s CLI."""
    app.cli.add_command(tokens)
