"""The counter's tablet: enrolment, revocation, the kiosk page and the answers it sends."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_console_support import post

from survey import db
from survey.kiosk.devices import create_enrolment
from survey.models import AuditEntry, Counter, Kiosk, KioskEnrolment, utcnow

ROLES = {"admin": "admin@example.vn", "manager": "manager@example.vn"}


def cli_enrolment_url(runner, code: str) -> str:
    """Return the URL `flask kiosks enrol CODE` prints."""
    result = runner.invoke(args=["kiosks", "enrol", code])
    assert result.exit_code == 0, result.output
    return re.search(r"http://\S+/k/enrol/\S+", result.output).group(0)


def open_enrolment(client, url: str):
    """Open an enrolment URL on the "tablet" `client`; return the reply."""
    return client.get(url.replace("http://survey.test", ""))


@pytest.fixture
def counter(make_counter):
    """Return a counter on the quick questionnaire."""
    return make_counter(questionnaire="counter-quick")


@pytest.fixture
def tablet(app, runner, counter):
    """Return a test client enrolled as the counter's kiosk."""
    device = app.test_client()
    reply = open_enrolment(device, cli_enrolment_url(runner, counter.code))
    assert reply.status_code == 303 and reply.headers["Location"] == "/k/"
    return device


def test_the_cli_prints_a_link_that_enrols_the_tablet_once(app, runner, counter):
    url = cli_enrolment_url(runner, counter.code)
    device = app.test_client()
    assert device.get("/k/").status_code == 403  # not enrolled yet
    reply = open_enrolment(device, url)
    assert reply.status_code == 303
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/k/" in cookie
    assert "Max-Age=" in cookie
    page = device.get("/k/")
    assert page.status_code == 200
    assert counter.name in page.get_data(as_text=True)
    # Used once: a second tablet with the same link gets nothing.
    other = app.test_client()
    refused = open_enrolment(other, url)
    assert refused.status_code == 403
    assert "Máy tính bảng này không phải là máy đánh giá" in refused.get_data(as_text=True)
    assert other.get("/k/").status_code == 403
    with app.app_context():
        kiosks = db.session().scalars(select(Kiosk)).all()
        assert [k.counter_id for k in kiosks] == [counter.id]
        # Only hashes are stored: the code and the credential are nowhere in the database.
        code = url.rsplit("/", 1)[1]
        hashes = db.session().scalars(select(KioskEnrolment.code_hash)).all()
        assert code not in hashes and len(hashes[0]) == 64
        credential = re.search(r"kiosk=([^;]+)", cookie).group(1)
        assert credential not in {k.credential_hash for k in kiosks}


def test_an_expired_code_is_refused(app, counter):
    with app.app_context():
        session = db.session()
        enrolment, code = create_enrolment(session, None, session.get(Counter, counter.id))
        enrolment.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert app.test_client().get(f"/k/enrol/{code}").status_code == 403
    assert app.test_client().get("/k/enrol/ke_made-up").status_code == 403


def test_an_unknown_counter_is_refused_by_the_cli(runner):
    result = runner.invoke(args=["kiosks", "enrol", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output


def test_a_revoked_kiosk_is_refused_at_once(app, client, world, tablet, counter, login):
    assert tablet.get("/k/").status_code == 200
    login(client, ROLES["admin"])
    page = client.get(f"/console/counters/{counter.id}?lang=vi").get_data(as_text=True)
    assert "Ghép máy tính bảng" in page
    with app.app_context():
        kiosk_id = db.session().scalar(select(Kiosk.id))
    reply = post(client, f"/console/counters/{counter.id}/kiosks/{kiosk_id}/revoke")
    assert reply.status_code == 303
    assert tablet.get("/k/").status_code == 403
    with app.app_context():
        actions = db.session().scalars(select(AuditEntry.action)).all()
    assert "kiosk.revoke" in actions


def test_a_replaced_kiosk_is_refused(app, runner, tablet, counter):
    old_cookie = tablet.get_cookie("kiosk", path="/k/").value
    assert open_enrolment(tablet, cli_enrolment_url(runner, counter.code)).status_code == 303
    assert tablet.get("/k/").status_code == 200
    stale = app.test_client()
    stale.set_cookie("kiosk", old_cookie, path="/k/")
    assert stale.get("/k/").status_code == 403


def test_a_manager_enrols_and_revokes_only_their_agencies_tablets(app, client, world, login):
    login(client, ROLES["manager"])
    own = post(client, f"/console/counters/{world.counter_own}/kiosks/enrol")
    assert own.status_code == 200
    html = own.get_data(as_text=True)
    link = re.search(r"http://survey\.test(/k/enrol/[\w-]+)", html).group(1)
    assert "<svg" in html and "<script" not in html
    device = app.test_client()
    assert device.get(link).status_code == 303
    assert device.get("/k/").status_code == 200
    # Another agency's counter is reported as missing, and nothing is made for it.
    assert post(client, f"/console/counters/{world.counter_other}/kiosks/enrol").status_code == 404
    with app.app_context():
        session = db.session()
        assert session.scalars(select(KioskEnrolment.counter_id)).all() == [world.counter_own]
        kiosk = session.scalar(select(Kiosk))
        other = Kiosk(
            counter_id=world.counter_other, name="x", credential_hash="0" * 64, enrolled_at=utcnow()
        )
        session.add(other)
        session.commit()
        kiosk_id, other_id = kiosk.id, other.id
    refused = post(client, f"/console/counters/{world.counter_other}/kiosks/{other_id}/revoke")
    assert refused.status_code == 404
    # A kiosk id under a counter it does not belong to is missing too.
    mixed = post(client, f"/console/counters/{world.counter_own}/kiosks/{other_id}/revoke")
    assert mixed.status_code == 404
    assert (
        post(client, f"/console/counters/{world.counter_own}/kiosks/{kiosk_id}/revoke").status_code
        == 303
    )
    assert device.get("/k/").status_code == 403
    with app.app_context():
        assert db.session().get(Kiosk, other_id).revoked_at is None


def test_an_evaluator_cannot_enrol(app, client, world, login):
    login(client, "evaluator@example.vn")
    assert post(client, f"/console/counters/{world.counter_own}/kiosks/enrol").status_code == 403
