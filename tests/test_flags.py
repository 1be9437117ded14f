"""Trust in the count: proxies, limits that stop floods and not people, flags on stuffing.

Time is driven by a clock the test controls (`clock`): the nonce's issue time, the rate-limit
and flag windows and the stored submission time all follow it.
"""

import pytest
from helpers import SUNDAY_9PM, Clock, full_answers, hidden_fields
from sqlalchemy import select

from survey import create_app, db
from survey.models import Agency, Response, ResponseStatus


def send(client, token: str, clock: Clock, seconds: float, value: str = "5", address=None):
    """Open the form, spend `seconds` on it, send it; return the reply."""
    headers = {"X-Forwarded-For": address} if address else {}
    page = client.get(f"/s/{token}", headers=headers)
    assert page.status_code == 200
    clock.advance(seconds)
    data = hidden_fields(page.get_data(as_text=True)) | full_answers(value)
    return client.post(f"/s/{token}", data=data, headers=headers)


def responses(app) -> list[Response]:
    with app.app_context():
        return db.session().scalars(select(Response).order_by(Response.id)).all()


# ---------------------------------------------------------------- proxies


@pytest.mark.parametrize("hops, separate", [(0, False), (1, True)])
def test_client_address_comes_from_the_proxy_only_when_configured(
    app_config, make_counter, hops, separate
):
    counter = make_counter()
    limited = create_app(
        app_config
        | {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "1 per minute"}
        | {"PROXY_HOPS": hops}
    )
    try:
        codes = []
        for address in ("203.0.113.1", "203.0.113.2"):
            client = limited.test_client()
            page = client.get(f"/s/{counter.token}")
            data = hidden_fields(page.get_data(as_text=True)) | full_answers()
            headers = {"X-Forwarded-For": address}
            codes.append(client.post(f"/s/{counter.token}", data=data, headers=headers).status_code)
        # Two citizens behind the proxy: with PROXY_HOPS=1 two addresses, two budgets; with 0 the
        # header is ignored (anyone can send it) and both share the proxy's own address.
        assert codes == ([303, 303] if separate else [303, 429])
    finally:
        db.dispose_engines(limited)


def test_the_scheme_comes_from_the_proxy_when_configured(app_config):
    from flask import request

    for hops, expected in ((0, "http"), (1, "https")):
        application = create_app(app_config | {"PROXY_HOPS": hops})
        application.add_url_rule("/scheme-probe", "probe", lambda: request.scheme)
        reply = application.test_client().get(
            "/scheme-probe", headers={"X-Forwarded-Proto": "https"}
        )
        assert reply.get_data(as_text=True) == expected
        db.dispose_engines(application)


def test_a_bad_proxy_hops_setting_stops_start_up_with_its_name(monkeypatch):
    from survey.config import environment_overrides

    monkeypatch.setenv("PROXY_HOPS", "one")
    with pytest.raises(SystemExit, match="PROXY_HOPS"):
        environment_overrides()


# ---------------------------------------------------------------- the flags


def test_a_form_sent_too_fast_is_kept_flagged_with_its_timing(flagging_app, clock, make_counter):
    counter = make_counter()
    client = flagging_app.test_client()
    assert send(client, counter.token, clock, seconds=4).status_code == 303
    assert send(client, counter.token, clock, seconds=45).status_code == 303
    fast, honest = responses(flagging_app)
    assert fast.status == ResponseStatus.FLAGGED and fast.flags == "too-fast"
    assert fast.evidence == {"too-fast": {"seconds": 4.0, "minimum_seconds": 20}}
    # The duration is kept as a number; the times themselves only to the minute.
    assert (fast.answer_seconds, honest.answer_seconds) == (4, 45)
    assert fast.submitted_at.second == 0 and fast.issued_at.second == 0
    assert honest.status == ResponseStatus.VALID and honest.flags is None
    # The citizen is thanked all the same: a flag is for the reviewers, not a refusal.


def test_the_quick_form_needs_only_a_couple_of_seconds(flagging_app, clock, make_counter):
    counter = make_counter(questionnaire="counter-quick")
    client = flagging_app.test_client()
    page = client.get(f"/s/{counter.token}")
    clock.advance(3)
    data = hidden_fields(page.get_data(as_text=True)) | {"Q1": "3", "Q2": "3"}
    assert client.post(f"/s/{counter.token}", data=data).status_code == 303
    assert responses(flagging_app)[0].status == ResponseStatus.VALID


