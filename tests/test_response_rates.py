"""Response rates: every receipt link issued is stored once per dossier; issued, answered and
the rate per counter and agency over a date range (Vietnam days), staff links apart."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select
from test_console_support import add_user, post

from survey import db
from survey.models import Counter, IssuedReceiptLink, Response
from survey.questionnaires.versions import ensure_version
from survey.receipt_links import LinkOrigin, issue_link, store_issued_link
from survey.responses import response_values
from survey.results.filters import ResultsRequest
from survey.results.rates import response_rates
from survey.timeutil import VIETNAM

MARCH = ResultsRequest(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))


def vn(*parts) -> datetime:
    """Return a moment given in Vietnam's time, as an aware datetime."""
    return datetime(*parts, tzinfo=VIETNAM)


def issue(app, counter_id: int, dossier: str, at: datetime, origin=LinkOrigin.API):
    """Issue and store a link for `dossier` at `at`; return the dossier's hash."""
    with app.app_context():
        session = db.session()
        issued = issue_link(session.get(Counter, counter_id), dossier, at, origin=origin)
        store_issued_link(session, issued)
        session.commit()
        return issued.dossier_hash


def answer(app, counter_id: int, hashed: str, at: datetime, status: str = "valid") -> None:
    """Store a response to the link of dossier hash `hashed`."""
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["sipas-service"]
        values = response_values(
            definition,
            dict.fromkeys(definition.scale_items, 4),
            channel="receipt",
            questionnaire_id=ensure_version(session, definition).id,
            counter=session.get(Counter, counter_id),
            submitted_at=at.astimezone(UTC).replace(tzinfo=None),
            dossier_hash=hashed,
        )
        values["status"] = status
        session.execute(insert(Response), [values])
        session.commit()


@pytest.fixture
def province(make_agency, make_counter):
    """Return two agencies: OWN with counters A and B, OTHER with counter C (their ids)."""
    own = make_agency(code="OWN", name_vi="Sở Tư pháp")
    other = make_agency(code="OTHER", name_vi="Sở Xây dựng")
    a, b = make_counter(agency=own), make_counter(agency=own)
    c = make_counter(agency=other)
    return {"own": own.id, "other": other.id, "a": a.id, "b": b.id, "c": c.id}


def test_a_dossier_issued_again_is_stored_once_with_its_first_issue(app, province):
    first = issue(app, province["a"], "H56-1", vn(2026, 3, 2, 9), LinkOrigin.STAFF)
    again = issue(app, province["b"], " h56-1 ", vn(2026, 3, 20, 9), LinkOrigin.API)
    assert first == again  # the same dossier, typed differently
    with app.app_context():
        (row,) = db.session().scalars(select(IssuedReceiptLink)).all()
        # The first issue's counter and time; the later expiry; the API vouches for it now.
        assert row.counter_id == province["a"]
        assert row.issued_at == datetime(2026, 3, 2, 2, 0)  # 09:00 in Vietnam, in UTC
        assert row.expires_at == datetime(2026, 4, 19, 2, 0)  # 30 days after the second
        assert row.origin == "api"
        assert len(row.dossier_hash) == 64 and "H56" not in row.dossier_hash


