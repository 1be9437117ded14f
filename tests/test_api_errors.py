"""Every error under /api/ is a JSON object with a stable `error` code and a `message`, in
Vietnamese unless the call asks for English; elsewhere the HTML pages stay."""

import json

import pytest
from flask import abort

from survey import create_app, db

TOKEN = "sv_error-tests-token-0123456789abcdefghijklmnop"


@pytest.fixture
def app(app_config):
    """Return an app with a small body limit and two views that fail, registered only here."""
    application = create_app(
        app_config | {"MAX_CONTENT_LENGTH": 4096, "PROPAGATE_EXCEPTIONS": False}
    )

    def broken():
        raise RuntimeError("a bug")

    def busy():
        abort(429)

    application.add_url_rule("/api/v1/test-broken", "test_broken", broken)
    application.add_url_rule("/api/v1/test-busy", "test_busy", busy)
    yield application
    db.dispose_engines(application)


@pytest.fixture
def counter_code(make_counter, make_token):
    """Store an admin's TOKEN and a counter; return the counter's code."""
    make_token("admin-api@example.vn", plain=TOKEN)
    return make_counter().code


def assert_json_error(reply, status: int, code: str) -> dict:
    """Check that `reply` is the JSON error `code` with status `status`; return its body."""
    assert reply.status_code == status, reply.get_data(as_text=True)[:300]
    assert reply.mimetype == "application/json"
    body = reply.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post_raw(client, data: bytes | str, headers: dict | None = None):
    return client.post(
        "/api/v1/receipts",
        data=data,
        content_type="application/json",
        headers=AUTH | (headers or {}),
    )


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        b"\xff\xfe\xfa not utf-8",
        "[" * 100_000 + "]" * 100_000,  # deep enough to exhaust the parser
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        "[1, 2]",
        "",
    ],
    ids=["malformed", "bad-bytes", "deep-list", "deep-object", "not-an-object", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_400(client, counter_code, data, app):
    app.config["MAX_CONTENT_LENGTH"] = 1_000_000
    assert_json_error(post_raw(client, data), 400, "bad-request")


def test_a_lone_surrogate_is_422(client, counter_code):
    body = f'{{"counter": "{counter_code}", "dossier": "AB\\ud800CD"}}'
    reply = assert_json_error(post_raw(client, body), 422, "invalid")
    assert "dossier" in reply["message"]


def test_a_body_too_large_is_413(client, counter_code):
    body = json.dumps({"counter": counter_code, "dossier": "x" * 5000})
    assert_json_error(post_raw(client, body), 413, "too-large")


def test_no_token_is_401_with_www_authenticate(client, counter_code):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        reply = client.get("/api/v1/indices", headers=headers)
        assert_json_error(reply, 401, "unauthorized")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_evaluators_token_may_not_issue_links_403(client, counter_code, make_token):
    token = make_token("evaluator-api@example.vn", role="evaluator")
    reply = client.post(
        "/api/v1/receipts",
        json={"counter": counter_code, "dossier": "D-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_json_error(reply, 403, "forbidden")


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/nothing", "/api", "/api/v2/indices"])
def test_unknown_addresses_under_api_are_404(client, path):
    assert_json_error(client.get(path), 404, "not-found")


def test_a_wrong_method_is_405_and_says_which_are_allowed(client):
    reply = assert_json_error(client.get("/api/v1/receipts"), 405, "method-not-allowed")
    assert reply["error"] == "method-not-allowed"
    assert "POST" in client.get("/api/v1/receipts").headers["Allow"]
    assert_json_error(client.delete("/api/v1/indices", headers=AUTH), 405, "method-not-allowed")


def test_invalid_values_are_422(client, counter_code):
    reply = client.post("/api/v1/receipts", json={"counter": counter_code}, headers=AUTH)
    assert_json_error(reply, 422, "invalid")


def test_too_many_requests_is_429(client):
    assert_json_error(client.get("/api/v1/test-busy"), 429, "too-many-requests")


def test_a_failure_is_500_without_internals(client):
    body = assert_json_error(client.get("/api/v1/test-broken"), 500, "server-error")
    assert "a bug" not in body["message"] and "RuntimeError" not in body["message"]


def test_messages_are_vietnamese_unless_english_is_asked_for(client):
    vietnamese = client.get("/api/v1/nothing").get_json()["message"]
    by_header = client.get("/api/v1/nothing", headers={"Accept-Language": "en"}).get_json()
    by_query = client.get("/api/v1/nothing?lang=en").get_json()
    assert (
        by_header["message"]
        == by_query["message"]
        == ("There is nothing at this address of the API.")
    )
    assert vietnamese != by_header["message"] and "API" in vietnamese
    assert (
        client.get("/api/v1/nothing", headers={"Accept-Language": "en-US,en;q=0.8"}).get_json()[
            "message"
        ]
        == by_header["message"]
    )
    # An API call keeps no session: nothing is remembered between calls.
    assert "Set-Cookie" not in client.get("/api/v1/nothing?lang=en").headers
    assert client.get("/api/v1/nothing").get_json()["message"] == vietnamese


def test_pages_outside_the_api_keep_their_html_errors(client):
    reply = client.get("/no-such-page")
    assert reply.status_code == 404 and reply.mimetype == "text/html"
    assert client.get("/apixyz").mimetype == "text/html"
