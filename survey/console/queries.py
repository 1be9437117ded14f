"""Queries of the console and the poster command: agency trees, counters, accounts, posters."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from survey.codes import same_code
from survey.links import survey_url
from survey.models import Agency, Counter, User
from survey.permissions import subtree_ids
from survey.printing.posters import PosterInfo
from survey.timeutil import VIETNAM


@dataclass(frozen=True)
class TreeRow:
    """One agency of an indented agency tree, with its number of active counters."""

    agency: Agency
    depth: int
    counters: int


def agency_tree(session: Session, ids: set[int]) -> list[TreeRow]:
    """Return the agencies `ids` depth first; an agency whose parent is not in `ids` is a root."""
    if not ids:
        return []
    agencies = session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)).all()
    counts = dict(
        session.execute(
            select(Counter.agency_id, func.count())
            .where(Counter.active, Counter.agency_id.in_(ids))
            .group_by(Counter.agency_id)
        ).all()
    )
    children: dict[int | None, list[Agency]] = {}
    for agency in agencies:
        parent = agency.parent_id if agency.parent_id in ids else None
        children.setdefault(parent, []).append(agency)
    rows: list[TreeRow] = []
    todo = [(agency, 0) for agency in reversed(children.get(None, []))]
    seen: set[int] = set()
    while todo:
        agency, depth = todo.pop()
        if agency.id in seen:
            continue
        seen.add(agency.id)
        rows.append(TreeRow(agency, depth, counts.get(agency.id, 0)))
        todo.extend((child, depth + 1) for child in reversed(children.get(agency.id, [])))
    return rows


def ancestors(agency: Agency, visible: set[int]) -> list[Agency]:
    """Return the visible agencies above `agency`, top first (for the breadcrumb)."""
    found = []
    current = agency.parent
    while current is not None and current.id in visible and len(found) < 50:
        found.append(current)
        current = current.parent
    return list(reversed(found))


def counters_of(session: Session, agency: Agency) -> list[Counter]:
    """Return `agency`'s own counters, active ones first, then by code."""
    return list(
        session.scalars(
            select(Counter)
            .where(Counter.agency_id == agency.id)
            .order_by(Counter.active.desc(), Counter.code)
        )
    )


def counters_in(session: Session, ids: set[int], active_only: bool = True) -> list[Counter]:
    """Return the counters of the agencies `ids`, by agency code and counter code."""
    if not ids:
        return []
    query = (
        select(Counter)
        .join(Counter.agency)
        .options(joinedload(Counter.agency))
        .where(Counter.agency_id.in_(ids))
        .order_by(Agency.code, Counter.code)
    )
    if active_only:
        query = query.where(Counter.active)
    return list(session.scalars(query))


def counter_code_taken(session: Session, code: str) -> bool:
    """Tell whether a counter already has `code`."""
    return session.scalar(select(Counter.id).where(same_code(Counter.code, code))) is not None


def agency_by_code(session: Session, code: str) -> Agency | None:
    """Return the agency with `code`, or None."""
    return session.scalar(select(Agency).where(same_code(Agency.code, code)))


def all_agencies(session: Session) -> list[Agency]:
    """Return every agency by code."""
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def all_users(session: Session) -> list[User]:
    """Return every account, by e-mail."""
    return list(session.scalars(select(User).options(joinedload(User.agency)).order_by(User.email)))


def active_counter_by_code(session: Session, code: str) -> Counter | None:
    """Return the active counter with `code`, or None."""
    return session.scalar(
        select(Counter)
        .options(joinedload(Counter.agency))
        .where(same_code(Counter.code, code), Counter.active)
    )


# ---------------------------------------------------------------- posters


def public_url(token: str) -> str:
    """Return the survey URL printed in a counter's QR code."""
    return survey_url(current_app.config["PUBLIC_BASE_URL"], token)


def short_address(url: str) -> str:
    """Return `url` without its scheme, as printed for people who type it."""
    return url.split("://", 1)[-1]


def poster_info(counter: Counter, today: datetime | None = None) -> PosterInfo:
    """Return what the poster of `counter` shows (in Vietnamese, the language of the counters)."""
    definitions = current_app.extensions["questionnaires"]
    definition = definitions.get(counter.questionnaire_slug)
    url = public_url(counter.token)
    return PosterInfo(
        agency_name=counter.agency.name_vi,
        counter_name=counter.name,
        url=url,
        short_url=short_address(url),
        questionnaire_name=definition.title("vi") if definition else counter.questionnaire_slug,
        printed_on=(today or datetime.now(VIETNAM)).date(),
    )


def posters_for_agency(session: Session, agency: Agency) -> list[PosterInfo]:
    """Return the posters of every active counter of `agency` and the agencies below it."""
    return [poster_info(c) for c in counters_in(session, subtree_ids(agency.id))]