def test_issued_answered_and_rate_per_counter_and_agency_over_vietnam_days(app, province):
    a, b, c = province["a"], province["b"], province["c"]
    # Counter A: four API links in March, three answered (one of them flagged: still answered).
    hashes = [issue(app, a, f"A-{i}", vn(2026, 3, 5 + i, 10)) for i in range(4)]
    answer(app, a, hashes[0], vn(2026, 3, 6, 10))
    answer(app, a, hashes[1], vn(2026, 4, 2, 10))  # answered in April: its link is March's
    answer(app, a, hashes[2], vn(2026, 3, 9, 10), status="flagged")
    # Counter A again: the last minutes of 31 March in Vietnam count, the first of 1 April not,
    # though both are 31 March in UTC.
    issue(app, a, "A-late", vn(2026, 3, 31, 23, 50))
    issue(app, a, "A-april", vn(2026, 4, 1, 0, 10))
    issue(app, a, "A-feb", vn(2026, 2, 28, 23, 50))
    # The same dossier issued again in March: counted once.
    issue(app, a, "A-0", vn(2026, 3, 25, 10))
    # Counter B: two API links, none answered; one staff link, answered.
    issue(app, b, "B-1", vn(2026, 3, 10, 8))
    issue(app, b, "B-2", vn(2026, 3, 11, 8))
    staff = issue(app, b, "B-staff", vn(2026, 3, 12, 8), LinkOrigin.STAFF)
    answer(app, b, staff, vn(2026, 3, 12, 9))
    # Counter C, another agency: one link, answered.
    answer(app, c, issue(app, c, "C-1", vn(2026, 3, 3, 8)), vn(2026, 3, 3, 9))

    with app.app_context():
        rates = response_rates(db.session(), MARCH, {province["own"], province["other"]})
        whole = response_rates(db.session(), ResultsRequest(), {province["own"]})
        only_other = response_rates(db.session(), MARCH, {province["other"]})
    counter_a = rates.counters[a].verified
    assert (counter_a.issued, counter_a.answered) == (5, 3)
    assert counter_a.rate == pytest.approx(60.0)
    counter_b = rates.counters[b]
    assert (counter_b.verified.issued, counter_b.verified.answered) == (2, 0)
    assert counter_b.verified.rate == 0
    assert (counter_b.staff.issued, counter_b.staff.answered) == (1, 1)
    own = rates.agencies[province["own"]]
    assert (own.verified.issued, own.verified.answered) == (7, 3)
    assert own.verified.rate == pytest.approx(300 / 7)
    assert (own.staff.issued, own.staff.answered) == (1, 1)
    assert (rates.total.verified.issued, rates.total.verified.answered) == (8, 4)
    # Without dates, every link: A's April and February ones too.
    assert whole.agencies[province["own"]].verified.issued == 9
    # Only the agencies asked for.
    assert set(only_other.agencies) == {province["other"]} and set(only_other.counters) == {c}


def test_no_link_no_rate(app, province):
    with app.app_context():
        rates = response_rates(db.session(), MARCH, {province["own"]})
        assert rates.agencies == {} and rates.total.verified.rate is None
        assert response_rates(db.session(), MARCH, set()).counters == {}


def test_links_made_in_the_console_and_through_the_api_are_stored(
    app, client, province, login, make_token
):
    add_user(app, "admin@example.vn", "admin")
    make_token("admin@example.vn", plain="rate-test-token-0123456789")
    login(client, "admin@example.vn")
    reply = post(client, "/console/receipts", {"counter": province["a"], "dossier": "H56-9"})
    assert reply.status_code == 200
    with app.app_context():
        code = db.session().get(Counter, province["b"]).code
    api = client.post(
        "/api/v1/receipts",
        json={"counter": code, "dossier": "H56-10"},
        headers={"Authorization": "Bearer rate-test-token-0123456789"},
    )
    with app.app_context():
        rows = db.session().scalars(select(IssuedReceiptLink).order_by(IssuedReceiptLink.id))
        stored = [(r.counter_id, r.origin) for r in rows]
    assert api.status_code == 201
    assert stored == [(province["a"], "staff"), (province["b"], "api")]


def test_the_results_pages_show_the_rates(app, client, province, login):
    a = province["a"]
    for i in range(4):
        hashed = issue(app, a, f"P-{i}", vn(2026, 3, 5 + i, 10))
        if i:
            answer(app, a, hashed, vn(2026, 3, 5 + i, 11))
    issue(app, province["b"], "P-staff", vn(2026, 3, 5, 10), LinkOrigin.STAFF)
    add_user(app, "evaluator@example.vn", "evaluator")
    login(client, "evaluator@example.vn")
    query = "from=2026-03-01&to=2026-03-31&period=all&lang=vi"
    page = client.get(f"/results/agency/OWN?{query}").get_data(as_text=True)
    section = page.split('class="response-rate"')[1].split("</section>")[0]
    with app.app_context():
        counter_a = db.session().get(Counter, a)
        label = f"{counter_a.code} · {counter_a.name}"
    cells = '<td class="num">4</td><td class="num">3</td><td class="num">75%</td>'
    assert f'<th scope="row">{label}</th>{cells}' in section
    # The agency's total: A's four links, B's staff link apart and outside the rate.
    assert f'{cells}<td class="num">1</td><td class="num">0</td></tr>' in section
    assert "Tỷ lệ phản hồi" in section
    overview = client.get(f"/results/?{query}").get_data(as_text=True)
    section = overview.split('class="response-rate"')[1].split("</section>")[0]
    assert f'<th scope="row">Sở Tư pháp</th>{cells}' in section
    # A period with no link says so.
    empty = client.get("/results/agency/OWN?from=2026-05-01&to=2026-05-31&period=all&lang=vi")
    assert "Không có đường dẫn phiếu hẹn nào được cấp" in empty.get_data(as_text=True)
