"""Changes made by staff (agencies, counters, accounts), each committed with its audit entry.

Callers check permissions first (survey.permissions); these functions check the data: codes
unique, a manager's agency given, an agency not placed below itself.
"""

import re

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.citizen.flagging import forget_counter_settings
from survey.codes import same_code
from survey.console import audit
from survey.console.passwords import generate_password, hash_password, normalise_email
from survey.hours import parse_hours
from survey.links import new_token
from survey.models import Agency, Counter, ReplacedToken, User, utcnow
from survey.permissions import Role


class StaffError(ValueError):
    """A change that cannot be made; the message says why, in the user's language."""


# What update_counter and update_agency take for a setting the caller leaves as it is.
UNCHANGED = object()
BURST_LIMIT_MAX = 100
OPENING_HOURS_LENGTH = 200  # Agency.opening_hours


# ---------------------------------------------------------------- settings of the flags


def clean_opening_hours(text: str | None) -> str | None:
    """Return opening hours as stored (None: the default), or raise StaffError saying why."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > OPENING_HOURS_LENGTH:
        raise StaffError(_("Please keep this under %(n)d characters.", n=OPENING_HOURS_LENGTH))
    try:
        parse_hours(text)
    except ValueError as error:
        raise StaffError(str(error)) from error
    return text


def clean_burst_limit(value: str | int | None) -> int | None:
    """Return a counter's burst limit as stored (None: the default), or raise StaffError."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    # Not str.isdigit: it takes "²" and other digits int() refuses.
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= BURST_LIMIT_MAX:
        raise StaffError(
            _(
                "'%(v)s' is not a whole number from 1 to %(max)d; leave it empty for the default.",
                v=text,
                max=BURST_LIMIT_MAX,
            )
        )
    return int(text)


# ---------------------------------------------------------------- snapshots for the audit log


def counter_snapshot(counter: Counter) -> dict:
    """Return the audited fields of `counter`."""
    return {
        "code": counter.code,
        "name": counter.name,
        "agency": counter.agency.code,
        "questionnaire": counter.questionnaire_slug,
        "active": counter.active,
        "burst_limit": counter.burst_limit,
    }


def agency_snapshot(agency: Agency) -> dict:
    """Return the audited fields of `agency`."""
    return {
        "code": agency.code,
        "name_vi": agency.name_vi,
        "name_en": agency.name_en,
        "level": agency.level,
        "parent": agency.parent.code if agency.parent else None,
        "opening_hours": agency.opening_hours,
    }


def user_snapshot(user: User) -> dict:
    """Return the audited fields of `user` (never the password hash)."""
    return {
        "email": user.email,
        "role": user.role,
        "agency": user.agency.code if user.agency else None,
        "active": user.active,
    }


def _commit(session: Session, message: str) -> None:
    try:
        session.commit()
    except IntegrityError as error:
        # Someone else took the same code or e-mail between our check and our write.
        session.rollback()
        raise StaffError(message) from error


# ---------------------------------------------------------------- counters


def create_counter(
    session: Session,
    actor: User | None,
    agency: Agency,
    code: str,
    name: str,
    questionnaire_slug: str,
) -> Counter:
    """Create an active counter with a fresh QR token."""
    code = code.strip()
    if session.scalar(select(Counter.id).where(same_code(Counter.code, code))) is not None:
        raise StaffError(_("A counter with code %(code)s already exists.", code=code))
    counter = Counter(
        code=code,
        agency=agency,
        name=name.strip(),
        token=_unused_token(session),
        questionnaire_slug=questionnaire_slug,
        active=True,
    )
    session.add(counter)
    session.flush()
    audit.record(
        session, actor, "counter.create", f"counter:{code}", after=counter_snapshot(counter)
    )
    _commit(session, _("A counter with code %(code)s already exists.", code=code))
    return counter


def update_counter(
    session: Session,
    actor: User | None,
    counter: Counter,
    name: str,
    questionnaire_slug: str,
    burst_limit=UNCHANGED,
) -> bool:
    """Rename `counter`, set its questionnaire and burst limit; return False if unchanged.

    `burst_limit` None is the default (COUNTER_BURST); left out, it stays as it is.
    """
    before = counter_snapshot(counter)
    if burst_limit is not UNCHANGED:
        burst_limit = clean_burst_limit(burst_limit)
    counter.name = name.strip()
    counter.questionnaire_slug = questionnaire_slug
    if burst_limit is not UNCHANGED:
        counter.burst_limit = burst_limit
    after = counter_snapshot(counter)
    if after == before:
        return False
    audit.record(session, actor, "counter.update", f"counter:{counter.code}", before, after)
    session.commit()
    _settings_changed(before, after, "burst_limit")
    return True


def _settings_changed(before: dict, after: dict, key: str) -> None:
    # The flags read a counter's settings through a cache: this worker sees the change at once,
    # the others when their cache runs out (flagging.SETTINGS_SECONDS).
    if before.get(key) != after.get(key):
        forget_counter_settings()


def rotate_token(session: Session, actor: User | None, counter: Counter) -> str:
    """Give `counter` a new QR token; the old one then leads to the "poster replaced" page."""
    old = counter.token
    counter.token = _unused_token(session)
    session.add(ReplacedToken(token=old, counter_id=counter.id, replaced_at=utcnow()))
    audit.record(
        session,
        actor,
        "counter.rotate",
        f"counter:{counter.code}",
        {"token": old},
        {"token": counter.token},
    )
    session.commit()
    return counter.token


