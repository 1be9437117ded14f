"""The counter's tablet: enrolment, revocation, the kiosk page and the answers it sends."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from test_console_support import post

from survey import db
from survey.kiosk.devices import create_enrolment
from survey.models import AuditEntry, Counter, Kiosk, KioskEnrolment, Response, utcnow

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


def test_the_kiosk_page_has_faces_words_and_nothing_inline_or_from_outside(tablet):
    html = tablet.get("/k/").get_data(as_text=True)
    for words in ("Rất hài lòng", "Hài lòng", "Không hài lòng", "Very satisfied"):
        assert words in html
    assert html.count('class="face"') == 6  # three faces for each of the two questions
    assert html.index("Rất hài lòng") < html.index("Không hài lòng")
    assert 'id="lang"' in html
    # CSP script-src 'self' / style-src 'self': no inline script, style element or attribute.
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html and "style=" not in html and " on" + "click=" not in html
    # Every address the page loads is the app's own (relative); nothing from outside.
    loaded = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert loaded and all(u.startswith("/") or u == "data:," for u in loaded), loaded
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for asset in ("kiosk.js", "kiosk.css"):
        with tablet.get(f"/static/kiosk/{asset}") as reply:
            assert reply.status_code == 200


def answer(device_id, tapped_at, q1="3", q2="2"):
    """Return one batch entry."""
    return {"id": device_id, "tapped_at": tapped_at, "answers": {"Q1": q1, "Q2": q2}}


def iso(moment):
    """Return a naive UTC time as the device sends it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def stored_rows(app):
    """Return (device id, channel, submitted_at, scores, flags) of every response."""
    with app.app_context():
        rows = db.session().execute(
            select(
                Response.device_response_id,
                Response.channel,
                Response.submitted_at,
                Response.scores,
                Response.flags,
                Response.received_at,
                Response.kiosk_id,
            ).order_by(Response.device_response_id)
        )
        return [tuple(r) for r in rows]


def test_a_batch_is_stored_once_when_sent_twice_or_cut_in_half(app, tablet):
    start = utcnow() - timedelta(hours=2)
    batch = [
        answer(f"00000000-0000-4000-8000-00000000000{i}", iso(start + timedelta(minutes=i)))
        for i in range(6)
    ]
    # Cut off half way: the first three arrived, the device did not hear the reply.
    first = tablet.post("/k/answers", json=batch[:3])
    assert first.status_code == 200 and first.json["stored"] == [b["id"] for b in batch[:3]]
    again = tablet.post("/k/answers", json=batch)
    assert again.status_code == 200
    assert sorted(again.json["stored"]) == sorted(b["id"] for b in batch)
    assert again.json["errors"] == {}
    assert tablet.post("/k/answers", json=batch).json["stored"]  # and a third time
    rows = stored_rows(app)
    assert [r[0] for r in rows] == [b["id"] for b in batch]
    assert {r[1] for r in rows} == {"kiosk"}
    assert all(r[5] is not None for r in rows)  # when it arrived
    # The tap time is the response's time, to the minute.
    assert rows[0][2] == (start).replace(second=0, microsecond=0)
    assert rows[0][3] == "32"


def test_bad_entries_are_reported_per_id_and_the_good_ones_stored(app, tablet):
    now = utcnow()
    batch = [
        answer("aaaaaaaa-good", iso(now - timedelta(minutes=5))),
        answer("bbbbbbbb-future", iso(now + timedelta(hours=1))),
        answer("cccccccc-old", iso(now - timedelta(days=8))),
        answer("dddddddd-value", iso(now), q1="5"),
        {"id": "eeeeeeee-keys", "tapped_at": iso(now), "answers": {"Q1": "3"}},
        {"id": "ffffffff-time", "tapped_at": "yesterday", "answers": {"Q1": "3", "Q2": "3"}},
        {"id": "gggggggg-naive", "tapped_at": "2026-01-01T08:00:00", "answers": {}},
        {"id": "x"},
        "not an object",
        {"id": "hhhhhhhh-answers", "tapped_at": iso(now), "answers": ["3", "3"]},
    ]
    reply = tablet.post("/k/answers", json=batch)
    assert reply.status_code == 200
    assert reply.json["stored"] == ["aaaaaaaa-good"]
    assert reply.json["errors"] == {
        "bbbbbbbb-future": "time-in-future",
        "cccccccc-old": "time-too-old",
        "dddddddd-value": "bad-answer",
        "eeeeeeee-keys": "bad-questions",
        "ffffffff-time": "bad-time",
        "gggggggg-naive": "bad-time",
        "#7": "bad-id",
        "#8": "bad-id",
        "hhhhhhhh-answers": "bad-questions",
    }
    assert [r[0] for r in stored_rows(app)] == ["aaaaaaaa-good"]
    for body in ({"not": "a list"}, "text", [answer("y" * 8, iso(now))] * 501):
        assert tablet.post("/k/answers", json=body).status_code == 400
    assert tablet.post("/k/answers", data="{", content_type="application/json").status_code == 400


