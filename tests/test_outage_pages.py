"""While the database is unreachable: a 503 with Retry-After, the citizen's answers kept."""

import re

import pytest
from flask import g
from helpers import full_answers, hidden_fields
from sqlalchemy import event, func, select

from survey import db
from survey.models import Counter, Response
from survey.receipt_links import LinkOrigin, issue_link


class Outage:
    """Make every new database connection of `app` fail as an unreachable server's would."""

    def __init__(self, app):
        self.app = app
        self.down = False
        for name in ("db_engine", "db_autocommit_engine"):
            event.listen(self.app.extensions[name], "do_connect", self._connect)

    def _connect(self, dialect, _record, _cargs, _cparams):
        if self.down:
            # The driver's own error, as psycopg raises it: SQLAlchemy wraps it in OperationalError.
            raise dialect.loaded_dbapi.OperationalError("connection refused (test outage)")
        return None

    def start(self):
        """Cut the database off: pooled connections closed, new ones refused."""
        self.down = True
        db.dispose_engines(self.app)

    def end(self):
        self.down = False


@pytest.fixture
def outage(app):
    return Outage(app)


def count_responses(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Response))


def test_citizen_form_is_shown_again_with_every_answer_and_the_same_nonce(
    app, client, make_counter, outage
):
    counter = make_counter()
    hidden = hidden_fields(client.get(f"/s/{counter.token}").get_data(as_text=True))
    answers = full_answers("5") | {"comment": "Nhân viên nhiệt tình", "gender": "female"}
    outage.start()
    reply = client.post(f"/s/{counter.token}", data=hidden | answers)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 503, html[:500]
    assert reply.headers["Retry-After"] == "5"
    assert "tạm thời" in html and "chỉ được tính một lần" in html
    assert hidden_fields(html)["nonce"] == hidden["nonce"]
    assert "Nhân viên nhiệt tình" in html
    for key, value in full_answers("5").items():
        assert re.search(rf'name="{key}"[^>]*value="{value}"[^>]*checked', html), key
    assert counter.name in html  # from the blank page this worker kept, not the database
    outage.end()
    # Sent again once the database is back: stored, and stored once even if sent twice.
    resent = hidden | {"csrf_token": hidden_fields(html)["csrf_token"]} | answers
    assert client.post(f"/s/{counter.token}", data=resent).status_code == 303
    assert client.post(f"/s/{counter.token}", data=resent).status_code == 303
    assert count_responses(app) == 1


def test_citizen_outage_page_is_in_english_when_chosen(app, client, make_counter, outage):
    counter = make_counter()
    hidden = hidden_fields(client.get(f"/s/{counter.token}?lang=en").get_data(as_text=True))
    outage.start()
    reply = client.post(f"/s/{counter.token}?lang=en", data=hidden | full_answers())
    assert reply.status_code == 503
    assert "briefly unavailable" in reply.get_data(as_text=True)


def test_form_without_a_genuine_nonce_gets_the_503_page(app, client, make_counter, outage):
    counter = make_counter()
    hidden = hidden_fields(client.get(f"/s/{counter.token}").get_data(as_text=True))
    outage.start()
    reply = client.post(f"/s/{counter.token}", data=hidden | {"nonce": "forged"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "5"
    assert "Dịch vụ tạm thời gián đoạn" in html
    assert "không bị mất" not in html  # nothing promises what is not known


def test_poster_page_gives_503_with_retry_after_configurable(app, client, make_counter, outage):
    counter = make_counter()
    app.config["RETRY_AFTER_SECONDS"] = 12
    outage.start()
    reply = client.get(f"/s/{counter.token}")
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "12"


def test_staff_pages_get_the_503_page(app, client, world, login, outage):
    login(client, "admin@example.vn")
    assert client.get("/console/").status_code == 200
    outage.start()
    reply = client.get("/console/?lang=vi")
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "5"
    assert "Dịch vụ tạm thời gián đoạn" in reply.get_data(as_text=True)
    outage.end()
    assert client.get("/console/").status_code == 200  # back without restarting anything


def test_api_answers_503_in_json(app, client, make_token, outage):
    token = make_token("robot@example.vn")
    outage.start()
    reply = client.get("/api/v1/indices?lang=en", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 503
    assert reply.mimetype == "application/json"
    assert reply.headers["Retry-After"] == "5"
    body = reply.get_json()
    assert body["error"] == "database-unavailable"
    assert "briefly unavailable" in body["message"]


def test_a_failing_rollback_at_teardown_raises_nothing(app):
    class DeadSession:
        invalidated = False

        def close(self):
            raise OSError("server closed the connection unexpectedly")

        def invalidate(self):
            DeadSession.invalidated = True

    with app.app_context():
        g.db_session = DeadSession()
    assert DeadSession.invalidated


def test_receipt_form_is_shown_again_with_its_answers(app, client, make_counter, outage):
    counter = make_counter()
    with app.app_context():
        stored = db.session().get(Counter, counter.id)
        url = issue_link(stored, "HS-2026-0001", None, origin=LinkOrigin.API).url
    path = url.removeprefix("http://survey.test")
    hidden = hidden_fields(client.get(path).get_data(as_text=True))
    outage.start()
    reply = client.post(path, data=hidden | full_answers("3"))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "5"
    assert hidden_fields(html)["nonce"] == hidden["nonce"]
    assert f'action="{path}"' in html
    outage.end()
    resent = hidden | {"csrf_token": hidden_fields(html)["csrf_token"]} | full_answers("3")
    assert client.post(path, data=resent).status_code == 303
    assert count_responses(app) == 1
