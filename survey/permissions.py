"""Who may see and change what: every role check of the console, the posters and the API is here.

Roles: an `admin` may do everything; a `manager` looks after one agency and every agency below
it (its counters, posters, receipt links and results); an `evaluator` reads every agency's
results and changes nothing but review decisions on flagged responses.

Views ask for objects through `agency_or_404` and `counter_or_404`. Something outside what the
user may see is reported as missing (404), so a manager who edits an id in a URL learns nothing
about other agencies; something the user may see but not change is refused (403).
"""

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import abort, g
from flask_login import current_user
from sqlalchemy import or_, select, update

from survey import db
from survey.codes import same_code
from survey.models import Agency, ApiToken, Counter, ResponseStatus, User, utcnow


class Role(enum.StrEnum):
    """A member of staff's role."""

    ADMIN = "admin"
    MANAGER = "manager"
    EVALUATOR = "evaluator"


def _signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user) -> bool:
    """Tell whether `user` is a signed-in, active admin."""
    return _signed_in(user) and user.role == Role.ADMIN


def _parents() -> dict[int, int | None]:
    """Return {agency id: parent id} for every agency, once per request."""
    if "agency_parents" not in g:
        rows = db.session().execute(select(Agency.id, Agency.parent_id))
        g.agency_parents = dict(rows.all())
    return g.agency_parents


def subtree_ids(agency_id: int) -> set[int]:
    """Return the ids of `agency_id` and of every agency below it."""
    children: dict[int | None, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [agency_id]
    while todo:
        current = todo.pop()
        if current in found:  # a loop in bad data must not hang the request
            continue
        found.add(current)
        todo.extend(children.get(current, ()))
    return found


def visible_agency_ids(user) -> set[int]:
    """Return the ids of the agencies `user` may look at in the console."""
    if not _signed_in(user):
        return set()
    if user.role in (Role.ADMIN, Role.EVALUATOR):
        return set(_parents())
    if user.role == Role.MANAGER and user.agency_id is not None:
        return subtree_ids(user.agency_id)
    return set()


def managed_agency_ids(user) -> set[int]:
    """Return the ids of the agencies whose counters, posters and receipt links `user` manages."""
    if not _signed_in(user) or user.role == Role.EVALUATOR:
        return set()
    return visible_agency_ids(user)


def visible_agencies(user) -> list[Agency]:
    """Return the agencies `user` may look at, ordered by code."""
    ids = visible_agency_ids(user)
    if not ids:
        return []
    query = select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)
    return list(db.session().scalars(query))


def can_view(user, agency: Agency) -> bool:
    """Tell whether `user` may look at `agency` and its counters."""
    return agency.id in visible_agency_ids(user)


def can_manage(user, agency: Agency) -> bool:
    """Tell whether `user` may change `agency`'s counters, print its posters and receipt links."""
    return agency.id in managed_agency_ids(user)


def can_see_results(user, agency: Agency) -> bool:
    """Tell whether `user` may read `agency`'s results and download them."""
    return can_view(user, agency)


def agency_or_404(user, code: str, manage: bool = False) -> Agency:
    """Return the agency `code` if `user` may see it (404 otherwise) and, with `manage`, change it
    (403 otherwise)."""
    agency = db.session().scalar(select(Agency).where(same_code(Agency.code, code)))
    if agency is None or not can_view(user, agency):
        abort(404)
    if manage and not can_manage(user, agency):
        abort(403)
    return agency


def counter_or_404(user, counter_id: int, manage: bool = False) -> Counter:
    """Return counter `counter_id` if `user` may see it (404 otherwise) and, with `manage`,
    change it (403 otherwise)."""
    counter = db.session().get(Counter, counter_id)
    if counter is None or not can_view(user, counter.agency):
        abort(404)
    if manage and not can_manage(user, counter.agency):
        abort(403)
    return counter


def user_or_404(user_id: int) -> User:
    """Return the account `user_id` (only admins reach the pages that call this)."""
    account = db.session().get(User, user_id)
    if account is None:
        abort(404)
    return account


def admin_required(view: Callable) -> Callable:
    """Refuse the decorated view (403) to everyone but admins."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_admin(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def may_manage_anything(user) -> bool:
    """Tell whether `user` manages at least one agency (shows the receipt-link menu entry)."""
    return bool(managed_agency_ids(user))


def may_review(user) -> bool:
    """Tell whether `user` may open the review of flagged responses (shows its menu entry)."""
    if not _signed_in(user):
        return False
    return user.role in (Role.ADMIN, Role.EVALUATOR) or bool(managed_agency_ids(user))


def may_decide(user, decision: str, status: str) -> bool:
    """Tell whether `user` may `exclude` or `restore` a response now in `status`.

    Admins and evaluators may do both, in every agency. A manager may only exclude a response
    still flagged: the responses they see rate their own agency, so they may neither put one
    back into the indices nor undo a reviewer's restore. Which agencies: `visible_agency_ids`.
    """
    if not may_review(user):
        return False
    if user.role in (Role.ADMIN, Role.EVALUATOR):
        return decision in ("exclude", "restore")
    return decision == "exclude" and status == ResponseStatus.FLAGGED


TOKEN_PREFIX = "sv_"
# last_used_at is written at most this often per token: a program calling many times a second
# must not turn every read into a write.
LAST_USE_PRECISION = timedelta(minutes=1)


def new_api_token() -> str:
    """Return a new plain API token: a prefix that says what it is, then 32 random bytes."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Return the SHA-256 (hex) of a plain API token, as stored in `ApiToken.token_hash`."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_owner(authorization: str | None) -> tuple[ApiToken, User] | None:
    """Return the (token, owner) named by `Authorization: Bearer <token>`, or None.

    None unless the token exists, is not revoked, and its owner's account is active: a revoked
    token or a disabled account stops working with the next call. The row is found by its digest
    (a random token's digest says nothing about other tokens) and the digests are compared once
    more in constant time. The token's last use is written at most once a minute.
    """
    scheme, _, given = (authorization or "").strip().partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return None
    digest = token_digest(given)
    session = db.session()
    found = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), User.active)
    ).first()
    if found is None or not hmac.compare_digest(found[0].token_hash, digest):
        return None
    token, owner = found
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        # Conditional, so that several workers serving the same token write once between them.
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token.id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at <= now - LAST_USE_PRECISION,
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return token, owner
