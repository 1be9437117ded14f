"""The malformed requests of issue 12 that gave a 500, one test each: now a 4xx with a message,
in the visitor's language, and nothing stored."""

import io

import pytest
from helpers import full_answers, hidden_fields
from sqlalchemy import func, select
from test_console_support import csrf

from survey import create_app, db
from survey.models import Agency, Counter, Response

TOKEN = "sv_bad-input-token-0123456789abcdefghijklmnop"


@pytest.fixture
def app(app_config):
    """Return the app with errors turned into pages, as in production."""
    application = create_app(app_config | {"PROPAGATE_EXCEPTIONS": False})
    yield application
    db.dispose_engines(application)


def counts(app) -> tuple[int, int, int]:
    """Return the row counts of responses, agencies and counters."""
    with app.app_context():
        session = db.session()
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Response, Agency, Counter)
        )


def open_form(client, path: str) -> dict:
    page = client.get(path)
    assert page.status_code == 200
    return hidden_fields(page.get_data(as_text=True))


def receipt_path(client, make_token, counter) -> str:
    make_token("case@example.vn", plain=TOKEN)
    reply = client.post(
        "/api/v1/receipts",
        json={"counter": counter.code, "dossier": "000.00.12.H56-241105-0001"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status_code == 201
    return reply.json["url"].removeprefix("http://survey.test")


def test_a_file_part_named_comment_on_the_citizen_form_is_refused(app, client, make_counter):
    counter = make_counter()
    fields = open_form(client, f"/s/{counter.token}")
    before = counts(app)
    data = fields | full_answers() | {"comment": (io.BytesIO(b"x" * 50), "c.txt")}
    reply = client.post(f"/s/{counter.token}", data=data, content_type="multipart/form-data")
    assert reply.status_code in (400, 422)
    assert "chỉ nhận văn bản" in reply.get_data(as_text=True)
    assert counts(app) == before


def test_a_file_part_on_the_receipt_link_form_is_refused(app, client, make_counter, make_token):
    path = receipt_path(client, make_token, make_counter())
    citizen = app.test_client()
    fields = open_form(citizen, path)
    before = counts(app)
    data = fields | full_answers() | {"A1": (io.BytesIO(b"4"), "a1.txt")}
    reply = citizen.post(path, data=data, content_type="multipart/form-data")
    assert reply.status_code in (400, 422)
    assert counts(app) == before


def test_a_nul_byte_in_the_token_is_400(app, client, make_counter):
    make_counter()
    reply = client.get("/s/abc%00")
    assert reply.status_code == 400
    assert "ký tự không hợp lệ" in reply.get_data(as_text=True)
    assert client.post("/s/abc%00", data={"A1": "4"}).status_code == 400


def test_a_nul_byte_in_the_sign_in_email_is_400(app, client):
    reply = client.post(
        "/console/login",
        data={"csrf_token": csrf(client), "email": "a\x00@example.vn", "password": "x" * 12},
    )
    assert reply.status_code == 400
    # csrf() opened the sign-in page in English: the refusal is in the visitor's language.
    assert "invalid characters" in reply.get_data(as_text=True)


def test_a_nul_byte_in_a_comment_is_400_and_nothing_stored(app, client, make_counter):
    counter = make_counter()
    fields = open_form(client, f"/s/{counter.token}")
    before = counts(app)
    reply = client.post(
        f"/s/{counter.token}", data=fields | full_answers() | {"comment": "tốt\x00lắm"}
    )
    assert reply.status_code == 400
    assert counts(app) == before


def test_a_nul_byte_or_lone_surrogate_in_the_query_is_400(client):
    assert client.get("/results/?shown=2026%00").status_code == 400
    reply = client.get("/?lang=en&x=%ED%A0%80")
    assert reply.status_code == 400
    assert "invalid characters" in reply.get_data(as_text=True)


def test_a_nul_byte_under_the_api_is_a_json_400(client, make_token):
    make_token("case@example.vn", plain=TOKEN)
    reply = client.get("/api/v1/indices?agency=A%00", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 400
    assert reply.mimetype == "application/json"
    assert reply.get_json()["error"] == "bad-request"


def test_deeply_nested_json_in_the_api_is_a_json_400(client, make_token, make_counter):
    make_token("case@example.vn", plain=TOKEN)
    make_counter()
    reply = client.post(
        "/api/v1/receipts",
        data="[" * 50_000 + "]" * 50_000,
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status_code == 400 and reply.get_json()["error"] == "bad-request"


def test_a_lone_surrogate_in_the_api_is_a_json_422(client, make_token, make_counter):
    make_token("case@example.vn", plain=TOKEN)
    counter = make_counter()
    before = counts(client.application)
    reply = client.post(
        "/api/v1/receipts",
        data=f'{{"counter": "{counter.code}", "dossier": "AB\\udc80CD"}}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status_code == 422 and reply.get_json()["error"] == "invalid"
    assert counts(client.application) == before


@pytest.mark.parametrize(
    "path",
    [
        "/console/counters/99999999999999999999",
        "/console/counters/2147483648",
        "/console/counters/9223372036854775808/poster.pdf",
        "/console/users/99999999999999999999",
    ],
)
def test_an_overflowing_counter_id_is_404(app, client, world, login, path):
    login(client, "admin@example.vn")
    assert client.get(path).status_code == 404


def test_an_id_in_other_digits_names_no_counter(app, client, world, login):
    """Found by bench/fuzz.py: Werkzeug's integers read any Unicode digit, so an Arabic-Indic
    digit reached the counter of that number."""
    login(client, "admin@example.vn")
    counter = world.counter_own
    assert client.get(f"/console/counters/{counter}").status_code == 200
    arabic = "".join(chr(0x0660 + int(d)) for d in str(counter))
    assert client.get(f"/console/counters/{arabic}").status_code == 404


@pytest.mark.parametrize(
    "body", ["[" * 50_000 + "]" * 50_000, '{"a": ' * 30_000 + "1" + "}" * 30_000]
)
def test_deeply_nested_json_from_a_kiosk_is_a_json_400(app, runner, make_counter, body):
    # Found by bench/fuzz.py: the kiosk's answers read JSON that exhausted the parser (a 500).
    from test_kiosk import cli_enrolment_url, open_enrolment

    counter = make_counter(questionnaire="counter-quick")
    tablet = app.test_client()
    assert open_enrolment(tablet, cli_enrolment_url(runner, counter.code)).status_code == 303
    before = counts(app)
    reply = tablet.post("/k/answers", data=body, content_type="application/json")
    assert reply.status_code == 400
    assert reply.mimetype == "application/json" and reply.get_json()["error"] == "bad-batch"
    assert counts(app) == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_tap_time_at_the_ends_of_the_calendar_is_refused_per_entry(
    app, runner, make_counter, moment
):
    # Found by bench/fuzz.py: astimezone(UTC) of year 1 at +14:00 overflowed (a 500).
    from test_kiosk import cli_enrolment_url, open_enrolment

    counter = make_counter(questionnaire="counter-quick")
    tablet = app.test_client()
    assert open_enrolment(tablet, cli_enrolment_url(runner, counter.code)).status_code == 303
    before = counts(app)
    entry = {"id": "fuzz-0001-entry", "tapped_at": moment, "answers": {"Q1": 5, "Q2": 4}}
    reply = tablet.post("/k/answers", json=[entry])
    assert reply.status_code == 200
    assert reply.get_json()["stored"] == [] and reply.get_json()["errors"]
    assert counts(app) == before
