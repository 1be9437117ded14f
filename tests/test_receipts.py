"""Receipt links: the API and the console make them; `/r/<signed>` takes one evaluation per
dossier; tampered, expired and reused links store nothing."""

import base64
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from helpers import full_answers, hidden_fields
from PIL import Image
from sqlalchemy import func, select
from test_console_support import add_user, post

from survey import create_app, db
from survey.console.operations import update_counter
from survey.models import AuditEntry, Channel, Counter, Response
from survey.receipt_links import LinkOrigin, dossier_hash, issue_link

TOKEN = "case-software-token-0123456789"
DOSSIER = "000.00.12.H56-241105-0001"


@pytest.fixture
def app(app_config):
    """Return an app with the receipt pages registered and links valid for 7 days."""
    application = create_app(app_config | {"RECEIPT_LINK_DAYS": 7})
    yield application
    db.dispose_engines(application)


@pytest.fixture(autouse=True)
def api_token(make_token):
    """Store TOKEN, an admin's API token (test_api_tokens.py covers the other roles)."""
    make_token("case-software@example.vn", plain=TOKEN)


@pytest.fixture
def counter(make_counter, make_agency):
    """Return a counter of an agency with a Vietnamese name."""
    agency = make_agency(code="MH-STP", name_vi="Sở Tư pháp tỉnh Minh Hòa")
    return make_counter(agency=agency)


def api(client, body, token=TOKEN):
    """POST `body` to the receipts endpoint with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/api/v1/receipts", json=body, headers=headers)


def stored(app) -> list[Response]:
    with app.app_context():
        return db.session().scalars(select(Response)).all()


def decode_png(data: bytes) -> str:
    """Return the text of the one QR code in a PNG."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(found) == 1
    return found[0].text


def link_for(app, counter_id: int, dossier: str = DOSSIER, at: datetime | None = None) -> str:
    """Return a link as the API issues it (test_verified_links.py covers staff links)."""
    with app.app_context():
        counter = db.session().get(Counter, counter_id)
        return issue_link(counter, dossier, at, origin=LinkOrigin.API).url


def answer(client, url: str, value: str = "5"):
    """Open the receipt form at `url` and send a full set of answers; return the reply."""
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data=hidden_fields(page.get_data(as_text=True)) | full_answers(value))


