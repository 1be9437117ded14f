"""API tokens: created for an account, listed, revoked; each change committed with its audit entry.

Callers check permissions first (only admins, or the command line); these functions check the
data. The plain token is returned once by `create_token` and stored nowhere: only its SHA-256.
"""

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from survey.console import audit
from survey.console.operations import StaffError
from survey.console.passwords import normalise_email
from survey.models import ApiToken, User, utcnow
from survey.permissions import new_api_token, token_digest

NAME_LENGTH = 100  # ApiToken.name
DEFAULT_NAME = "api"


def token_snapshot(token: ApiToken) -> dict:
    """Return the audited fields of `token` (never the token or its hash)."""
    return {
        "name": token.name,
        "owner": token.user.email,
        "revoked": token.revoked_at is not None,
    }


def clean_token_name(name: str | None) -> str:
    """Return a token's name as stored (DEFAULT_NAME when empty), or raise StaffError."""
    name = " ".join((name or "").split())
    if len(name) > NAME_LENGTH:
        raise StaffError(_("Please keep this under %(n)d characters.", n=NAME_LENGTH))
    return name or DEFAULT_NAME


def user_by_email(session: Session, email: str) -> User | None:
    """Return the account with e-mail `email` (any case), or None."""
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def all_tokens(session: Session) -> list[ApiToken]:
    """Return every token with its owner, the newest first."""
    query = (
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(session.scalars(query))


def create_token(
    session: Session, actor: User | None, owner: User, name: str | None
) -> tuple[ApiToken, str]:
    """Create a token for `owner`; return it with the plain token, to be shown once."""
    if not owner.active:
        raise StaffError(
            _("The account %(email)s is disabled: its tokens would not work.", email=owner.email)
        )
    plain = new_api_token()
    token = ApiToken(
        user=owner, name=clean_token_name(name), token_hash=token_digest(plain), created_at=utcnow()
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", f"token:{token.id}", after=token_snapshot(token))
    session.commit()
    return token, plain


def revoke_token(session: Session, actor: User | None, token: ApiToken) -> bool:
    """Revoke `token` from now on; return False if it was already revoked."""
    if token.revoked_at is not None:
        return False
    before = token_snapshot(token)
    token.revoked_at = utcnow()
    audit.record(session, actor, "token.revoke", f"token:{token.id}", before, token_snapshot(token))
    session.commit()
    return True
