"""Poster links: counter tokens, the survey URL they make, and what a scanned token leads to."""

import secrets
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from survey.models import Agency, Counter, ReplacedToken, agency_name

# Letters and digits that cannot be mistaken for each other when a citizen types the address.
TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 10


@dataclass(frozen=True)
class TokenLookup:
    """What a scanned token leads to: an active counter, or why there is none."""

    counter: "Counter | CounterFacts | None"
    state: str  # "active", "replaced", "retired" or "unknown"


class CounterFacts(NamedTuple):
    """What a counter's form page shows of it, read as one row rather than as ORM objects."""

    id: int
    token: str
    name: str
    questionnaire_slug: str
    active: bool
    agency_name_vi: str
    agency_name_en: str | None

    def agency_name(self, locale: str) -> str:
        """Return the counter's agency's name in `locale`."""
        return agency_name(self.agency_name_vi, self.agency_name_en, locale)


_COUNTERS, _AGENCIES = Counter.__table__, Agency.__table__
# Core columns, not ORM ones: the citizen's form page is the most requested page, and loading
# a Counter and its Agency as objects was a third of its work (bench/peer.py).
_FACTS = select(
    _COUNTERS.c.id,
    _COUNTERS.c.token,
    _COUNTERS.c.name,
    _COUNTERS.c.questionnaire_slug,
    _COUNTERS.c.active,
    _AGENCIES.c.name_vi,
    _AGENCIES.c.name_en,
).join(_AGENCIES, _AGENCIES.c.id == _COUNTERS.c.agency_id)


def _state(active: bool) -> str:
    return "active" if active else "retired"


def lookup_token(session: Session, token: str) -> TokenLookup:
    """Find the counter a poster's token belongs to, and whether it can take answers."""
    if not _plausible(token):
        return TokenLookup(None, "unknown")
    counter = session.scalar(
        select(Counter).options(joinedload(Counter.agency)).where(Counter.token == token)
    )
    if counter is not None:
        return TokenLookup(counter, _state(counter.active))
    return _not_current(session, token)


def lookup_token_facts(session: Session, token: str) -> TokenLookup:
    """As lookup_token, with the counter's CounterFacts in place of its object."""
    if not _plausible(token):
        return TokenLookup(None, "unknown")
    row = session.connection().execute(_FACTS.where(_COUNTERS.c.token == token)).first()
    if row is None:
        # A replaced or unknown token (rare): the page says so, and needs no facts.
        return TokenLookup(None, _not_current(session, token).state)
    facts = CounterFacts(*row)
    return TokenLookup(facts, _state(facts.active))


def _plausible(token: str) -> bool:
    return bool(token) and len(token) <= 64


def _not_current(session: Session, token: str) -> TokenLookup:
    """What a token no counter has now leads to: its counter's new poster, or nothing."""
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