# ---------------------------------------------------------------- the API


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", "Basic " + TOKEN, "Bearer ", "Bearer other-token-abcdeX", TOKEN],
)
def test_api_refuses_calls_without_a_stored_token(client, counter, header):
    headers = {"Authorization": header} if header is not None else {}
    reply = client.post(
        "/api/v1/receipts", json={"counter": counter.code, "dossier": DOSSIER}, headers=headers
    )
    assert reply.status_code == 401 and reply.json["error"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_accepts_every_stored_token_and_no_empty_one(app, counter, make_token):
    client = app.test_client()
    body = {"counter": counter.code, "dossier": DOSSIER}
    assert api(client, body).status_code == 201
    make_token("other-software@example.vn", plain="other-token-abcdef")
    assert api(client, body, "other-token-abcdef").status_code == 201
    assert api(client, body, "").status_code == 401
    assert api(client, body, ",").status_code == 401


@pytest.mark.parametrize(
    "body, status, error",
    [
        ("not json", 400, "bad-request"),
        ([1, 2], 400, "bad-request"),
        ({"counter": "C1"}, 422, "invalid"),
        ({"counter": 5, "dossier": DOSSIER}, 422, "invalid"),
        ({"counter": "C1", "dossier": "   "}, 422, "invalid-dossier"),
        ({"counter": "C1", "dossier": "x" * 101}, 422, "invalid-dossier"),
        ({"counter": "NO-SUCH", "dossier": DOSSIER}, 404, "unknown-counter"),
    ],
)
def test_api_says_what_is_wrong_with_a_request(client, counter, body, status, error):
    if isinstance(body, str):
        reply = client.post(
            "/api/v1/receipts",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    else:
        reply = api(client, body)
    assert reply.status_code == status and reply.json["error"] == error


def test_api_returns_a_link_its_expiry_and_qr_codes_without_the_dossier_code(app, client, counter):
    reply = api(client, {"counter": counter.code, "dossier": DOSSIER})
    assert reply.status_code == 201
    data = reply.json
    url = data["url"]
    assert url.startswith("http://survey.test/r/") and data["counter"] == counter.code
    assert DOSSIER not in url and "H56" not in url and data["already_evaluated"] is False
    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert decode_png(base64.b64decode(data["qr_png_base64"])) == url
    assert data["qr_svg"].startswith("<?xml") and "<svg" in data["qr_svg"]
    # A retired counter gets no new links.
    with app.app_context():
        db.session().get(Counter, counter.id).active = False
        db.session().commit()
    assert api(client, {"counter": counter.code, "dossier": "another"}).status_code == 404


# ---------------------------------------------------------------- one evaluation per dossier


def test_receipt_link_opens_the_counters_form_and_stores_a_verified_response(app, client, counter):
    url = api(client, {"counter": counter.code, "dossier": DOSSIER}).json["url"]
    path = url.removeprefix("http://survey.test")
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sở Tư pháp tỉnh Minh Hòa" in html
    assert f'action="{path}"' in html
    reply = client.post(path, data=hidden_fields(html) | full_answers("5"))
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/thanks")
    (response,) = stored(app)
    assert response.channel == Channel.RECEIPT and response.counter_id == counter.id
    assert response.nonce and response.status == "valid"
    with app.app_context():
        assert response.dossier_hash == dossier_hash(DOSSIER)
    # A keyed hash: not the plain SHA-256 that anyone could compute from a dossier code.
    assert response.dossier_hash != hashlib.sha256(DOSSIER.encode()).hexdigest()
    assert len(response.dossier_hash) == 64


def test_the_dossier_code_is_stored_nowhere(app, client, counter):
    path = api(client, {"counter": counter.code, "dossier": DOSSIER}).json["url"]
    answer(client, path.removeprefix("http://survey.test"))
    with app.app_context():
        connection = db.session().connection()
        for table in ("responses", "audit_log", "questionnaires", "counters"):
            rows = connection.exec_driver_sql(f"SELECT * FROM {table}").all()
            assert "H56-241105" not in str(rows), table


def test_a_dossier_is_evaluated_once(app, client, counter, make_counter, make_agency):
    path = link_for(app, counter.id).removeprefix("http://survey.test")
    first_page = client.get(path)
    other_tab = client.get(path)  # opened before the first answers were sent
    data = hidden_fields(first_page.get_data(as_text=True)) | full_answers("5")
    assert client.post(path, data=data).status_code == 303
    # A double tap on the same form is thanked again and stores nothing more.
    assert client.post(path, data=data).status_code == 303
    late = client.post(
        path, data=hidden_fields(other_tab.get_data(as_text=True)) | full_answers("1")
    )
    assert late.status_code == 409
    assert "already been evaluated" in client.get(path + "?lang=en").get_data(as_text=True)
    assert client.get(path).status_code == 409
    # A link for the same dossier, typed with other spaces and case, for another counter, is
    # used up too.
    second = make_counter(agency=make_agency(code="MH-STP-2"))
    again = link_for(app, second.id, "  000.00.12.h56-241105-0001 ").removeprefix(
        "http://survey.test"
    )
    assert client.get(again).status_code == 409
    assert [r.scores[:3] for r in stored(app)] == ["555"]
    reissued = api(client, {"counter": counter.code, "dossier": DOSSIER})
    assert reissued.status_code == 201 and reissued.json["already_evaluated"] is True


def test_answers_are_stored_for_the_questionnaire_the_citizen_saw(app, client, counter):
    # The receipt form is open when a manager switches the counter to the quick form: the
    # answers the citizen gave are stored, to the questionnaire the citizen saw.
    path = link_for(app, counter.id).removeprefix("http://survey.test")
    hidden = hidden_fields(client.get(path).get_data(as_text=True))
    with app.app_context():
        session = db.session()
        update_counter(
            session, None, session.get(Counter, counter.id), counter.name, "counter-quick"
        )
    incomplete = full_answers("4")
    del incomplete["E3"]
    reply = client.post(path, data=hidden | incomplete)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    # The questionnaire being answered, with every answer kept and the one problem named.
    assert 'id="e-E3"' in html and 'name="Q1"' not in html
    assert 'name="A1" value="4" checked' in html
    reply = client.post(path, data=hidden | full_answers("4"))
    assert reply.status_code == 303
    (response,) = stored(app)
    with app.app_context():
        response = db.session().get(Response, response.id)
        assert response.questionnaire.slug == "sipas-service"
        assert response.scores.startswith("4" * 16)
        assert response.channel == Channel.RECEIPT


def test_other_dossiers_and_the_poster_still_take_answers(app, client, counter):
    answer(client, link_for(app, counter.id).removeprefix("http://survey.test"))
    answer(client, link_for(app, counter.id, "H56-0002").removeprefix("http://survey.test"))
    answer(client, f"/s/{counter.token}")
    assert sorted(r.channel for r in stored(app)) == ["qr", "receipt", "receipt"]


@pytest.mark.parametrize("change", ["signature", "counter", "dossier", "time", "cut", "junk"])
def test_tampered_links_get_a_clear_page_and_store_nothing(
    app, client, counter, make_counter, change
):
    other = make_counter()
    path = link_for(app, counter.id).removeprefix("http://survey.test")
    prefix, signed = path.rsplit("/", 1)
    counter_id, digest, origin, stamp, signature = signed.split(".")
    flip = {"A": "B"}.get(signature[5], "A")
    late = "A" if stamp[-1] != "A" else "B"
    tampered = {
        "signature": f"{counter_id}.{digest}.{origin}.{stamp}.{signature[:5]}{flip}{signature[6:]}",
        "counter": f"{other.id}.{digest}.{origin}.{stamp}.{signature}",
        "dossier": f"{counter_id}.{digest[:-2]}AA.{origin}.{stamp}.{signature}",
        "time": f"{counter_id}.{digest}.{origin}.{stamp[:-1]}{late}.{signature}",
        "cut": f"{counter_id}.{digest}",
        "junk": "%3Cscript%3E",
    }[change]
    page = client.get(f"{prefix}/{tampered}?lang=en")
    assert page.status_code == 404
    assert "This evaluation link is not valid" in page.get_data(as_text=True)
    genuine = hidden_fields(client.get(path).get_data(as_text=True))
    reply = client.post(f"{prefix}/{tampered}", data=genuine | full_answers())
    assert reply.status_code == 404
    assert stored(app) == []


def test_expired_links_get_a_clear_page_and_store_nothing(app, client, counter):
    now = datetime.now(UTC)
    fresh = link_for(app, counter.id, "D-1", now - timedelta(days=6, hours=23))
    assert client.get(fresh.removeprefix("http://survey.test")).status_code == 200
    old = link_for(app, counter.id, "D-2", now - timedelta(days=7, minutes=1))
    path = old.removeprefix("http://survey.test")
    page = client.get(path + "?lang=en")
    assert page.status_code == 410 and "has expired" in page.get_data(as_text=True)
    form = hidden_fields(
        client.get(fresh.removeprefix("http://survey.test")).get_data(as_text=True)
    )
    assert client.post(path, data=form | full_answers()).status_code == 410
    assert stored(app) == []
    # Links stamped in the future are not accepted either.
    future = link_for(app, counter.id, "D-3", now + timedelta(days=1))
    assert client.get(future.removeprefix("http://survey.test")).status_code == 410


def test_a_link_to_a_retired_counter_takes_no_answers(app, client, counter):
    path = link_for(app, counter.id).removeprefix("http://survey.test")
    with app.app_context():
        db.session().get(Counter, counter.id).active = False
        db.session().commit()
    assert client.get(path).status_code == 404


def test_the_receipt_form_keeps_csrf_and_the_one_time_nonce(app, client, counter):
    path = link_for(app, counter.id).removeprefix("http://survey.test")
    fields = hidden_fields(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"nonce": fields["nonce"]} | full_answers()).status_code == 400
    bad_nonce = client.post(path, data=fields | {"nonce": "forged"} | full_answers())
    assert bad_nonce.status_code == 422
    assert "Phiếu đã hết hạn" in bad_nonce.get_data(as_text=True)  # answers kept, send again
    missing = client.post(path, data=fields | {"A1": ""})
    assert missing.status_code == 422
    assert stored(app) == []


# ---------------------------------------------------------------- the console form


def test_manager_makes_a_receipt_link_in_the_console(app, client, counter, login):
    add_user(app, "m@example.vn", "manager", "MH-STP")
    login(client, "m@example.vn")
    page = client.get(f"/console/receipts?counter={counter.id}&lang=en").get_data(as_text=True)
    assert f'<option selected value="{counter.id}">' in page
    assert (
        post(client, "/console/receipts", {"counter": counter.id, "dossier": " "}).status_code
        == 422
    )
    reply = post(client, "/console/receipts", {"counter": counter.id, "dossier": DOSSIER})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "http://survey.test/r/" in html
    url = html.split('<p class="url">')[1].split("</p>")[0]
    signed = url.rsplit("/", 1)[1]
    png = client.get(f"/console/receipts/qr.png?link={signed}&download=1")
    assert png.status_code == 200 and decode_png(png.data) == url
    assert client.get(f"/console/receipts/qr.svg?link={signed}x").status_code == 404
    anonymous = app.test_client()
    assert answer(anonymous, url.removeprefix("http://survey.test")).status_code == 303
    again = post(client, "/console/receipts", {"counter": counter.id, "dossier": DOSSIER})
    assert "already been evaluated" in again.get_data(as_text=True)
    with app.app_context():
        # The account, then each of the two links made (test_verified_links.py checks them).
        changes = select(func.count()).where(AuditEntry.action.notlike("auth.%"))
        assert db.session().scalar(changes) == 3


def test_receipt_submissions_are_limited_per_counter_and_keep_the_answers(app_config, counter):
    limited = create_app(
        app_config | {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "2 per minute"}
    )
    try:
        client = limited.test_client()
        assert answer(client, link_for(limited, counter.id, "DOSSIER-1")).status_code == 303
        assert answer(client, link_for(limited, counter.id, "DOSSIER-2")).status_code == 303
        held = answer(client, link_for(limited, counter.id, "DOSSIER-3"), "2")
        html = held.get_data(as_text=True)
        assert held.status_code == 429 and "xin chờ một lát rồi bấm Gửi lại" in html
        assert 'name="B4" value="2" checked' in html
        assert len(stored(limited)) == 2
    finally:
        db.dispose_engines(limited)
