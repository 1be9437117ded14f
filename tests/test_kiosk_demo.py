"""`make run`'s demo has a counter with a kiosk, and the link it prints opens that kiosk."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from test_console_support import add_user

from survey import db
from survey.cli.demo import KIOSK_COUNTER, KIOSK_QUESTIONNAIRE
from survey.models import Channel, Counter, Kiosk, Response

MAKEFILE = Path(__file__).resolve().parent.parent / "Makefile"


def test_the_demo_has_a_counter_with_a_kiosk_and_its_answers(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        counter = session.scalar(select(Counter).where(Counter.code == KIOSK_COUNTER))
        assert counter.active and counter.questionnaire_slug == KIOSK_QUESTIONNAIRE
        assert "máy tính bảng" in counter.name
        kiosks = session.scalars(select(Kiosk)).all()
        assert [(k.counter_id, k.revoked_at) for k in kiosks] == [(counter.id, None)]
        tapped = session.execute(
            select(Response.status, func.count())
            .where(Response.channel == Channel.KIOSK)
            .group_by(Response.status)
        ).all()
        by_status = dict(tapped)
        assert 100 < sum(by_status.values()) < 250
        assert by_status["valid"] > 0 and by_status["flagged"] > 0
        assert {
            (r.counter_id, r.kiosk_id)
            for r in session.scalars(select(Response).where(Response.channel == Channel.KIOSK))
        } == {(counter.id, kiosks[0].id)}
        assert kiosks[0].last_tap_at is not None
    # The counter everything else of the demo counts (test_cli) is unchanged.
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Counter)) == 40


def test_the_printed_link_opens_the_demo_kiosk_once(app, runner):
    assert runner.invoke(args=["demo", "--if-empty"]).exit_code == 0
    # What `make run` runs to print "A demo kiosk:".
    line = next(x for x in MAKEFILE.read_text().splitlines() if "A demo kiosk:" in x)
    assert f"kiosks enrol {KIOSK_COUNTER}" in line
    result = runner.invoke(args=["kiosks", "enrol", KIOSK_COUNTER])
    assert result.exit_code == 0, result.output
    url = re.search(r"http://\S+/k/enrol/ke_\S+", result.output).group(0)
    tablet = app.test_client()
    reply = tablet.get(url.replace("http://survey.test", ""))
    assert reply.status_code == 303 and reply.headers["Location"] == "/k/"
    page = tablet.get("/k/")
    assert page.status_code == 200
    assert "Quầy tiếp nhận số 1 (có máy tính bảng)" in page.get_data(as_text=True)
    # A tap on it is stored with the demo's kiosk answers.
    with app.app_context():
        before = db.session().scalar(
            select(func.count()).select_from(Response).where(Response.channel == Channel.KIOSK)
        )
    sent = tablet.post(
        "/k/answers",
        json=[
            {
                "id": "00000000-demo-0001",
                "tapped_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                "answers": {"Q1": "3", "Q2": "3"},
            }
        ],
    )
    assert sent.status_code == 200 and sent.json["stored"] == ["00000000-demo-0001"]
    with app.app_context():
        after = db.session().scalar(
            select(func.count()).select_from(Response).where(Response.channel == Channel.KIOSK)
        )
    assert after == before + 1
    # Used once: a second browser with the same link is refused.
    assert app.test_client().get(url.replace("http://survey.test", "")).status_code == 403


def test_the_results_show_the_demo_kiosks_share(app, runner, client, login):
    assert runner.invoke(args=["demo"]).exit_code == 0
    add_user(app, "evaluator@example.vn", "evaluator")
    login(client, "evaluator@example.vn")
    html = client.get("/results/agency/MH-PHT?period=all&lang=vi").get_data(as_text=True)
    found = re.search(r'<p id="kiosk-share">Máy tính bảng tại quầy \(kiosk\): (\d+)% trong', html)
    assert found and 5 < int(found.group(1)) < 50
