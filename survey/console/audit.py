"""The audit log: who changed, took or issued what, when, before and after."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from survey.models import AuditEntry, User
from survey.receipt_links import IssuedLink, LinkOrigin
from survey.timeutil import VIETNAM, to_utc_naive

# What each action is called on the audit page.
ACTIONS = {
    "agency.create": _l("Agency created"),
    "agency.update": _l("Agency changed"),
    "counter.create": _l("Counter created"),
    "counter.update": _l("Counter changed"),
    "counter.rotate": _l("QR code replaced"),
    "counter.retire": _l("Counter retired"),
    "counter.reactivate": _l("Counter reactivated"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.password": _l("Password reset"),
    "response.exclude": _l("Flagged response left out of the indices"),
    "response.restore": _l("Flagged response put back into the indices"),
    "receipt.api": _l("Receipt link issued through the API"),
    "receipt.staff": _l("Receipt link made by staff (not verified)"),
    "responses.retention": _l("Old comments and flag evidence deleted (retention policy)"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "kiosk.enrolment": _l("Kiosk pairing code made"),
    "kiosk.enrol": _l("Tablet paired as a kiosk"),
    "kiosk.replace": _l("Kiosk replaced by a new pairing"),
    "kiosk.revoke": _l("Kiosk revoked"),
    "auth.sign_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Failed sign-in"),
    "download.results": _l("Indices downloaded"),
    "download.responses": _l("Raw responses downloaded"),
    "download.chart": _l("Chart downloaded"),
    "api.call": _l("API call with a token"),
    "import.agencies": _l("Agencies imported (command line)"),
    "import.counters": _l("Counters imported (command line)"),
    "import.responses": _l("Paper forms imported (command line)"),
}

# Longest e-mail kept from a failed sign-in: what was typed may be anything.
EMAIL_KEPT = 100
# Control characters (NUL among them) are refused by PostgreSQL's text columns.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

PAGE_SIZE = 50


def record(
    session: Session,
    actor: User | None,
    action: str,
    target: str,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Add an audit entry to `session`; it is committed with the change it describes.

    `actor` None means the command line (someone with access to the server), or the API for
    the receipt links it issues.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        action=action,
        target=target,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def record_issued_link(
    session: Session, actor: User | None, issued: IssuedLink, token_name: str | None = None
) -> AuditEntry:
    """Add the audit entry of a receipt link just issued by `actor` (through the API: the owner
    of the token named `token_name`)."""
    api = issued.origin is LinkOrigin.API
    after = {
        "counter": issued.counter.code,
        # Verified only when the case-management software's (an admin's) token issued it.
        "issued_by": "api" if api else "staff",
        "verified": api,
        **({"token": token_name} if token_name is not None else {}),
        # In Vietnam's time, as every time on the audit page, with the offset to say so.
        "expires_at": issued.expires_at.astimezone(VIETNAM).isoformat(),
        # Enough to find the response a link led to; the dossier code itself is stored nowhere.
        "dossier_hash": issued.dossier_hash[:8],
    }
    # Through the API (a token) or in the console, whoever's token it was.
    action = "receipt.api" if token_name is not None else "receipt.staff"
    return record(session, actor, action, f"counter:{issued.counter.code}", after=after)


def clean_text(value: str, limit: int = EMAIL_KEPT) -> str:
    """Return `value` without control characters or lone surrogates, cut to `limit` characters."""
    value = _CONTROL.sub("", value).encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def record_read(
    session: Session, actor: User | None, action: str, target: str, after: dict | None = None
) -> AuditEntry:
    """Record something taken (a download, an API call) and commit it at once.

    Reads have no transaction of their own to join: the entry gets its own small commit.
    """
    entry = record(session, actor, action, clean_text(target, 120), after=after)
    session.commit()
    return entry


def record_import(session: Session, action: str, file_name: str, rows: int) -> None:
    """Record a command-line import that succeeded (actor None: the command line), committed."""
    name = clean_text(file_name, 120)
    record_read(session, None, action, f"file:{name}", after={"file": name, "rows": rows})


def changes(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """Return (field, before, after) for every field that differs between the two snapshots."""
    before, after = before or {}, after or {}
    keys = [*before, *(k for k in after if k not in before)]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first."""

    entries: list[AuditEntry]
    page: int
    pages: int


class AuditFilterError(ValueError):
    """A filter of the audit page's URL that cannot be used; `param` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page is narrowed to: an action, an account (by id), Vietnam days."""

    action: str | None = None
    user: User | None = None
    start: date | None = None
    end: date | None = None


def _day(args, name: str) -> date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    # The platform's life: a year outside it is a typing mistake (and year 1 cannot be shifted).
    if day is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or not 2000 <= day.year <= 2100:
        raise AuditFilterError(
            name, _l("%(p)s must be a day written YYYY-MM-DD, for example 2026-03-31.", p=name)
        )
    return day


def parse_audit_filters(session: Session, args) -> AuditFilters:
    """Read ?action=…&user=…&from=…&to=… (Vietnam days); raise AuditFilterError on a bad one."""
    action = (args.get("action") or "").strip() or None
    if action is not None and action not in ACTIONS:
        raise AuditFilterError("action", _l("There is no such action in the audit log."))
    user = None
    who = (args.get("user") or "").strip()
    if who:
        if not who.isdigit() or len(who) > 9:
            raise AuditFilterError("user", _l("user must be the number of a staff account."))
        user = session.get(User, int(who))
        if user is None:
            raise AuditFilterError("user", _l("There is no staff account with this number."))
    start, end = _day(args, "from"), _day(args, "to")
    if start and end and start > end:
        raise AuditFilterError("to", _l("The last day comes before the first day."))
    return AuditFilters(action, user, start, end)


def _narrowed(query, filters: AuditFilters):
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.user is not None:
        # What the account did, and the sign-ins tried on it (those have no actor).
        query = query.where(
            or_(
                AuditEntry.user_id == filters.user.id,
                AuditEntry.target == f"sign-in:{filters.user.email}",
            )
        )
    if filters.start:
        query = query.where(AuditEntry.at >= to_utc_naive(datetime.combine(filters.start, time())))
    if filters.end:
        after_end = datetime.combine(filters.end + timedelta(days=1), time())
        query = query.where(AuditEntry.at < to_utc_naive(after_end))
    return query


def audit_page(session: Session, page: int = 1, filters: AuditFilters | None = None) -> AuditPage:
    """Return page `page` (from 1) of the audit log, newest entries first, narrowed by `filters`."""
    filters = filters or AuditFilters()
    total = session.scalar(_narrowed(select(func.count()).select_from(AuditEntry), filters)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    entries = session.scalars(
        _narrowed(select(AuditEntry), filters)
        .options(joinedload(AuditEntry.user))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return AuditPage(list(entries), page, pages)
