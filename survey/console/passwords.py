"""Staff passwords: argon2id hashes, sign-in checks and generated passwords."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.links import TOKEN_ALPHABET
from survey.models import User

# argon2-cffi's defaults follow RFC 9106's second recommended option (argon2id, 64 MiB).
_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so that a wrong address takes as long as a wrong password
# and the timing does not tell which addresses have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    """Return `email` trimmed and in lower case, the form it is stored and looked up in."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return _hasher.hash(password)


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
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
