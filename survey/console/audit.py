"""The audit log: who changed what, when, with the values before and after."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from survey.models import AuditEntry, User

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

    `actor` None means the command line (someone with access to the server).
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