def test_forms_opened_out_of_hours_are_flagged_by_the_agencys_hours(
    flagging_app, clock, make_counter, make_agency
):
    counter = make_counter()
    weekend = make_counter(agency=make_agency(code="TTHCC", name_vi="Trung tâm Phục vụ HCC"))
    with flagging_app.app_context():
        agency = db.session().get(Agency, weekend.agency_id)
        agency.opening_hours = "Mon-Sun 07:00-22:00"
        db.session().commit()
    clock.now = SUNDAY_9PM
    assert send(flagging_app.test_client(), counter.token, clock, 60).status_code == 303
    assert send(flagging_app.test_client(), weekend.token, clock, 60).status_code == 303
    closed, open_late = responses(flagging_app)
    assert closed.flags == "out-of-hours" and closed.status == ResponseStatus.FLAGGED
    assert closed.evidence["out-of-hours"] == {"opened": "2026-11-08 21:00"}
    assert open_late.status == ResponseStatus.VALID


def test_one_browser_sending_again_and_again_at_a_counter_is_flagged(
    flagging_app, clock, make_counter
):
    counter = make_counter()
    client = flagging_app.test_client()
    for _ in range(5):
        # Each form read for a minute, so no speed check catches it; one session throughout.
        assert send(client, counter.token, clock, 60, address="198.51.100.7").status_code == 303
        clock.advance(60)
    statuses = [(r.status, r.flags) for r in responses(flagging_app)]
    assert statuses[:3] == [(ResponseStatus.VALID, None)] * 3
    assert statuses[3:] == [(ResponseStatus.FLAGGED, "repeat-client")] * 2
    assert responses(flagging_app)[3].evidence["repeat-client"]["window"] == "session"


def test_more_responses_than_a_counter_can_serve_are_flagged(flagging_app, clock, make_counter):
    counter = make_counter()
    replies = []
    for i in range(6):
        # Six people, six phones, six addresses, 21 seconds apart at one counter.
        client = flagging_app.test_client()
        replies.append(send(client, counter.token, clock, 21, address=f"198.51.100.{i}"))
    assert [r.status_code for r in replies] == [303] * 6
    flags = [r.flags for r in responses(flagging_app)]
    assert flags == [None] * 4 + ["counter-burst"] * 2
    assert responses(flagging_app)[4].evidence["counter-burst"]["limit"] == 4
    # The window moves on: once the first ones are two minutes old, the counter counts again.
    clock.advance(60)
    send(flagging_app.test_client(), counter.token, clock, 21, address="198.51.100.99")
    assert responses(flagging_app)[-1].flags is None


def test_a_counters_own_burst_limit_is_used(flagging_app, clock, make_counter):
    counter = make_counter()
    with flagging_app.app_context():
        from survey.models import Counter

        db.session().get(Counter, counter.id).burst_limit = 2
        db.session().commit()
    for i in range(3):
        send(flagging_app.test_client(), counter.token, clock, 25, address=f"198.51.100.{i}")
    assert [r.flags for r in responses(flagging_app)] == [None, None, "counter-burst"]


def test_a_nonce_from_another_browser_session_is_not_stored(flagging_app, clock, make_counter):
    counter = make_counter()
    harvester = flagging_app.test_client()
    page = harvester.get(f"/s/{counter.token}")
    clock.advance(60)
    harvested = hidden_fields(page.get_data(as_text=True))
    other = flagging_app.test_client()
    other.get(f"/s/{counter.token}")  # a session and CSRF token of its own
    own = hidden_fields(other.get(f"/s/{counter.token}").get_data(as_text=True))
    reply = other.post(
        f"/s/{counter.token}", data=own | {"nonce": harvested["nonce"]} | full_answers()
    )
    # Answers kept, a fresh nonce of this session, asked to send again; nothing stored.
    assert reply.status_code == 422
    assert hidden_fields(reply.get_data(as_text=True))["nonce"] != harvested["nonce"]
    assert responses(flagging_app) == []


def test_a_nonce_lives_only_as_long_as_a_form_is_plausibly_open(flagging_app, clock, make_counter):
    counter = make_counter()
    client = flagging_app.test_client()
    reply = send(client, counter.token, clock, seconds=4 * 3600)
    assert reply.status_code == 422 and responses(flagging_app) == []
