"""The audit log: who changed what (or issued which receipt link), when, before and after."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from survey.models import AuditEntry, User
from survey.receipt_links import IssuedLink, LinkOrigin
from survey.timeutil import VIETNAM

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
}

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


def audit_page(session: Session, page: int = 1) -> AuditPage:
    """Return page `page` (from 1) of the audit log, newest entries first."""
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    entries = session.scalars(
        select(AuditEntry)
        .options(joinedload(AuditEntry.user))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return AuditPage(list(entries), page, pages)
