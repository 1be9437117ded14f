"""Kiosk devices: one-time enrolment codes, device credentials, revocation.

A manager makes an enrolment code for a counter (console or `flask kiosks enrol`); the tablet
opens its link once and gets a device credential in a cookie. Codes and credentials are random
(32 bytes), so only their SHA-256 is stored, as for API tokens: a database dump opens nothing.
A code lives ENROLMENT_MINUTES and is used once; a kiosk is refused from the moment it is
revoked, or replaced (the same device enrolled again).
"""

import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from survey.console import audit
from survey.models import Counter, Kiosk, KioskEnrolment, User, utcnow
from survey.permissions import token_digest

ENROLMENT_MINUTES = 15
CODE_PREFIX = "ke_"
CREDENTIAL_PREFIX = "kd_"
# last_seen_at is written at most this often: a kiosk sending every few seconds must not turn
# every request into a write.
LAST_SEEN_PRECISION = timedelta(minutes=1)


def kiosk_snapshot(kiosk: Kiosk) -> dict:
    """Return the audited fields of `kiosk` (never its credential or hash)."""
    return {
        "counter": kiosk.counter.code,
        "name": kiosk.name,
        "revoked": kiosk.revoked_at is not None,
    }


def enrolment_url(code: str) -> str:
    """Return the address a tablet opens to become a kiosk with `code`."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/k/enrol/{code}"


def create_enrolment(
    session: Session, actor: User | None, counter: Counter
) -> tuple[KioskEnrolment, str]:
    """Make a one-time enrolment code for `counter`; return it with the plain code (shown once)."""
    plain = CODE_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    enrolment = KioskEnrolment(
        counter_id=counter.id,
        code_hash=token_digest(plain),
        created_at=now,
        expires_at=now + timedelta(minutes=ENROLMENT_MINUTES),
        created_by_id=actor.id if actor is not None else None,
    )
    session.add(enrolment)
    session.flush()
    audit.record(
        session,
        actor,
        "kiosk.enrolment",
        f"counter:{counter.code}",
        after={"expires_at": enrolment.expires_at.isoformat(timespec="minutes")},
    )
    session.commit()
    return enrolment, plain


def enrol(session: Session, code: str, replacing: str | None = None) -> tuple[Kiosk, str] | None:
    """Exchange a one-time enrolment code for a new kiosk and its plain device credential.

    None when the code is unknown, used, expired or its counter retired. The code is marked
    used by one conditional UPDATE, so two tablets racing with the same code get one kiosk.
    `replacing` is the device's former credential, if any: that kiosk is revoked (replaced).
    """
    now = utcnow()
    digest = token_digest(code or "")
    enrolment = session.scalar(select(KioskEnrolment).where(KioskEnrolment.code_hash == digest))
    if (
        enrolment is None
        or not hmac.compare_digest(enrolment.code_hash, digest)
        or enrolment.used_at is not None
        or enrolment.expires_at <= now
        or not enrolment.counter.active
    ):
        return None
    taken = session.execute(
        update(KioskEnrolment)
        .where(KioskEnrolment.id == enrolment.id, KioskEnrolment.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        session.rollback()
        return None
    plain = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
    counter = enrolment.counter
    count = len(session.scalars(select(Kiosk.id).where(Kiosk.counter_id == counter.id)).all())
    kiosk = Kiosk(
        counter=counter,
        name=f"{counter.code}-{count + 1}",
        credential_hash=token_digest(plain),
        enrolled_at=now,
        last_seen_at=now,
    )
    session.add(kiosk)
    session.flush()
    session.execute(
        update(KioskEnrolment)
        .where(KioskEnrolment.id == enrolment.id)
        .values(kiosk_id=kiosk.id)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, None, "kiosk.enrol", f"kiosk:{kiosk.id}", after=kiosk_snapshot(kiosk))
    former = kiosk_for(session, replacing, touch=False) if replacing else None
    if former is not None:
        before = kiosk_snapshot(former)
        former.revoked_at = now
        after = kiosk_snapshot(former)
        audit.record(session, None, "kiosk.replace", f"kiosk:{former.id}", before, after)
    session.commit()
    return kiosk, plain


def kiosk_for(session: Session, credential: str | None, touch: bool = True) -> Kiosk | None:
    """Return the kiosk holding `credential`, or None if unknown, revoked or its counter retired.

    With `touch`, its last_seen_at is written (at most once a minute).
    """
    if not credential or not credential.startswith(CREDENTIAL_PREFIX):
        return None
    digest = token_digest(credential)
    kiosk = session.scalar(
        select(Kiosk).where(Kiosk.credential_hash == digest, Kiosk.revoked_at.is_(None))
    )
    if kiosk is None or not hmac.compare_digest(kiosk.credential_hash, digest):
        return None
    if not kiosk.counter.active:
        return None
    now = utcnow()
    if touch and (kiosk.last_seen_at is None or now - kiosk.last_seen_at >= LAST_SEEN_PRECISION):
        # Conditional, so that several workers seeing the same kiosk write once between them.
        session.execute(
            update(Kiosk)
            .where(
                Kiosk.id == kiosk.id,
                or_(Kiosk.last_seen_at.is_(None), Kiosk.last_seen_at <= now - LAST_SEEN_PRECISION),
            )
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return kiosk


def counter_kiosks(session: Session, counter: Counter) -> list[Kiosk]:
    """Return the counter's kiosks, the newest first."""
    query = (
        select(Kiosk)
        .where(Kiosk.counter_id == counter.id)
        .order_by(Kiosk.enrolled_at.desc(), Kiosk.id.desc())
    )
    return list(session.scalars(query))


def revoke_kiosk(session: Session, actor: User | None, kiosk: Kiosk) -> bool:
    """Revoke `kiosk` from now on; return False if it was already revoked."""
    if kiosk.revoked_at is not None:
        return False
    before = kiosk_snapshot(kiosk)
    kiosk.revoked_at = utcnow()
    audit.record(session, actor, "kiosk.revoke", f"kiosk:{kiosk.id}", before, kiosk_snapshot(kiosk))
    session.commit()
    return True
