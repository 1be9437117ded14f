"""The results pages: what each role sees, filters, charts, and downloads."""

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from survey import db
from survey.models import Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day

# The criteria of sipas-service in the order of the stored answers, by element; OVERALL follows.
ELEMENTS = {
    "A": ("A1", "A2", "A3"),
    "B": ("B1", "B2", "B3", "B4"),
    "C": ("C1", "C2", "C3"),
    "D": ("D1", "D2", "D3"),
    "E": ("E1", "E2", "E3"),
}
CRITERIA = [key for keys in ELEMENTS.values() for key in keys]
# Satisfied answers out of 40 at each counter, by month (February: 2026-Q1, May: 2026-Q2).
GOOD = {"OWN": {2: 30, 5: 26}, "OWN-X": {2: 20, 5: 24}, "OTHER": {2: 10, 5: 12}}


def answers(i: int, good: int) -> list[int]:
    """Return respondent i's 17 answers (0: does not apply) when `good` of 40 are satisfied.

    Every criterion differs, so a criterion or element read from the wrong column shows: the
    first j respondents answer criterion j "3"; every tenth finds E3 does not apply.
    """
    values = []
    for j in range(len(CRITERIA)):
        value = (4 if i % 3 == 0 else 5) if i < good else 2
        if i < j:
            value = 3
        if CRITERIA[j] == "E3" and i % 10 == 9:
            value = 0
        values.append(value)
    values.append((1, 0, 4, 0)[i % 4])  # OVERALL: half answer it, half of them satisfied
    return values


def store(app, counter_id: int, slug: str, rows: list[str], when: datetime) -> None:
    """Store one response per answer string at `counter_id` (every fourth from a receipt)."""
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"][slug])
        agency_id = session.get(Counter, counter_id).agency_id
        for i, scores in enumerate(rows):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter_id,
                    agency_id=agency_id,
                    submitted_at=when,
                    local_day=vietnam_day(when),
                    scores=scores,
                    details={},
                    channel=Channel.RECEIPT if i % 4 == 0 else Channel.QR,
                )
            )
        session.commit()


def answer_two_quarters(app, world) -> None:
    """Store 40 answers at each counter of conftest's province in each of two quarters."""
    counters = {
        "OWN": world.counter_own,
        "OWN-X": world.counter_child,
        "OTHER": world.counter_other,
    }
    for code, counter_id in counters.items():
        for month, good in GOOD[code].items():
            rows = ["".join(map(str, answers(i, good))) for i in range(40)]
            store(app, counter_id, "sipas-service", rows, datetime(2026, month, 10, 3))


@pytest.fixture
def world(world, app):
    """Return conftest's small province, with 40 answers at each counter in two quarters."""
    answer_two_quarters(app, world)
    return world


def expected_indices() -> dict[tuple[str, str, str], tuple[float | None, int]]:
    """Return {(period, agency, key): (index, answers)} computed by hand from GOOD and answers."""
    expected = {}
    months = {"2026-Q1": 2, "2026-Q2": 5}
    for period, month in months.items():
        groups = {code: [answers(i, good[month]) for i in range(40)] for code, good in GOOD.items()}
        groups["*"] = [row for rows in groups.values() for row in rows]
        for agency, rows in groups.items():
            share = {}
            for j, key in enumerate([*CRITERIA, "OVERALL"]):
                answered = [row[j] for row in rows if row[j] != 0]
                share[key] = 100 * sum(v >= 4 for v in answered) / len(answered)
                expected[(period, agency, key)] = (share[key], len(answered))
            elements = {e: sum(share[k] for k in keys) / len(keys) for e, keys in ELEMENTS.items()}
            for element, value in elements.items():
                expected[(period, agency, element)] = (value, len(rows))
            expected[(period, agency, "service")] = (sum(elements.values()) / 5, len(rows))
    return expected


def assert_rows_match(rows: list[dict], expected: dict) -> int:
    """Check that `rows` hold exactly the expected indices (published ones) and numbers of
    answers; return how many indices were published and compared."""
    got = {(r["period"], r["agency"], r["key"]): r for r in rows}
    assert set(got) == set(expected)
    published = 0
    for where, (value, n) in expected.items():
        if got[where]["status"] in ("suppressed", "không công bố", "not published"):
            # Publication rules: a suppressed row gives no number, only its n and reason.
            assert got[where]["estimate"] in (None, "") and got[where]["se"] in (None, ""), where
        else:
            assert got[where]["estimate"] == pytest.approx(value, abs=1e-9), where
            published += 1
        assert got[where]["n"] == n, where
    return published


def page(client, url):
    reply = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    return reply.status_code, reply.get_data(as_text=True)


def test_results_need_a_sign_in(client, world):
    reply = client.get("/results/")
    assert reply.status_code == 302 and "/console/login" in reply.headers["Location"]


