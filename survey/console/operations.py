"""Changes made by staff (agencies, counters, accounts), each committed with its audit entry.

Callers check permissions first (survey.permissions); these functions check the data: codes
unique, a manager's agency given, an agency not placed below itself.
"""

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.codes import same_code
from survey.console import audit
from survey.console.passwords import generate_password, hash_password, normalise_email
from survey.links import new_token
from survey.models import Agency, Counter, ReplacedToken, User, utcnow
from survey.permissions import Role


class StaffError(ValueError):
    """A change that cannot be made; the message says why, in the user's language."""


# ---------------------------------------------------------------- snapshots for the audit log


def counter_snapshot(counter: Counter) -> dict:
    """Return the audited fields of `counter`."""
    return {
        "code": counter.code,
        "name": counter.name,
        "agency": counter.agency.code,
        "questionnaire": counter.questionnaire_slug,
        "active": counter.active,
    }


def agency_snapshot(agency: Agency) -> dict:
    """Return the audited fields of `agency`."""
    return {
        "code": agency.code,
        "name_vi": agency.name_vi,
        "name_en": agency.name_en,
        "level": agency.level,
        "parent": agency.parent.code if agency.parent else None,
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
    session: Session, actor: User | None, counter: Counter, name: str, questionnaire_slug: str
) -> bool:
    """Rename `counter` and set its questionnaire; return False when nothing changed."""
    before = counter_snapshot(counter)
    counter.name = name.strip()
    counter.questionnaire_slug = questionnaire_slug
    after = counter_snapshot(counter)
    if after == before:
        return False
    audit.record(session, actor, "counter.update", f"counter:{counter.code}", before, after)
    session.commit()
    return True


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
) -> Agency:
    """Create an agency below `parent` (None for a top-level agency)."""
    code = code.strip()
    taken = _("An agency with code %(code)s already exists.", code=code)
    if session.scalar(select(Agency.id).where(same_code(Agency.code, code))) is not None:
        raise StaffError(taken)
    agency = Agency(
        code=code,
        name_vi=name_vi.strip(),
        name_en=(name_en or name_vi).strip(),
        level=level,
        parent=parent,
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
) -> bool:
    """Rename, re-level or move `agency`; return False when nothing changed."""
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
    after = agency_snapshot(agency)
    if after == before:
        return False
    audit.record(session, actor, "agency.update", f"agency:{agency.code}", before, after)
    session.commit()
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
