"""Staff passwords: argon2id hashes, sign-in checks and generated passwords."""

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.links import TOKEN_ALPHABET
from survey.models import User

MIN_PASSWORD_LENGTH = 10


@cache
def _hasher_for(parameters: tuple) -> PasswordHasher:
    # One hasher per set of parameters: cached, as the app's setting does not change.
    return PasswordHasher(**dict(parameters))


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verified when the e-mail is unknown, so that a wrong address takes as long as a wrong
    # password and the timing does not tell which addresses have accounts; made with the same
    # parameters as the real hashes for that reason.
    return hasher.hash(secrets.token_hex(16))


def password_hasher() -> PasswordHasher:
    """Return the hasher of the app's PASSWORD_HASH_PARAMETERS (argon2-cffi's defaults if unset)."""
    parameters = current_app.config.get("PASSWORD_HASH_PARAMETERS") if has_app_context() else None
    return _hasher_for(tuple(sorted((parameters or {}).items())))


def normalise_email(email: str) -> str:
    """Return `email` trimmed and in lower case, the form it is stored and looked up in."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return password_hasher().hash(password)


def password_problem(password: str) -> str | None:
    """Return why `password` is too weak to be accepted, or None (an English message)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters are needed"
    return None


def generate_password() -> str:
    """Return a random password of four groups of five easy-to-read characters (about 98 bits)."""
    groups = ("".join(secrets.choice(TOKEN_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active account with this e-mail and password, or None.

    A hash made with older parameters is replaced by a current one on success.
    """
    user = session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        _verify(_dummy_hash(password_hasher()), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return password_hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