def test_answers_from_a_revoked_or_unknown_device_are_refused(app, client, world, tablet, login):
    assert app.test_client().post("/k/answers", json=[]).status_code == 403
    with app.app_context():
        session = db.session()
        session.scalar(select(Kiosk)).revoked_at = utcnow()
        session.commit()
    refused = tablet.post("/k/answers", json=[answer("abcdefgh-1", iso(utcnow()))])
    assert refused.status_code == 403 and refused.json["error"] == "not-a-kiosk"
    assert stored_rows(app) == []


@pytest.fixture
def flagging(app_config):
    """Turn the flags on, with opening hours round the clock unless a test says otherwise."""
    app_config["FLAG_SUSPICIOUS"] = True
    app_config["OPENING_HOURS"] = "Mon-Sun 00:00-23:59"
    app_config["KIOSK_MIN_GAP"] = 5


def test_answers_closer_than_the_minimum_gap_are_flagged(flagging, app, tablet):
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    gaps = [0, 3, 10, 14, 30]  # seconds from the start: the 2nd and 4th follow too closely
    # Sent out of order and in two batches: the gap is measured on the tap times.
    batch = [answer(f"gap-test-{s:04d}", iso(start + timedelta(seconds=s))) for s in gaps]
    tablet.post("/k/answers", json=batch[2:])
    reply = tablet.post("/k/answers", json=batch[:2])
    assert len(reply.json["stored"]) == 2
    flags = {r[0]: r[4] for r in stored_rows(app)}
    assert flags == {
        "gap-test-0000": None,
        "gap-test-0003": None,  # older than the kiosk's latest tap when it arrived: not measured
        "gap-test-0010": None,
        "gap-test-0014": "kiosk-gap",
        "gap-test-0030": None,
    }
    with app.app_context():
        row = db.session().scalar(select(Response).where(Response.flags == "kiosk-gap"))
        assert row.status == "flagged"
        assert row.evidence == {"kiosk-gap": {"seconds": 4.0, "minimum_seconds": 5}}


def test_taps_in_one_batch_closer_than_the_gap_are_flagged(flagging, app, tablet):
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    batch = [answer(f"burst-{i:04d}", iso(start + timedelta(seconds=i))) for i in range(4)]
    tablet.post("/k/answers", json=batch)
    assert [r[4] for r in stored_rows(app)] == [None, "kiosk-gap", "kiosk-gap", "kiosk-gap"]


def test_taps_outside_opening_hours_are_flagged(flagging, app_config, app, tablet):
    # 03:00 in Vietnam (20:00 UTC the day before): closed under the default hours.
    app.config["OPENING_HOURS"] = "Mon-Sun 07:00-17:00"
    day = utcnow().date() - timedelta(days=1)
    night = datetime.combine(day, time(20, 0))
    tablet.post("/k/answers", json=[answer("night-0001", iso(night))])
    assert [r[4] for r in stored_rows(app)] == ["out-of-hours"]


def test_an_answer_the_database_refuses_is_not_reported_stored(app, tablet, monkeypatch):
    """Only the same answer stored by another request counts as stored after an integrity
    error; any other refusal is reported, so the tablet keeps the answer to send again."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    def refuse(self):
        raise IntegrityError("INSERT", {}, Exception("a constraint"))

    now = datetime.now(UTC).replace(tzinfo=None)
    first = tablet.post("/k/answers", json=[answer("stored-0001", iso(now - timedelta(minutes=1)))])
    assert first.get_json()["stored"] == ["stored-0001"]
    monkeypatch.setattr(Session, "commit", refuse)
    reply = tablet.post("/k/answers", json=[answer("refused-0001", iso(now))])
    monkeypatch.undo()
    assert reply.status_code == 200
    assert reply.get_json() == {"stored": [], "errors": {"refused-0001": "not-stored"}}
    assert [row[0] for row in stored_rows(app)] == ["stored-0001"]