def set_counter_active(
    session: Session, actor: User | None, counter: Counter, active: bool
) -> None:
    """Retire `counter` (its QR code stops taking answers) or bring it back."""
    if counter.active == active:
        return
    before = counter_snapshot(counter)
    counter.active = active
    counter.retired_at = None if active else utcnow()
    action = "counter.reactivate" if active else "counter.retire"
    audit.record(
        session, actor, action, f"counter:{counter.code}", before, counter_snapshot(counter)
    )
    session.commit()


def _unused_token(session: Session) -> str:
    # 31^10 tokens: a clash is practically impossible, but a clash with a replaced token would
    # send a new poster to the "replaced" page, so both tables are checked.
    while True:
        token = new_token()
        taken = session.scalar(select(Counter.id).where(Counter.token == token))
        if taken is None and session.get(ReplacedToken, token) is None:
            return token


# ---------------------------------------------------------------- agencies


def create_agency(
    session: Session,
    actor: User | None,
    code: str,
    name_vi: str,
    name_en: str,
    level: str,
    parent: Agency | None,
    opening_hours: str | None = None,
) -> Agency:
    """Create an agency below `parent` (None for a top-level agency); no hours: the default."""
    code = code.strip()
    opening_hours = clean_opening_hours(opening_hours)
    taken = _("An agency with code %(code)s already exists.", code=code)
    if session.scalar(select(Agency.id).where(same_code(Agency.code, code))) is not None:
        raise StaffError(taken)
    agency = Agency(
        code=code,
        name_vi=name_vi.strip(),
        name_en=(name_en or name_vi).strip(),
        level=level,
        parent=parent,
        opening_hours=opening_hours,
    )
    session.add(agency)
    session.flush()
    audit.record(session, actor, "agency.create", f"agency:{code}", after=agency_snapshot(agency))
    _commit(session, taken)
    return agency


def update_agency(
    session: Session,
    actor: User | None,
    agency: Agency,
    name_vi: str,
    name_en: str,
    level: str,
    parent: Agency | None,
    opening_hours=UNCHANGED,
) -> bool:
    """Rename, re-level, move `agency` or set its hours; return False when nothing changed.

    `opening_hours` None (or empty) is the default (OPENING_HOURS); left out, they stay.
    """
    if opening_hours is not UNCHANGED:
        opening_hours = clean_opening_hours(opening_hours)
    ancestor = parent
    while ancestor is not None:
        if ancestor.id == agency.id:
            raise StaffError(_("An agency cannot be placed below itself or its own sub-agencies."))
        ancestor = ancestor.parent
    before = agency_snapshot(agency)
    agency.name_vi = name_vi.strip()
    agency.name_en = (name_en or name_vi).strip()
    agency.level = level
    agency.parent = parent
    if opening_hours is not UNCHANGED:
        agency.opening_hours = opening_hours
    after = agency_snapshot(agency)
    if after == before:
        return False
    audit.record(session, actor, "agency.update", f"agency:{agency.code}", before, after)
    session.commit()
    _settings_changed(before, after, "opening_hours")
    return True


# ---------------------------------------------------------------- accounts


def _check_role(role: str, agency: Agency | None) -> None:
    if role not in set(Role):
        raise StaffError(_("Unknown role %(role)s.", role=role))
    if role == Role.MANAGER and agency is None:
        raise StaffError(_("A manager needs an agency."))
    if role != Role.MANAGER and agency is not None:
        raise StaffError(_("Only managers belong to an agency."))


def create_user(
    session: Session,
    actor: User | None,
    email: str,
    role: str,
    agency: Agency | None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account; return it with its password (generated when none is given)."""
    email = normalise_email(email)
    _check_role(role, agency)
    taken = _("An account with e-mail %(email)s already exists.", email=email)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise StaffError(taken)
    password = password or generate_password()
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        agency=agency,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", f"user:{email}", after=user_snapshot(user))
    _commit(session, taken)
    return user, password


def update_user(
    session: Session,
    actor: User | None,
    user: User,
    role: str,
    agency: Agency | None,
    active: bool,
) -> bool:
    """Change an account's role, agency or whether it may sign in; return False if unchanged."""
    _check_role(role, agency)
    if actor is not None and actor.id == user.id and (role != Role.ADMIN or not active):
        # Otherwise the last admin could lock everyone out of the console by mistake.
        raise StaffError(_("You cannot remove your own admin role or disable your own account."))
    before = user_snapshot(user)
    user.role = role
    user.agency = agency
    user.active = active
    after = user_snapshot(user)
    if after == before:
        return False
    audit.record(session, actor, "user.update", f"user:{user.email}", before, after)
    session.commit()
    return True


def reset_password(session: Session, actor: User | None, user: User) -> str:
    """Give `user` a new generated password and return it (to be shown once)."""
    password = generate_password()
    user.password_hash = hash_password(password)
    # The audit log says that the password changed, never what it is or its hash.
    audit.record(session, actor, "user.password", f"user:{user.email}")
    session.commit()
    return password
