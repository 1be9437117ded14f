"""The results pages: what each role sees, filters, charts, and downloads."""

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook
from test_console_support import build_world, login

from survey import db
from survey.models import Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day


@pytest.fixture
def world(app, make_agency, make_counter):
    """The small province, with 40 answers at each counter in two quarters."""
    built = build_world(app, make_agency, make_counter)
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["sipas-service"])
        for counter_id, good in (
            (built.counter_own, 30),
            (built.counter_child, 20),
            (built.counter_other, 10),
        ):
            agency_id = session.get(Counter, counter_id).agency_id
            for month in (2, 5):
                for i in range(40):
                    when = datetime(2026, month, 10, 3)
                    session.add(
                        Response(
                            questionnaire_id=version.id,
                            counter_id=counter_id,
                            agency_id=agency_id,
                            submitted_at=when,
                            local_day=vietnam_day(when),
                            scores=("5" if i < good else "2") * 16 + "0",
                            details={},
                            channel=Channel.RECEIPT if i % 4 == 0 else Channel.QR,
                        )
                    )
        session.commit()
    return built


def page(client, url):
    reply = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    return reply.status_code, reply.get_data(as_text=True)


def test_results_need_a_sign_in(client, world):
    reply = client.get("/results/")
    assert reply.status_code == 302 and "/console/login" in reply.headers["Location"]


@pytest.mark.parametrize("email", ["evaluator@example.vn", "admin@example.vn"])
def test_evaluators_and_admins_see_every_agency(client, world, email):
    login(client, email)
    status, html = page(client, "/results/")
    assert status == 200
    for name in ("OWN (en)", "OWN-X (en)", "OTHER (en)"):
        assert name in html
    assert "<svg" in html and "Service index, 2026-Q2" in html
    assert "sampling error only" in html
    # 30 of 40 satisfied on every criterion: 75.00; a quarter of the answers are verified.
    assert ">75.00<" in html and ">25%<" in html


def test_manager_sees_own_subtree_only(client, world):
    login(client, "manager@example.vn")
    status, html = page(client, "/results/")
    assert status == 200
    assert "OWN (en)" in html and "OWN-X (en)" in html
    assert "OTHER (en)" not in html
    # The Vietnamese page names the agencies in Vietnamese.
    vietnamese = client.get("/results/?lang=vi").get_data(as_text=True)
    assert "Sở Tư pháp tỉnh Minh Hòa" in vietnamese and "Sở Xây dựng" not in vietnamese
    assert page(client, "/results/agency/OTHER")[0] == 404
    assert page(client, "/results/agency/OWN-X")[0] == 200
    for fmt in ("csv", "json"):
        body = client.get(f"/results/download.{fmt}").get_data(as_text=True)
        assert "OTHER" not in body and "OWN-X" in body


def test_agency_page_shows_elements_criteria_and_trend(client, world):
    login(client, "evaluator@example.vn")
    status, html = page(client, "/results/agency/OWN?period=quarter")
    assert status == 200
    assert "Service index over time" in html and "<polyline" in html
    for key in ("A1", "E3", "OVERALL"):
        assert f">{key} <span" in html
    assert "Outcome reported back promptly" in html


def test_downloads_match_the_index_command(client, runner, world):
    login(client, "evaluator@example.vn")
    reply = client.get("/results/download.json?period=quarter&design=srs")
    assert reply.status_code == 200
    assert "attachment" in reply.headers["Content-Disposition"]
    report = json.loads(reply.get_data(as_text=True))
    command = json.loads(
        runner.invoke(args=["indices", "--format", "json", "--period", "quarter"]).output
    )
    assert [r["estimate"] for r in report["rows"]] == [r["estimate"] for r in command["rows"]]
    table = list(
        csv.DictReader(io.StringIO(client.get("/results/download.csv").get_data(as_text=True)))
    )
    assert len(table) == len(report["rows"])
    book = load_workbook(io.BytesIO(client.get("/results/download.xlsx").get_data()))
    assert book["indices"].max_row == len(report["rows"]) + 1


@pytest.mark.parametrize(
    "query",
    [
        "period=week",
        "design=magic",
        "from=31/12/2026",
        "from=2026-05-01&to=2026-01-01",
        "confidence=2",
        "questionnaire=nope",
    ],
)
def test_bad_filters_say_what_is_wrong(client, world, query):
    login(client, "evaluator@example.vn")
    status, html = page(client, f"/results/?{query}")
    assert status == 400
    assert "We could not accept this request" in html


def test_unknown_download_format_is_404(client, world):
    login(client, "evaluator@example.vn")
    assert client.get("/results/download.pdf").status_code == 404


def test_indices_api_needs_a_token_and_returns_the_report(app_config, make_agency, make_counter):
    from survey import create_app

    token = "evaluator-api-token-0123456789"
    api_app = create_app(app_config | {"API_TOKENS": token})
    client = api_app.test_client()
    assert client.get("/api/v1/indices").status_code == 401
    assert (
        client.get("/api/v1/indices", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    auth = {"Authorization": f"Bearer {token}"}
    empty = client.get("/api/v1/indices?period=quarter", headers=auth)
    assert empty.status_code == 200 and empty.get_json()["rows"] == []
    bad = client.get("/api/v1/indices?design=magic", headers=auth)
    assert bad.status_code == 400 and bad.get_json() == {
        "error": "bad-filter",
        "message": "Unknown design: magic",
    }
    db.dispose_engines(api_app)


def test_indices_api_rows_match_the_command(client, runner, world, app_config):
    from survey import create_app

    token = "evaluator-api-token-0123456789"
    api_app = create_app(app_config | {"API_TOKENS": token})
    reply = api_app.test_client().get(
        "/api/v1/indices?period=quarter&design=cluster",
        headers={"Authorization": f"Bearer {token}"},
    )
    report = reply.get_json()
    command = json.loads(
        runner.invoke(
            args=["indices", "--format", "json", "--period", "quarter", "--design", "cluster"]
        ).output
    )
    assert report["design"] == "cluster"
    assert [(r["agency"], r["key"], r["estimate"], r["ci_low"]) for r in report["rows"]] == [
        (r["agency"], r["key"], r["estimate"], r["ci_low"]) for r in command["rows"]
    ]
    db.dispose_engines(api_app)
