"""The console: a role x page matrix, and each change a member of staff can make."""

import re

import pytest
from sqlalchemy import func, select
from test_console_support import PASSWORD, World, add_user, post

from survey import db
from survey.models import Agency, AuditEntry, Counter, ReplacedToken, User
from survey.receipt_links import issue_link

ROLES = {
    "admin": "admin@example.vn",
    "manager": "manager@example.vn",
    "evaluator": "evaluator@example.vn",
}

# (URL, {role: expected status}); ids are edited into other agencies' on purpose.
OK, GONE, DENIED, SEE_OTHER = 200, 404, 403, 303
GETS = [
    ("/console/", dict(admin=OK, manager=OK, evaluator=OK)),
    ("/console/agencies/{w.root}", dict(admin=OK, manager=GONE, evaluator=OK)),
    ("/console/agencies/{w.own}", dict(admin=OK, manager=OK, evaluator=OK)),
    ("/console/agencies/{w.own_child}", dict(admin=OK, manager=OK, evaluator=OK)),
    ("/console/agencies/{w.other}", dict(admin=OK, manager=GONE, evaluator=OK)),
    ("/console/agencies/NO-SUCH", dict(admin=GONE, manager=GONE, evaluator=GONE)),
    ("/console/counters/{w.counter_own}", dict(admin=OK, manager=OK, evaluator=OK)),
    ("/console/counters/{w.counter_child}", dict(admin=OK, manager=OK, evaluator=OK)),
    ("/console/counters/{w.counter_other}", dict(admin=OK, manager=GONE, evaluator=OK)),
    ("/console/counters/987654", dict(admin=GONE, manager=GONE, evaluator=GONE)),
    ("/console/counters/{w.counter_own}/qr.svg", dict(admin=OK, manager=OK, evaluator=DENIED)),
    (
        "/console/counters/{w.counter_own}/qr.png?download=1",
        dict(admin=OK, manager=OK, evaluator=DENIED),
    ),
    ("/console/counters/{w.counter_other}/qr.svg", dict(admin=OK, manager=GONE, evaluator=DENIED)),
    ("/console/counters/{w.counter_other}/qr.png", dict(admin=OK, manager=GONE, evaluator=DENIED)),
    ("/console/counters/{w.counter_own}/poster.pdf", dict(admin=OK, manager=OK, evaluator=DENIED)),
    (
        "/console/counters/{w.counter_child}/poster.pdf?size=a6",
        dict(admin=OK, manager=OK, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_other}/poster.pdf",
        dict(admin=OK, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_other}/poster.pdf?size=a6",
        dict(admin=OK, manager=GONE, evaluator=DENIED),
    ),
    ("/console/agencies/{w.own}/posters.pdf", dict(admin=OK, manager=OK, evaluator=DENIED)),
    ("/console/agencies/{w.other}/posters.pdf", dict(admin=OK, manager=GONE, evaluator=DENIED)),
    (
        "/console/agencies/{w.root}/posters.pdf?size=a6",
        dict(admin=OK, manager=GONE, evaluator=DENIED),
    ),
    ("/console/receipts", dict(admin=OK, manager=OK, evaluator=DENIED)),
    ("/console/receipts/qr.svg?link={link_own}", dict(admin=OK, manager=OK, evaluator=DENIED)),
    ("/console/receipts/qr.png?link={link_other}", dict(admin=OK, manager=GONE, evaluator=DENIED)),
    ("/console/users", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    ("/console/users/new", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    ("/console/users/{manager_id}", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    ("/console/agencies/new", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    ("/console/agencies/{w.own}/edit", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    ("/console/audit", dict(admin=OK, manager=DENIED, evaluator=DENIED)),
]
# Run in this order on a fresh database for each role; allowed changes are harmless to the rest.
POSTS = [
    (
        "/console/counters/{w.counter_other}",
        {"name": "Quầy đổi tên", "questionnaire": "counter-quick"},
        dict(admin=SEE_OTHER, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_other}/rotate",
        {},
        dict(admin=SEE_OTHER, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_other}/retire",
        {},
        dict(admin=SEE_OTHER, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_other}/reactivate",
        {},
        dict(admin=SEE_OTHER, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/agencies/{w.other}/counters",
        {"code": "NEW-O", "name": "Quầy mới", "questionnaire": "sipas-service"},
        dict(admin=SEE_OTHER, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/receipts",
        {"counter": "{w.counter_other}", "dossier": "H56-0001"},
        dict(admin=OK, manager=GONE, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_own}",
        {"name": "Quầy số 1", "questionnaire": "sipas-service"},
        dict(admin=SEE_OTHER, manager=SEE_OTHER, evaluator=DENIED),
    ),
    (
        "/console/counters/{w.counter_child}/rotate",
        {},
        dict(admin=SEE_OTHER, manager=SEE_OTHER, evaluator=DENIED),
    ),
    (
        "/console/agencies/{w.own_child}/counters",
        {"code": "NEW-X", "name": "Quầy mới", "questionnaire": "sipas-service"},
        dict(admin=SEE_OTHER, manager=SEE_OTHER, evaluator=DENIED),
    ),
    (
        "/console/receipts",
        {"counter": "{w.counter_own}", "dossier": "H56-0002"},
        dict(admin=OK, manager=OK, evaluator=DENIED),
    ),
    (
        "/console/users/new",
        {"email": "new@example.vn", "role": "evaluator", "agency": ""},
        dict(admin=OK, manager=DENIED, evaluator=DENIED),
    ),
    ("/console/users/{manager_id}/password", {}, dict(admin=OK, manager=DENIED, evaluator=DENIED)),
    (
        "/console/users/{manager_id}",
        {"role": "manager", "agency": "OTHER", "active": "y"},
        dict(admin=SEE_OTHER, manager=DENIED, evaluator=DENIED),
    ),
    (
        "/console/agencies/new",
        {"code": "NEW-A", "name_vi": "Sở mới", "name_en": "", "level": "department", "parent": ""},
        dict(admin=SEE_OTHER, manager=DENIED, evaluator=DENIED),
    ),
    (
        "/console/agencies/{w.other}/edit",
        {"name_vi": "Sở Xây dựng", "name_en": "", "level": "department", "parent": "ROOT"},
        dict(admin=SEE_OTHER, manager=DENIED, evaluator=DENIED),
    ),
]


def _values(app, world: World) -> dict:
    with app.app_context():
        session = db.session()
        manager_id = session.scalar(select(User.id).where(User.email == ROLES["manager"]))
        links = {
            "link_own": issue_link(session.get(Counter, world.counter_own), "D-1").signed,
            "link_other": issue_link(session.get(Counter, world.counter_other), "D-2").signed,
        }
    return {"w": world, "manager_id": manager_id, **links}


def _snapshot(app) -> dict:
    with app.app_context():
        session = db.session()
        return {
            "counters": sorted(
                (c.code, c.name, c.token, c.active, c.questionnaire_slug, c.agency_id)
                for c in session.scalars(select(Counter))
            ),
            "agencies": sorted(
                (a.code, a.name_vi, a.parent_id) for a in session.scalars(select(Agency))
            ),
            "users": sorted(
                (u.email, u.role, u.agency_id, u.active, u.password_hash)
                for u in session.scalars(select(User))
            ),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
        }


@pytest.mark.parametrize("role", ["admin", "manager", "evaluator"])
def test_every_role_gets_exactly_its_pages(app, client, world, role, login):
    values = _values(app, world)
    login(client, ROLES[role])
    wrong = []
    for template, expected in GETS:
        url = template.format(**values)
        status = client.get(url).status_code
        if status != expected[role]:
            wrong.append(f"GET {url}: {status}, expected {expected[role]}")
    before = _snapshot(app)
    for template, data, expected in POSTS:
        url = template.format(**values)
        filled = {k: v.format(**values) for k, v in data.items()}
        status = post(client, url, filled).status_code
        if status != expected[role]:
            wrong.append(f"POST {url}: {status}, expected {expected[role]}")
    assert not wrong, "\n".join(wrong)
    after = _snapshot(app)
    if role == "evaluator":
        assert after == before, "an evaluator changed something"
    if role == "manager":
        other = [c for c in after["counters"] if c[0] == "C6"]
        assert other == [c for c in before["counters"] if c[0] == "C6"]
        assert "NEW-O" not in str(after) and after["users"] == before["users"]
        assert after["agencies"] == before["agencies"]


def test_signed_out_visitors_are_sent_to_the_sign_in_page(app, client, world):
    values = _values(app, world)
    for template, _expected in GETS:
        url = template.format(**values)
        reply = client.get(url)
        assert reply.status_code == 302, url
        assert reply.headers["Location"].startswith("/console/login?next="), url
    for template, data, _expected in POSTS:
        reply = post(client, template.format(**values), data)
        assert reply.status_code == 302
    assert client.post("/console/counters/1/rotate").status_code == 400  # no CSRF token


def test_manager_sees_only_own_subtree_everywhere(app, client, world, login):
    login(client, ROLES["manager"])
    index = client.get("/console/?lang=vi").get_data(as_text=True)
    assert "Sở Tư pháp tỉnh Minh Hòa" in index and "Phòng Hộ tịch" in index
    assert "Sở Xây dựng" not in index and "Ủy ban nhân dân tỉnh" not in index
    receipts = client.get("/console/receipts").get_data(as_text=True)
    codes = re.findall(r'<option[^>]*value="(\d+)"', receipts)
    assert sorted(map(int, codes)) == sorted([world.counter_own, world.counter_child])
    page = client.get(f"/console/agencies/{world.own}").get_data(as_text=True)
    assert "Ủy ban nhân dân tỉnh" not in page  # no breadcrumb above the manager's agency
    # The batch holds the manager's agency and the one below it: two pages.
    pdf = client.get(f"/console/agencies/{world.own}/posters.pdf").data
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b", pdf)) == 2


def test_evaluator_reads_but_sees_no_buttons_or_codes(app, client, world, login):
    login(client, ROLES["evaluator"])
    page = client.get(f"/console/counters/{world.counter_own}?lang=en").get_data(as_text=True)
    assert "Quầy số" in page
    assert "poster.pdf" not in page and "qr.svg" not in page and world.token_own not in page
    assert "<form" not in page.replace('action="/console/logout"', "").split("</header>")[1]
    agency = client.get(f"/console/agencies/{world.own}").get_data(as_text=True)
    assert "posters.pdf" not in agency and "New counter" not in agency
    assert "Receipt links" not in client.get("/console/").get_data(as_text=True)


def test_manager_creates_renames_retires_and_brings_back_a_counter(app, client, world, login):
    login(client, ROLES["manager"])
    reply = post(
        client,
        f"/console/agencies/{world.own}/counters",
        {"code": "STP-Q9", "name": "Quầy số 9", "questionnaire": "sipas-service"},
    )
    assert reply.status_code == 303
    counter_id = int(reply.headers["Location"].rsplit("/", 1)[1])
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Counter STP-Q9 created" in page and "Quầy số 9" in page
    duplicate = post(
        client,
        f"/console/agencies/{world.own}/counters",
        {"code": "STP-Q9", "name": "x", "questionnaire": "sipas-service"},
    )
    assert duplicate.status_code == 422
    assert "A counter with code STP-Q9 already exists." in duplicate.get_data(as_text=True)
    bad = post(
        client,
        f"/console/agencies/{world.own}/counters",
        {"code": "has space", "name": "", "questionnaire": "nope"},
    )
    assert bad.status_code == 422

    assert (
        post(
            client,
            f"/console/counters/{counter_id}",
            {"name": "Quầy số 9 – Hộ tịch", "questionnaire": "counter-quick"},
        ).status_code
        == 303
    )
    with app.app_context():
        counter = db.session().get(Counter, counter_id)
        assert (counter.name, counter.questionnaire_slug) == (
            "Quầy số 9 – Hộ tịch",
            "counter-quick",
        )
        token = counter.token
    assert client.get(f"/s/{token}").status_code == 200

    assert post(client, f"/console/counters/{counter_id}/retire").status_code == 303
    gone = client.get(f"/s/{token}")
    assert gone.status_code == 404 and "no longer valid" in gone.get_data(as_text=True)
    assert client.get(f"/console/counters/{counter_id}/poster.pdf").status_code == 404
    assert post(client, f"/console/counters/{counter_id}/reactivate").status_code == 303
    assert client.get(f"/s/{token}").status_code == 200

    with app.app_context():
        entries = (
            db.session()
            .scalars(
                select(AuditEntry)
                .where(AuditEntry.target == "counter:STP-Q9")
                .order_by(AuditEntry.id)
            )
            .all()
        )
        manager = db.session().scalar(select(User).where(User.email == ROLES["manager"]))
        assert [e.action for e in entries] == [
            "counter.create",
            "counter.update",
            "counter.retire",
            "counter.reactivate",
        ]
        assert all(e.user_id == manager.id for e in entries)
        update = entries[1]
        assert (
            update.before["name"] == "Quầy số 9" and update.after["name"] == "Quầy số 9 – Hộ tịch"
        )
        assert (update.before["questionnaire"], update.after["questionnaire"]) == (
            "sipas-service",
            "counter-quick",
        )
        assert entries[2].before["active"] is True and entries[2].after["active"] is False


def test_rotated_token_shows_the_replaced_page_and_the_new_one_works(app, client, world, login):
    login(client, ROLES["manager"])
    old = world.token_own
    assert client.get(f"/s/{old}").status_code == 200
    reply = post(client, f"/console/counters/{world.counter_own}/rotate")
    assert reply.status_code == 303
    assert "new QR code" in client.get(reply.headers["Location"] + "?lang=en").get_data(
        as_text=True
    )
    with app.app_context():
        session = db.session()
        new = session.get(Counter, world.counter_own).token
        assert new != old and session.get(ReplacedToken, old).counter_id == world.counter_own
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "counter.rotate")
        ).one()
        assert entry.before == {"token": old} and entry.after == {"token": new}
    replaced = client.get(f"/s/{old}?lang=en")
    assert replaced.status_code == 410
    assert "This poster has been replaced" in replaced.get_data(as_text=True)
    assert client.get(f"/s/{new}").status_code == 200
    # The console's QR code and poster now carry the new address.
    svg_page = client.get(f"/console/counters/{world.counter_own}").get_data(as_text=True)
    assert f"survey.test/s/{new}" in svg_page and old not in svg_page
    # Rotating twice keeps both old posters pointing at the "replaced" page.
    post(client, f"/console/counters/{world.counter_own}/rotate")
    assert client.get(f"/s/{old}").status_code == 410
    assert client.get(f"/s/{new}").status_code == 410


def test_admin_manages_agencies_and_the_audit_log_shows_before_and_after(app, client, world, login):
    login(client, ROLES["admin"])
    created = post(
        client,
        "/console/agencies/new",
        {
            "code": "OWN-Y",
            "name_vi": "Ủy ban nhân dân xã Đông Thạnh",
            "name_en": "",
            "level": "commune",
            "parent": world.own,
        },
    )
    assert created.status_code == 303 and created.headers["Location"].endswith("/OWN-Y")
    again = post(
        client,
        "/console/agencies/new",
        {"code": "OWN-Y", "name_vi": "x", "name_en": "", "level": "commune", "parent": ""},
    )
    assert again.status_code == 422
    # The parent list of an agency leaves out the agency itself and everything below it.
    edit = client.get(f"/console/agencies/{world.own}/edit").get_data(as_text=True)
    assert f'<option selected value="{world.root}">' in edit  # the current parent
    assert '<option selected value="department">' in edit
    options = re.findall(r'<option[^>]*value="([^"]*)"', edit)
    assert world.root in options and world.own not in options and "OWN-Y" not in options
    loop = post(
        client,
        f"/console/agencies/{world.own}/edit",
        {"name_vi": "Sở Tư pháp", "name_en": "", "level": "department", "parent": "OWN-Y"},
    )
    assert loop.status_code == 422
    moved = post(
        client,
        "/console/agencies/OWN-Y/edit",
        {
            "name_vi": "Ủy ban nhân dân xã Đông Thạnh",
            "name_en": "Dong Thanh",
            "level": "commune",
            "parent": world.other,
        },
    )
    assert moved.status_code == 303

    log = client.get("/console/audit?lang=en").get_data(as_text=True)
    assert "Agency created" in log and "Agency changed" in log and "admin@example.vn" in log
    assert "Ủy ban nhân dân xã Đông Thạnh" in log
    with app.app_context():
        entry = (
            db.session()
            .scalars(select(AuditEntry).where(AuditEntry.action == "agency.update"))
            .one()
        )
        assert entry.before["name_en"] != entry.after["name_en"] == "Dong Thanh"
        assert (entry.before["parent"], entry.after["parent"]) == (world.own, world.other)
    # The accounts made on the command line show as such.
    assert "(command line)" in log


def test_admin_creates_an_account_whose_password_is_shown_once(app, client, world, login):
    login(client, ROLES["admin"])
    reply = post(
        client,
        "/console/users/new",
        {"email": " New.Manager@Example.vn ", "role": "manager", "agency": world.own},
    )
    assert reply.status_code == 200
    password = re.search(r'<span class="secret">([^<]+)</span>', reply.get_data(as_text=True))[1]
    assert len(password) >= 20
    with app.app_context():
        user = db.session().scalar(select(User).where(User.email == "new.manager@example.vn"))
        assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash
        entry = (
            db.session()
            .scalars(select(AuditEntry).where(AuditEntry.target == "user:new.manager@example.vn"))
            .one()
        )
        assert password not in str(entry.after) and "password" not in str(entry.after)
    # A manager needs an agency; an admin or evaluator has none.
    assert (
        post(
            client, "/console/users/new", {"email": "x@example.vn", "role": "manager", "agency": ""}
        ).status_code
        == 422
    )
    assert (
        post(
            client,
            "/console/users/new",
            {"email": "y@example.vn", "role": "evaluator", "agency": world.own},
        ).status_code
        == 422
    )
    other = app.test_client()
    login(other, "NEW.MANAGER@example.vn", password)
    assert other.get(f"/console/agencies/{world.own}").status_code == 200
    assert other.get(f"/console/agencies/{world.other}").status_code == 404


def test_disabling_an_account_ends_its_session_and_reset_replaces_the_password(
    app, client, world, login
):
    manager = app.test_client()
    login(manager, ROLES["manager"])
    assert manager.get("/console/").status_code == 200
    login(client, ROLES["admin"])
    with app.app_context():
        manager_id = db.session().scalar(select(User.id).where(User.email == ROLES["manager"]))
    form = client.get(f"/console/users/{manager_id}").get_data(as_text=True)
    assert f'<option selected value="{world.own}">' in form
    assert '<option selected value="manager">' in form
    assert re.search(r'<input checked[^>]* name="active"', form)
    reply = post(
        client, f"/console/users/{manager_id}", {"role": "manager", "agency": world.own}
    )  # "active" unticked
    assert reply.status_code == 303
    assert manager.get("/console/").status_code == 302
    login(app.test_client(), ROLES["manager"], expect=401)

    post(
        client,
        f"/console/users/{manager_id}",
        {"role": "manager", "agency": world.own, "active": "y"},
    )
    still = app.test_client()
    login(still, ROLES["manager"])
    reset = post(client, f"/console/users/{manager_id}/password")
    # A reset password ends the sessions opened with the old one.
    assert still.get("/console/").status_code == 302
    new_password = re.search(r'<span class="secret">([^<]+)</span>', reset.get_data(as_text=True))[
        1
    ]
    login(app.test_client(), ROLES["manager"], PASSWORD, expect=401)
    login(app.test_client(), ROLES["manager"], new_password)
    with app.app_context():
        actions = (
            db.session()
            .scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target == f"user:{ROLES['manager']}")
                .order_by(AuditEntry.id)
            )
            .all()
        )
        assert actions == ["user.create", "user.update", "user.update", "user.password"]


def test_an_admin_cannot_lock_themself_out(app, client, world, login):
    login(client, ROLES["admin"])
    with app.app_context():
        admin_id = db.session().scalar(select(User.id).where(User.email == ROLES["admin"]))
    reply = post(client, f"/console/users/{admin_id}", {"role": "evaluator", "agency": ""})
    assert reply.status_code == 422
    assert client.get("/console/users").status_code == 200


def test_poster_downloads_are_pdf_and_qr_codes_encode_the_survey_address(app, client, world, login):
    login(client, ROLES["manager"])
    for size in ("a4", "a6"):
        reply = client.get(f"/console/counters/{world.counter_own}/poster.pdf?size={size}")
        assert reply.mimetype == "application/pdf" and reply.data.startswith(b"%PDF")
        assert "poster-C" in reply.headers["Content-Disposition"]
    assert (
        client.get(f"/console/counters/{world.counter_own}/poster.pdf?size=a3").status_code == 404
    )
    svg = client.get(f"/console/counters/{world.counter_own}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<?xml")
    png = client.get(f"/console/counters/{world.counter_own}/qr.png?download=1")
    assert png.data.startswith(b"\x89PNG") and "attachment" in png.headers["Content-Disposition"]
    assert client.get(f"/console/counters/{world.counter_own}/qr.gif").status_code == 404


def test_console_pages_are_not_cached(app, client, world, login):
    login(client, ROLES["manager"])
    assert client.get("/console/").headers["Cache-Control"] == "no-store"


def test_manager_without_counters_gets_a_message_not_an_empty_pdf(app, client, make_agency, login):
    make_agency(code="EMPTY")
    add_user(app, "m@example.vn", "manager", "EMPTY")
    login(client, "m@example.vn")
    reply = client.get("/console/agencies/EMPTY/posters.pdf?lang=en")
    assert reply.status_code == 303
    assert "no active counter" in client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "no active counter" in client.get("/console/receipts").get_data(as_text=True)
