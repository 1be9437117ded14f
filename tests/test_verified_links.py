"""Verified means verified: only a receipt link the API issued makes a verified response; a link
staff made in the console, or one in the format from before the origin, is "issued by staff";
every link issued is in the audit log, without the dossier code."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from helpers import full_answers, hidden_fields
from itsdangerous import TimestampSigner
from sqlalchemy import select, update
from test_console_support import add_user, csrf, post

from survey import create_app, db
from survey.models import AuditEntry, Channel, Counter, Response, User
from survey.receipt_links import SALT, LinkOrigin, dossier_hash, issue_link, read_link
from survey.results.filters import ResultsRequest, verified_shares

TOKEN = "case-software-token-0123456789"
DOSSIER = "000.00.12.H56-241105-0001"
BASE = "http://survey.test"


@pytest.fixture
def app(app_config):
    """Return the app (the API token is stored by `api_token`)."""
    application = create_app(app_config)
    yield application
    db.dispose_engines(application)


@pytest.fixture(autouse=True)
def api_token(make_token):
    """Store TOKEN, the API token of an admin account named "case software"."""
    make_token("case-software@example.vn", plain=TOKEN, name="case software")


@pytest.fixture
def counter(make_counter, make_agency):
    """Return a counter of the agency a manager will sign in for."""
    return make_counter(agency=make_agency(code="MH-STP", name_vi="Sở Tư pháp tỉnh Minh Hòa"))


def api_link(client, counter, dossier: str = DOSSIER) -> str:
    """Return the path of a receipt link issued through the API."""
    reply = client.post(
        "/api/v1/receipts",
        json={"counter": counter.code, "dossier": dossier},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status_code == 201
    return reply.json["url"].removeprefix(BASE)


def console_link(client, counter, dossier: str = DOSSIER) -> str:
    """Return the path of a receipt link a signed-in member of staff made in the console."""
    reply = post(client, "/console/receipts", {"counter": counter.id, "dossier": dossier})
    assert reply.status_code == 200
    return reply.get_data(as_text=True).split('<p class="url">')[1].split("</p>")[0][len(BASE) :]


def answer(path: str, app) -> int:
    """Answer the receipt form at `path` from a citizen's own browser; return the status."""
    citizen = app.test_client()
    page = citizen.get(path)
    assert page.status_code == 200
    fields = hidden_fields(page.get_data(as_text=True))
    return citizen.post(path, data=fields | full_answers("5")).status_code


def channels(app) -> list[str]:
    """Return the channels of the stored responses, sorted."""
    with app.app_context():
        return sorted(db.session().scalars(select(Response.channel)).all())


def audit_entries(app) -> list[AuditEntry]:
    """Return the audit entries about receipt links, oldest first."""
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action.like("receipt.%"))
        return db.session().scalars(query.order_by(AuditEntry.id)).all()


def old_format_link(app, counter_id: int, dossier: str) -> str:
    """Return the path of a link as made before links carried their origin."""
    with app.app_context():
        raw = bytes.fromhex(dossier_hash(dossier))
        secret = app.config["SECRET_KEY"]
    digest = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    signer = TimestampSigner(secret, salt=SALT, digest_method=hashlib.sha256)
    return "/r/" + signer.sign(f"{counter_id}.{digest}").decode()


def test_only_api_links_make_verified_responses(app, client, counter, login):
    add_user(app, "m@example.vn", "manager", "MH-STP")
    login(client, "m@example.vn")
    assert answer(console_link(client, counter, "H56-STAFF-1"), app) == 303
    assert answer(console_link(client, counter, "H56-STAFF-2"), app) == 303
    assert answer(api_link(client, counter, "H56-API-1"), app) == 303
    poster = app.test_client()
    hidden = hidden_fields(poster.get(f"/s/{counter.token}").get_data(as_text=True))
    assert poster.post(f"/s/{counter.token}", data=hidden | full_answers()).status_code == 303
    assert channels(app) == [Channel.QR, Channel.RECEIPT, Channel.STAFF_LINK, Channel.STAFF_LINK]
    with app.app_context():
        session = db.session()
        # Answered in a split second, they may be flagged at submission; what is checked here is
        # the share among responses that count, so count them all.
        session.execute(update(Response).values(status="valid"))
        session.commit()
        agency_id = session.get(Counter, counter.id).agency_id
        shares = verified_shares(session, ResultsRequest(), {agency_id})
    # One response of four is verified: the API link's; the staff links' are not.
    assert shares == {agency_id: pytest.approx(25.0)}


def test_the_origin_is_signed_and_read_back(app, counter):
    with app.app_context():
        found = db.session().get(Counter, counter.id)
        api = issue_link(found, DOSSIER, origin=LinkOrigin.API)
        staff = issue_link(found, DOSSIER)  # staff unless said otherwise
        assert read_link(api.signed).channel is Channel.RECEIPT
        assert read_link(staff.signed).channel is Channel.STAFF_LINK
        assert api.signed.split(".")[2] == "a" and staff.signed.split(".")[2] == "s"


