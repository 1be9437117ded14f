"""The review of flagged responses: the list reviewers read, and their decisions, each audited.

A flagged response is kept but left out of every index. A reviewer either confirms that
(`excluded`) or puts it back (`valid`, with `reviewed_at` set: "restored"). Callers check who
may decide what (survey.permissions.may_decide); these functions check the data.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session, joinedload

from survey.codes import same_code
from survey.console import audit
from survey.flags import LABELS, Flag, decode_flags
from survey.models import Agency, Counter, Response, ResponseStatus, User, utcnow
from survey.questionnaires.loading import check
from survey.timeutil import day_number

PAGE_SIZE = 50
DECISIONS = {"exclude": ResponseStatus.EXCLUDED, "restore": ResponseStatus.VALID}
# Which responses the list shows: awaiting review (the default), or after a decision.
STATES = {
    "flagged": _l("Flagged, awaiting review"),
    "excluded": _l("Excluded"),
    "restored": _l("Restored"),
    "all": _l("All reviewed or flagged"),
}
# Words for the evidence the submission stores (survey/citizen/flagging.py); others show as is.
EVIDENCE_LABELS = {
    "seconds": _l("seconds taken"),
    "minimum_seconds": _l("minimum seconds"),
    "in_window": _l("responses in the window"),
    "limit": _l("limit"),
    "window_seconds": _l("window (seconds)"),
    "opened": _l("form opened at (Vietnam time)"),
    "window": _l("counted per"),
}
# What a repeat or burst window counted responses of (flagging._window_evidence).
WINDOW_WORDS = {
    "session": _l("one browser session at the counter"),
    "address": _l("one address at the counter"),
    "counter": _l("the whole counter"),
}
FILTER_PARAMS = ("agency", "counter", "day", "reason", "state", "page")


class ReviewFilterError(ValueError):
    """A review filter that cannot be used; `param` is its URL name."""

    def __init__(self, param: str, message: str):
        self.param = param
        super().__init__(message)


@dataclass(frozen=True)
class ReviewFilters:
    """What the review list is asked to show, checked against what the user may see."""

    agency: Agency | None = None
    counter: Counter | None = None
    day: date | None = None
    reason: Flag | None = None
    state: str = "flagged"
    page: int = 1

    def query(self, **changes) -> dict:
        """Return the filters as URL arguments (with `changes`), leaving defaults out."""
        args = {
            "agency": self.agency.code if self.agency else None,
            "counter": self.counter.code if self.counter else None,
            "day": self.day.isoformat() if self.day else None,
            "reason": self.reason.value if self.reason else None,
            "state": self.state if self.state != "flagged" else None,
            "page": self.page if self.page != 1 else None,
        } | changes
        return {k: v for k, v in args.items() if v is not None}


def parse_review_filters(session: Session, args, visible: set[int]) -> ReviewFilters:
    """Read the review filters from URL arguments; a bad one raises ReviewFilterError.

    An agency or counter the user may not see is reported as unknown, like a missing one.
    """
    agency = counter = None
    if code := (args.get("agency") or "").strip():
        agency = session.scalar(select(Agency).where(same_code(Agency.code, code)))
        if agency is None or agency.id not in visible:
            raise ReviewFilterError("agency", _("Unknown agency: %(code)s", code=code))
    if code := (args.get("counter") or "").strip():
        counter = session.scalar(select(Counter).where(same_code(Counter.code, code)))
        if counter is None or counter.agency_id not in visible:
            raise ReviewFilterError("counter", _("Unknown counter: %(code)s", code=code))
    day = None
    if text := (args.get("day") or "").strip():
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise ReviewFilterError(
                "day", _("'%(v)s' is not a date (YYYY-MM-DD).", v=text)
            ) from error
    reason = None
    if text := (args.get("reason") or "").strip():
        try:
            reason = Flag(text)
        except ValueError as error:
            raise ReviewFilterError("reason", _("Unknown reason: %(r)s", r=text)) from error
    state = (args.get("state") or "flagged").strip()
    if state not in STATES:
        raise ReviewFilterError("state", _("Unknown state: %(s)s", s=state))
    try:
        page = int(args.get("page") or 1)
    except ValueError:
        page = 0
    if page < 1:
        raise ReviewFilterError("page", _("The page must be a whole number from 1."))
    return ReviewFilters(agency, counter, day, reason, state, page)


def _reviewable():
    """Responses a reviewer deals with: flagged now, or flagged or decided before."""
    return or_(
        Response.status != ResponseStatus.VALID,
        Response.flags.is_not(None),
        Response.reviewed_at.is_not(None),
    )


def _has_flag(flag: Flag):
    # Codes are stored joined by commas: match a whole code, never a part of another.
    return (literal(",").concat(Response.flags).concat(",")).like(f"%,{flag.value},%")


def _state(state: str):
    if state == "flagged":
        return Response.status == ResponseStatus.FLAGGED
    if state == "excluded":
        return Response.status == ResponseStatus.EXCLUDED
    if state == "restored":
        return (Response.status == ResponseStatus.VALID) & Response.reviewed_at.is_not(None)
    return literal(True)


@dataclass(frozen=True)
class Reason:
    """One reason a response was flagged, in words, with its evidence as (label, value) pairs."""

    code: str
    label: str
    evidence: list[tuple[str, str]]


@dataclass(frozen=True)
class ReviewRow:
    """A response as the review list shows it."""

    response: Response
    seconds: float | None
    reasons: list[Reason]
    answers: list[tuple[str, int | None]]
    reviewer: str | None = None


@dataclass(frozen=True)
class ReviewPage:
    """One page of the review list, newest first."""

    rows: list[ReviewRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value != int(value) else str(int(value))
    return str(value)


def reasons_of(flags: str | None, evidence: dict | None) -> list[Reason]:
    """Return the reasons of a stored response with their evidence shown readably."""
    evidence = evidence if isinstance(evidence, dict) else {}
    found = []
    codes = [f.value for f in decode_flags(flags)]
    # Evidence under a code that is not (or no longer) a flag is still shown, under its code.
    codes += [code for code in evidence if code not in codes]
    for code in codes:
        facts = evidence.get(code)
        if isinstance(facts, dict):
            items = [
                (
                    str(EVIDENCE_LABELS.get(k, k)),
                    str(WINDOW_WORDS.get(v, v)) if k == "window" else _value(v),
                )
                for k, v in facts.items()
            ]
        elif facts is not None:
            items = [("", _value(facts))]
        else:
            items = []
        label = LABELS.get(Flag(code)) if code in set(Flag) else None
        found.append(Reason(code, str(label or code), items))
    return found


def _answers(response: Response, cache: dict) -> list[tuple[str, int | None]]:
    """Return (item key, answer) of `response`, read with its own questionnaire version."""
    version = response.questionnaire
    if version.id not in cache:
        try:
            cache[version.id] = check(
                version.definition, f"{version.slug} v{version.version}", strict=False
            )
        except ValueError:  # a broken stored definition: show the raw digits instead
            cache[version.id] = None
    definition = cache[version.id]
    if definition is not None:
        try:
            return list(definition.decode_scores(response.scores).items())
        except ValueError:
            pass
    return [(str(i + 1), int(ch) or None) for i, ch in enumerate(response.scores or "")]


def review_page(session: Session, filters: ReviewFilters, visible: set[int]) -> ReviewPage:
    """Return the page of responses to review that `filters` ask for, among `visible` agencies."""
    where = [_reviewable(), Response.agency_id.in_(visible or {-1})]
    if filters.agency is not None:
        where.append(Response.agency_id == filters.agency.id)
    if filters.counter is not None:
        where.append(Response.counter_id == filters.counter.id)
    if filters.day is not None:
        where.append(Response.local_day == day_number(filters.day))
    if filters.reason is not None:
        where.append(_has_flag(filters.reason))
    counts = dict(
        session.execute(
            select(Response.status, func.count()).where(*where).group_by(Response.status)
        ).all()
    )
    where.append(_state(filters.state))
    total = session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    found = session.scalars(
        select(Response)
        .options(
            joinedload(Response.agency),
            joinedload(Response.counter),
            joinedload(Response.questionnaire),
        )
        .where(*where)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    reviewers = {r.reviewed_by_id for r in found if r.reviewed_by_id}
    emails = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(reviewers))).all())
        if reviewers
        else {}
    )
    cache: dict = {}
    rows = [
        ReviewRow(
            response=r,
            seconds=r.answer_seconds,
            reasons=reasons_of(r.flags, r.evidence),
            answers=_answers(r, cache),
            reviewer=emails.get(r.reviewed_by_id),
        )
        for r in found
    ]
    return ReviewPage(rows, page, pages, total, counts)


def reviewable_or_none(session: Session, ids: list[int], visible: set[int]) -> list[Response]:
    """Return the responses `ids` if every one is reviewable in `visible` agencies, else None."""
    wanted = set(ids)
    if not wanted or not visible:
        return [] if not wanted else None
    found = session.scalars(
        select(Response)
        .options(joinedload(Response.agency), joinedload(Response.counter))
        .where(Response.id.in_(wanted), Response.agency_id.in_(visible), _reviewable())
        .order_by(Response.id)
    ).all()
    return list(found) if len(found) == len(wanted) else None


def decide(session: Session, actor: User, responses: list[Response], decision: str) -> int:
    """Exclude or restore `responses`, one audit entry each; return how many changed.

    A response already in the decided state is left as it is, with no entry.
    """
    status = DECISIONS[decision]
    now = utcnow()
    changed = 0
    for response in responses:
        if response.status == status:
            continue
        # Where it was given and why it was flagged go in both snapshots: the audit page then
        # shows the status change alone, and the entry still names the response fully.
        before = {
            "status": response.status,
            "agency": response.agency.code,
            "counter": response.counter.code,
            "flags": response.flags,
        }
        response.status = status
        response.reviewed_at = now
        response.reviewed_by_id = actor.id
        after = before | {"status": status.value}
        target = f"response:{response.id}"
        audit.record(session, actor, f"response.{decision}", target, before, after)
        changed += 1
    session.commit()
    return changed
