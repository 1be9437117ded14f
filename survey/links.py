"""Poster links: counter tokens, the survey URL they make, and what a scanned token leads to."""

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from survey.models import Counter, ReplacedToken

# Letters and digits that cannot be mistaken for each other when a citizen types the address.
TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 10


@dataclass(frozen=True)
class TokenLookup:
    """What a scanned token leads to: an active counter, or why there is none."""

    counter: Counter | None
    state: str  # "active", "replaced", "retired" or "unknown"


def lookup_token(session: Session, token: str) -> TokenLookup:
    """Find the counter a poster's token belongs to, and whether it can take answers."""
    if not token or len(token) > 64:
        return TokenLookup(None, "unknown")
    counter = session.scalar(
        select(Counter).options(joinedload(Counter.agency)).where(Counter.token == token)
    )
    if counter is not None:
        return TokenLookup(counter, "active" if counter.active else "retired")
    replaced = session.get(ReplacedToken, token)
    if replaced is not None:
        counter = session.get(Counter, replaced.counter_id)
        return TokenLookup(counter, "replaced" if counter and counter.active else "retired")
    return TokenLookup(None, "unknown")


def survey_url(base_url: str, token: str) -> str:
    """Return the public survey URL of a counter token."""
    return f"{base_url}/s/{token}"


def new_token() -> str:
    """Return a fresh, unguessable counter token that is easy to type."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