@pytest.mark.parametrize("email", ["evaluator@example.vn", "admin@example.vn"])
def test_evaluators_and_admins_see_every_agency(client, world, email, login):
    login(client, email)
    status, html = page(client, "/results/")
    assert status == 200
    for name in ("OWN (en)", "OWN-X (en)", "OTHER (en)"):
        assert name in html
    assert "<svg" in html and "Service index, 2026-Q2" in html
    assert "sampling error only" in html
    # Each agency's service index of 2026-Q2 as computed by hand; a quarter came from receipts.
    for agency in ("OWN", "OWN-X", "OTHER"):
        value = expected_indices()[("2026-Q2", agency, "service")][0]
        assert f">{value:.2f}<" in html, agency
    assert ">25%<" in html


def test_manager_sees_own_subtree_only(client, world, login):
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


def test_agency_page_shows_elements_criteria_and_trend(client, world, login):
    login(client, "evaluator@example.vn")
    status, html = page(client, "/results/agency/OWN?period=quarter")
    assert status == 200
    assert "Service index over time" in html and "<polyline" in html
    for key in ("A1", "E3", "OVERALL"):
        assert f">{key} <span" in html
    assert "Outcome reported back promptly" in html


def test_downloads_match_the_index_command(client, runner, world, login):
    login(client, "evaluator@example.vn")
    reply = client.get("/results/download.json?period=quarter&design=srs")
    assert reply.status_code == 200
    assert "attachment" in reply.headers["Content-Disposition"]
    expected = expected_indices()
    published = assert_rows_match(json.loads(reply.get_data(as_text=True))["rows"], expected)
    assert published > len(expected) / 2
    command = runner.invoke(args=["indices", "--format", "json", "--period", "quarter"])
    assert assert_rows_match(json.loads(command.output)["rows"], expected) == published
    csv_reply = client.get("/results/download.csv?period=quarter").get_data().decode("utf-8-sig")
    table = [
        row | {"estimate": float(row["estimate"]) if row["estimate"] else None, "n": int(row["n"])}
        for row in csv.DictReader(io.StringIO(csv_reply))
    ]
    assert assert_rows_match(table, expected) == published
    book = load_workbook(io.BytesIO(client.get("/results/download.xlsx?period=quarter").get_data()))
    # A sheet per level; row 1 has the words, row 2 the codes.
    sheets = [list(book[name].values) for name in book.sheetnames if name != "Phương pháp"]
    rows = [dict(zip(s[1], values, strict=True)) for s in sheets for values in s[2:]]
    assert assert_rows_match(rows, expected) == published


def test_quick_form_rate_counts_every_answer_but_dissatisfied(
    app, client, make_agency, make_counter, login, world
):
    counter = make_counter(agency=make_agency(code="QUICK"), questionnaire="counter-quick")
    # Q1: 10 "Không hài lòng", 20 "Hài lòng", 10 "Rất hài lòng"; Q2: 5, none and 35.
    rows = [f"{1 if i < 10 else 2 if i < 30 else 3}{1 if i < 5 else 3}" for i in range(40)]
    store(app, counter.id, "counter-quick", rows, datetime(2026, 5, 10, 3))
    login(client, "evaluator@example.vn")
    reply = client.get("/results/download.json?questionnaire=counter-quick&period=quarter")
    assert reply.status_code == 200
    got = {(r["agency"], r["key"]): (r["estimate"], r["n"]) for r in reply.get_json()["rows"]}
    assert got[("QUICK", "Q1")] == (pytest.approx(75.0), 40)
    assert got[("QUICK", "Q2")] == (pytest.approx(87.5), 40)
    # One element, Q: its index and the service index are the mean of the two rates.
    assert got[("QUICK", "Q")][0] == pytest.approx(81.25)
    assert got[("QUICK", "service")][0] == pytest.approx(81.25)


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
def test_bad_filters_say_what_is_wrong(client, world, query, login):
    login(client, "evaluator@example.vn")
    status, html = page(client, f"/results/?{query}")
    assert status == 400
    assert "We could not accept this request" in html


def test_unknown_download_format_is_404(client, world, login):
    login(client, "evaluator@example.vn")
    assert client.get("/results/download.pdf").status_code == 404


def test_indices_api_needs_a_token_and_returns_the_report(app, make_token):
    token = make_token("evaluator-api@example.vn", role="evaluator")
    client = app.test_client()
    assert client.get("/api/v1/indices").status_code == 401
    assert (
        client.get("/api/v1/indices", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    auth = {"Authorization": f"Bearer {token}"}
    empty = client.get("/api/v1/indices?period=quarter", headers=auth)
    assert empty.status_code == 200 and empty.get_json()["rows"] == []
    bad = client.get("/api/v1/indices?design=magic&lang=en", headers=auth)
    assert bad.status_code == 400 and bad.get_json() == {
        "error": "bad-filter",
        "message": "Unknown design: magic",
    }


def test_indices_api_rows_are_the_hand_computed_indices(app, world, make_token):
    token = make_token("evaluator@example.vn")
    reply = app.test_client().get(
        "/api/v1/indices?period=quarter&design=cluster",
        headers={"Authorization": f"Bearer {token}"},
    )
    report = reply.get_json()
    assert report["design"] == "cluster"
    # The design changes the intervals, never the indices.
    assert_rows_match(report["rows"], expected_indices())