def test_an_old_format_link_still_opens_but_is_a_staff_link(app, counter):
    path = old_format_link(app, counter.id, DOSSIER)
    assert path.count(".") == 3  # counter, hash, time, signature: no origin
    assert answer(path, app) == 303
    assert channels(app) == [Channel.STAFF_LINK]
    with app.app_context():
        (response,) = db.session().scalars(select(Response)).all()
        assert response.dossier_hash == dossier_hash(DOSSIER)
    # Still one evaluation per dossier, whatever the link's format.
    again = app.test_client().get(api_link(app.test_client(), counter))
    assert again.status_code == 409


@pytest.mark.parametrize("change", ["to-api", "to-staff", "removed", "unknown"])
def test_a_link_whose_origin_was_changed_is_refused_as_tampered(
    app, client, counter, login, change
):
    add_user(app, "m@example.vn", "manager", "MH-STP")
    login(client, "m@example.vn")
    genuine = api_link(client, counter) if change == "to-staff" else console_link(client, counter)
    prefix, signed = genuine.rsplit("/", 1)
    counter_id, digest, origin, stamp, signature = signed.split(".")
    new_origin = {"to-api": ".a", "to-staff": ".s", "removed": "", "unknown": ".x"}[change]
    assert new_origin != f".{origin}"
    tampered = f"{prefix}/{counter_id}.{digest}{new_origin}.{stamp}.{signature}"
    citizen = app.test_client()
    page = citizen.get(tampered + "?lang=en")
    assert page.status_code == 404
    assert "This evaluation link is not valid" in page.get_data(as_text=True)
    fields = hidden_fields(citizen.get(genuine).get_data(as_text=True))
    assert citizen.post(tampered, data=fields | full_answers()).status_code == 404
    assert channels(app) == []


def assert_no_dossier_code(entry: AuditEntry) -> None:
    """Fail if any part of the entry holds the dossier code (or its distinctive part)."""
    text = str([entry.action, entry.target, entry.before, entry.after])
    assert "H56" not in text and "241105" not in text


def test_each_link_issued_through_the_api_is_in_the_audit_log(app, client, counter):
    before = datetime.now(UTC)
    reply = client.post(
        "/api/v1/receipts",
        json={"counter": counter.code, "dossier": DOSSIER},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status_code == 201
    (entry,) = audit_entries(app)
    assert entry.action == "receipt.api"
    # The entry names who issued it: the token's owner, and which of their tokens.
    with app.app_context():
        assert db.session().get(User, entry.user_id).email == "case-software@example.vn"
    assert entry.after["token"] == "case software"
    assert entry.target == f"counter:{counter.code}"
    assert entry.after["issued_by"] == "api" and entry.after["counter"] == counter.code
    # The same moment as the API's answer, in Vietnam's time as every time on the audit page.
    expires = datetime.fromisoformat(entry.after["expires_at"])
    assert entry.after["expires_at"].endswith("+07:00")
    api_said = datetime.strptime(reply.json["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires == api_said.replace(tzinfo=UTC)
    assert abs(expires - (before + timedelta(days=30))) < timedelta(minutes=1)
    with app.app_context():
        assert entry.after["dossier_hash"] == dossier_hash(DOSSIER)[:8]
    assert_no_dossier_code(entry)
    # A second link for the same dossier is issued, so it is recorded too.
    api_link(client, counter)
    assert len(audit_entries(app)) == 2


def test_each_link_made_in_the_console_is_in_the_audit_log(app, client, counter, login):
    manager = add_user(app, "m@example.vn", "manager", "MH-STP")
    login(client, "m@example.vn")
    refused = post(client, "/console/receipts", {"counter": counter.id, "dossier": " "})
    assert refused.status_code == 422 and audit_entries(app) == []
    console_link(client, counter)
    (entry,) = audit_entries(app)
    assert entry.action == "receipt.staff" and entry.user_id == manager
    assert entry.target == f"counter:{counter.code}" and entry.after["issued_by"] == "staff"
    assert entry.after["expires_at"].endswith("+07:00")
    assert_no_dossier_code(entry)


def test_the_audit_page_names_both_kinds_in_vietnamese(app, client, counter, login):
    add_user(app, "admin@example.vn", "admin")
    add_user(app, "m@example.vn", "manager", "MH-STP")
    api_link(app.test_client(), counter)
    staff = app.test_client()
    login(staff, "m@example.vn")
    console_link(staff, counter)
    login(client, "admin@example.vn")
    html = client.get("/console/audit?lang=vi").get_data(as_text=True)
    assert "Cấp đường dẫn đánh giá qua API" in html and "case-software@example.vn" in html
    assert "Cán bộ tạo đường dẫn đánh giá (không xác thực)" in html and "m@example.vn" in html
    assert "H56" not in html and "receipt.api" not in html.split("<table", 1)[-1]


def test_the_console_page_says_its_links_are_not_verified(app, client, counter, login):
    add_user(app, "m@example.vn", "manager", "MH-STP")
    login(client, "m@example.vn")
    page = client.get("/console/receipts?lang=vi").get_data(as_text=True)
    assert "được đánh dấu “do cán bộ cấp”" in page
    assert "không bao giờ được tính là phiếu đã xác thực" in page
    form = {"csrf_token": csrf(client), "counter": counter.id, "dossier": DOSSIER}
    made = client.post("/console/receipts?lang=vi", data=form).get_data(as_text=True)
    assert "Người cấp: <strong>cán bộ (không xác thực)</strong>" in made
