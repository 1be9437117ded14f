"""Helpers for the console, auth, receipt and poster tests (no tests here).

A small province for every role to look at: ROOT with two departments, OWN (which has a commune
below it, OWN-X) and OTHER; a counter in OWN, OWN-X and OTHER; one account per role, the manager
managing OWN. The `world` fixture that stores it and the `login` fixture are in conftest.
"""

import re
from dataclasses import dataclass

from helpers import hidden_fields
from sqlalchemy import select

from survey import db
from survey.console import operations as ops
from survey.models import Agency

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class World:
    """Codes and ids of the small province."""

    root: str
    own: str
    own_child: str
    other: str
    counter_own: int
    counter_child: int
    counter_other: int
    token_own: str
    token_other: str


def add_user(app, email: str, role: str, agency_code: str | None = None) -> int:
    """Store an account with PASSWORD and return its id."""
    with app.app_context():
        session = db.session()
        agency = None
        if agency_code:
            agency = session.scalar(select(Agency).where(Agency.code == agency_code))
        user, _ = ops.create_user(session, None, email, role, agency, PASSWORD)
        return user.id


def build_world(app, make_agency, make_counter) -> World:
    """Store the small province and one account per role."""
    root = make_agency(code="ROOT", name_vi="Ủy ban nhân dân tỉnh Minh Hòa", level="province")
    own = make_agency(code="OWN", name_vi="Sở Tư pháp tỉnh Minh Hòa", parent=root)
    own_child = make_agency(code="OWN-X", name_vi="Phòng Hộ tịch", level="commune", parent=own)
    other = make_agency(code="OTHER", name_vi="Sở Xây dựng tỉnh Minh Hòa", parent=root)
    c_own, c_child, c_other = (make_counter(agency=a) for a in (own, own_child, other))
    add_user(app, "admin@example.vn", "admin")
    add_user(app, "manager@example.vn", "manager", "OWN")
    add_user(app, "evaluator@example.vn", "evaluator")
    return World(
        "ROOT",
        "OWN",
        "OWN-X",
        "OTHER",
        c_own.id,
        c_child.id,
        c_other.id,
        c_own.token,
        c_other.token,
    )


def csrf(client) -> str:
    """Return a CSRF token of the client's session (from the sign-in page or the console)."""
    html = client.get("/console/login?lang=en").get_data(as_text=True)
    if "csrf_token" not in html:
        html = client.get("/console/?lang=en").get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    return match.group(1) if match else hidden_fields(html)["csrf_token"]


def post(client, url: str, data: dict | None = None):
    """POST `data` to `url` with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf(client), **(data or {})})
