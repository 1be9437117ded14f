"""Flagged responses: kept out of every index, reviewed in the console, counted in the results."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from test_browser_console import served, shoot, sign_in  # noqa: F401  (served: a fixture)
from test_console_support import post

from survey import db
from survey.flags import Flag, encode_flags
from survey.models import AuditEntry, Channel, Counter, Response, ResponseStatus, User
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values
from survey.results.filters import results_request
from survey.results.report import build_report

# 10 May 2026, 03:00 UTC: 10:00 in Vietnam.
WHEN = datetime(2026, 5, 10, 3, 0, 0)
TOO_FAST = {Flag.TOO_FAST.value: {"seconds": 3.0, "minimum_seconds": 20}}


def add(
    app,
    counter_id: int,
    score: int,
    *,
    status: str = ResponseStatus.VALID,
    flags: list[Flag] | None = None,
    evidence: dict | None = None,
    when: datetime = WHEN,
    seconds: float | None = 95.0,
    channel: str = Channel.QR,
) -> int:
    """Store one response answering `score` to every item; return its id."""
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["sipas-service"]
        version = ensure_version(session, definition)
        counter = session.get(Counter, counter_id)
        values = response_values(
            definition,
            {key: score for key in definition.scale_items},
            channel=channel,
            questionnaire_id=version.id,
            counter=counter,
            submitted_at=when,
            issued_at=when - timedelta(seconds=seconds) if seconds is not None else None,
            answer_seconds=round(seconds) if seconds is not None else None,
        )
        values |= {
            "status": status,
            "flags": encode_flags(flags or []),
            "evidence": evidence,
        }
        response = Response(**values)
        session.add(response)
        session.commit()
        return response.id


def service_index(app, agency: str = "OWN", include_flagged: bool = False):
    """Return (service index, n) of `agency` over the whole range, as the report computes it."""
    with app.app_context():
        questionnaires = app.extensions["questionnaires"]
        request = results_request(questionnaires, period="all", include_flagged=include_flagged)
        report = build_report(db.engine(), questionnaires["sipas-service"], request)
    found = [r for r in report["rows"] if r["agency"] == agency and r["key"] == "service"]
    return (found[0]["estimate"], found[0]["n"]) if found else (None, 0)


def status_of(app, response_id: int) -> tuple[str, int | None, datetime | None]:
    with app.app_context():
        response = db.session().get(Response, response_id)
        return response.status, response.reviewed_by_id, response.reviewed_at


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session().scalar(select(User.id).where(User.email == email))


@pytest.fixture
def flagged(app, world):
    """OWN: ten valid all-2 answers and three flagged all-5 ones; OWN-X and OTHER one flagged."""
    for _ in range(10):
        add(app, world.counter_own, 2)
    ids = {
        "own": [
            add(
                app,
                world.counter_own,
                5,
                status="flagged",
                flags=[Flag.TOO_FAST],
                evidence=TOO_FAST,
                seconds=3.0,
            )
            for _ in range(3)
        ],
        "child": add(
            app,
            world.counter_child,
            5,
            status="flagged",
            flags=[Flag.COUNTER_BURST],
            evidence={"counter-burst": {"in_window": 9, "limit": 4, "window_seconds": 120}},
            when=WHEN + timedelta(days=1),
        ),
        "other": add(
            app,
            world.counter_other,
            5,
            status="flagged",
            flags=[Flag.OUT_OF_HOURS],
            when=WHEN - timedelta(days=1),
        ),
    }
    return ids


def page(client, url: str, lang: str = "en") -> tuple[int, str]:
    reply = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    return reply.status_code, reply.get_data(as_text=True)


def listed(html: str) -> set[int]:
    """Return the ids of the responses the review list shows."""
    return {int(i) for i in re.findall(r'name="response" value="(\d+)"', html)}


# ---------------------------------------------------------------- the indices


def test_flagged_and_excluded_responses_move_no_index(app, world, flagged):
    assert service_index(app) == (pytest.approx(0.0), 10)
    excluded = add(app, world.counter_own, 5, status="excluded", flags=[Flag.TOO_FAST])
    assert service_index(app) == (pytest.approx(0.0), 10)
    # --include-flagged takes the flagged ones in (3 of 13 satisfied), never the excluded one.
    assert service_index(app, include_flagged=True) == (pytest.approx(300 / 13), 13)
    assert status_of(app, excluded)[0] == "excluded"


# ---------------------------------------------------------------- the list


def test_the_list_shows_reasons_in_vietnamese_timing_and_answers(client, world, flagged, login):
    login(client, "evaluator@example.vn")
    status, html = page(client, "/console/review", "vi")
    assert status == 200
    assert listed(html) == {*flagged["own"], flagged["child"], flagged["other"]}
    assert "Gửi quá nhanh so với thời gian cần để đọc phiếu" in html
    assert "Nhiều phiếu tại quầy hơn số người quầy có thể phục vụ" in html
    # Issued 09:59:57 and sent 10:00:00 Vietnam time (03:00 UTC), in 3 seconds: the times are
    # kept to the minute, the duration as a number.
    assert "10/05/2026 09:59" in html and "10/05/2026 10:00" in html
    assert "09:59:57" not in html
    assert "3 giây" in html
    # Evidence readably, and the answers decoded with their item keys.
    body = html.split("<tbody>")[1]
    assert "in_window" not in body and ": 9;" in body
    assert "A1&nbsp;5" in body and "E3&nbsp;5" in body


def test_filters_narrow_the_list(client, world, flagged, login):
    login(client, "admin@example.vn")
    assert listed(page(client, "/console/review?agency=own")[1]) == set(flagged["own"])
    with client.application.app_context():
        code = db.session().get(Counter, world.counter_child).code
    assert listed(page(client, f"/console/review?counter={code}")[1]) == {flagged["child"]}
    assert listed(page(client, "/console/review?day=2026-05-11")[1]) == {flagged["child"]}
    assert listed(page(client, "/console/review?reason=out-of-hours")[1]) == {flagged["other"]}
    assert listed(page(client, "/console/review?state=excluded")[1]) == set()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("day=2026-13-01", "is not a date"),
        ("reason=nope", "Unknown reason"),
        ("agency=NOPE", "Unknown agency"),
        ("counter=NOPE", "Unknown counter"),
        ("state=gone", "Unknown state"),
        ("page=abc", "whole number"),
    ],
)
def test_bad_filters_say_what_is_wrong(client, world, flagged, login, query, words):
    login(client, "evaluator@example.vn")
    status, html = page(client, f"/console/review?{query}")
    assert status == 400
    assert words in html and listed(html) == set()


# ---------------------------------------------------------------- decisions


def test_restore_and_exclude_many_at_once_follow_into_the_index(app, client, world, flagged, login):
    login(client, "evaluator@example.vn")
    evaluator = user_id(app, "evaluator@example.vn")
    first, second, third = flagged["own"]
    reply = post(client, "/console/review", {"response": [first, second], "decision": "restore"})
    assert reply.status_code == 303
    for response_id in (first, second):
        status, reviewer, reviewed_at = status_of(app, response_id)
        assert (status, reviewer) == ("valid", evaluator) and reviewed_at is not None
    assert status_of(app, third)[0] == "flagged"
    # Two all-5 responses back among 12: each criterion 2/12 satisfied.
    assert service_index(app) == (pytest.approx(200 / 12), 12)
    # Excluding one restored and the still flagged one keeps both out.
    reply = post(client, "/console/review", {"response": [second, third], "decision": "exclude"})
    assert reply.status_code == 303
    assert status_of(app, second)[:2] == ("excluded", evaluator)
    assert status_of(app, third)[:2] == ("excluded", evaluator)
    assert service_index(app) == (pytest.approx(100 / 11), 11)
    assert service_index(app, include_flagged=True) == (pytest.approx(100 / 11), 11)
    assert listed(page(client, "/console/review?state=restored")[1]) == {first}
    assert listed(page(client, "/console/review?state=excluded")[1]) == {second, third}
    # Every decision is in the audit log, one entry per response, with who made it.
    with app.app_context():
        entries = db.session().scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        decisions = [
            (e.action, e.target, e.user_id, e.before["status"], e.after["status"])
            for e in entries
            if e.action.startswith("response.")
        ]
    assert decisions == [
        ("response.restore", f"response:{first}", evaluator, "flagged", "valid"),
        ("response.restore", f"response:{second}", evaluator, "flagged", "valid"),
        ("response.exclude", f"response:{second}", evaluator, "valid", "excluded"),
        ("response.exclude", f"response:{third}", evaluator, "flagged", "excluded"),
    ]
    client.post("/console/logout", data={"csrf_token": ""})
    admin = app.test_client()
    login(admin, "admin@example.vn")
    html = admin.get("/console/audit?lang=vi").get_data(as_text=True)
    table = html.split("<table", 1)[-1]  # the filter's list names every action once more
    assert table.count("Đưa phiếu bị gắn cờ trở lại chỉ số") == 2
    assert table.count("Loại phiếu bị gắn cờ khỏi chỉ số") == 2
    assert f"response:{third}" in html


def test_a_manager_excludes_but_cannot_restore_their_own_agencys_responses(
    app, client, world, flagged, login
):
    login(client, "manager@example.vn")
    status, html = page(client, "/console/review")
    assert status == 200
    # Their agency and the one below; not OTHER. No restore button for them.
    assert listed(html) == {*flagged["own"], flagged["child"]}
    assert 'value="restore"' not in html and 'value="exclude"' in html
    first, second, _third = flagged["own"]
    reply = post(client, "/console/review", {"response": [first], "decision": "restore"})
    assert reply.status_code == 403
    assert "not restore them" in reply.get_data(as_text=True)
    assert status_of(app, first)[0] == "flagged"
    reply = post(client, "/console/review", {"response": [flagged["child"]], "decision": "restore"})
    assert reply.status_code == 403 and status_of(app, flagged["child"])[0] == "flagged"
    # Excluding is allowed, for several at once.
    reply = post(client, "/console/review", {"response": [first, second], "decision": "exclude"})
    assert reply.status_code == 303
    manager = user_id(app, "manager@example.vn")
    assert status_of(app, first)[:2] == ("excluded", manager)
    # Nor may they restore what they excluded.
    reply = post(client, "/console/review", {"response": [first], "decision": "restore"})
    assert reply.status_code == 403 and status_of(app, first)[0] == "excluded"


def test_a_manager_cannot_undo_a_reviewers_restore(app, client, world, flagged, login):
    first = flagged["own"][0]
    login(client, "evaluator@example.vn")
    post(client, "/console/review", {"response": [first], "decision": "restore"})
    manager = app.test_client()
    login(manager, "manager@example.vn")
    reply = post(manager, "/console/review", {"response": [first], "decision": "exclude"})
    assert reply.status_code == 403
    assert status_of(app, first)[0] == "valid"


def test_another_agencys_response_is_not_found_for_a_manager(app, client, world, flagged, login):
    login(client, "manager@example.vn")
    own = flagged["own"][0]
    reply = post(
        client, "/console/review", {"response": [own, flagged["other"]], "decision": "exclude"}
    )
    assert reply.status_code == 404
    # The whole batch is refused: not even the manager's own response changed.
    assert status_of(app, own)[0] == "flagged"
    assert status_of(app, flagged["other"])[0] == "flagged"
    assert (
        post(client, "/console/review", {"response": ["x"], "decision": "exclude"}).status_code
        == 404
    )
    assert (
        post(client, "/console/review", {"response": [99999], "decision": "exclude"}).status_code
        == 404
    )


def test_an_empty_or_unknown_decision_says_so(app, client, world, flagged, login):
    login(client, "evaluator@example.vn")
    reply = post(client, "/console/review?lang=en", {"decision": "exclude"})
    assert reply.status_code == 303
    html = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Select at least one response" in html
    reply = post(client, "/console/review", {"response": [flagged["own"][0]], "decision": "burn"})
    assert reply.status_code == 303
    assert status_of(app, flagged["own"][0])[0] == "flagged"


def test_the_menu_offers_the_review_to_those_who_may_review(client, world, login):
    login(client, "evaluator@example.vn")
    assert 'href="/console/review"' in page(client, "/console/")[1]
    assert 'href="/console/review"' in page(client, "/results/")[1]


# ---------------------------------------------------------------- the results pages


def test_results_show_flagged_and_excluded_counts_with_reasons_and_staff_links(
    app, client, world, login
):
    for i in range(10):
        channel = Channel.STAFF_LINK if i < 2 else Channel.RECEIPT if i == 2 else Channel.QR
        add(app, world.counter_own, 4, channel=channel)
    for _ in range(3):
        add(app, world.counter_own, 5, status="flagged", flags=[Flag.TOO_FAST, Flag.COUNTER_BURST])
    add(app, world.counter_own, 5, status="excluded", flags=[Flag.COUNTER_BURST])
    # A flagged response of an earlier quarter is not of the period the page shows.
    add(
        app,
        world.counter_own,
        5,
        status="flagged",
        flags=[Flag.OUT_OF_HOURS],
        when=WHEN - timedelta(days=90),
    )
    add(app, world.counter_other, 4)
    login(client, "evaluator@example.vn")
    status, html = page(client, "/results/?period=quarter")
    assert status == 200
    own_row = re.search(
        r'<th scope="row"><a href="/results/agency/OWN\?[^"]*">OWN \(en\)</a></th>(.*?)</tr>',
        html,
        re.S,
    ).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', own_row)
    # Responses, verified and staff links of OWN in 2026-Q2: 10 counted, 1 receipt, 2 staff.
    assert cells[1:4] == ["10", "10%", "20%"]
    flagged_table = html.split("Flagged and excluded responses, 2026-Q2")[1]
    row = re.search(r'<th scope="row">OWN \(en\)</th>(.*?)</tr>', flagged_table, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["3", "1"]
    assert "More responses at the counter than it can serve: 4" in row
    assert "Sent too fast to have been read: 3" in row
    assert "outside opening hours" not in row
    assert "OTHER (en)</th>" not in flagged_table.split("</table>")[0]
    vietnamese = page(client, "/results/?period=quarter", "vi")[1]
    assert "Nhiều phiếu tại quầy hơn số người quầy có thể phục vụ: 4" in vietnamese
    status, agency_html = page(client, "/results/agency/OWN?period=quarter")
    assert status == 200
    assert "Flagged, awaiting review: 3" in agency_html
    assert "Excluded after review: 1" in agency_html
    assert "made by staff (not verified): 20%" in agency_html
    assert "case-management software): 10%" in agency_html


# ---------------------------------------------------------------- in a browser


def test_the_review_page_in_a_browser(
    served,  # noqa: F811  (the fixture imported from test_browser_console)
    browser,
    world,
    flagged,
    screenshot_dir,
    tmp_path,
):
    _app, base = served
    folder = screenshot_dir or tmp_path
    files = shoot(
        browser,
        folder,
        base,
        "evaluator@example.vn",
        {
            "review": "/console/review?lang=vi",
            "results-flags": "/results/?period=all",
            "results-agency-flags": "/results/agency/OWN?period=all",
        },
    )
    assert all(f.stat().st_size > 1000 for f in files)
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    sign_in(page, base, "evaluator@example.vn")
    page.get_by_role("link", name="Flagged responses").click()
    first, second, _third = flagged["own"]
    page.get_by_label(f"#{first}").check()
    page.get_by_label(f"#{second}").check()
    page.get_by_role("button", name="Restore").click()
    assert page.get_by_text("2 responses put back into the indices.").is_visible()
    assert page.get_by_label(f"#{first}").count() == 0
    context.close()
