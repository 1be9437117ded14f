"""Stored results (survey/results/cache.py): keyed by a data version that every change the results
depend on moves, equal to a fresh computation, an old one served while a newer one is computed in
a forked process, and an agency's page computed from its own responses only."""

import time
from datetime import datetime

import numpy as np
import pytest
from needs import need
from test_results import answer_two_quarters, store

from survey import db
from survey.console import review_ops
from survey.models import Agency, Counter, Response, User
from survey.questionnaires.versions import ensure_version
from survey.receipt_links import LinkOrigin, issue_link, store_issued_link
from survey.results.cache import SLOT, Stored, make_store
from survey.results.changes import data_version
from survey.results.filters import ResultsRequest
from survey.results.report import build_report, output_rows
from survey.timeutil import vietnam_day

NUMBERS = ("estimate", "se", "ci_low", "ci_high", "mean_score", "deff", "change")


def version(app):
    with app.app_context():
        return data_version(db.engine())


def review(app, decision: str, where=None, limit: int | None = None) -> None:
    """Have the evaluator exclude or restore the responses `where` picks (the first `limit`)."""
    with app.app_context():
        session = db.session()
        query = session.query(Response).order_by(Response.id)
        if where is not None:
            query = query.filter(where)
        picked = query.limit(limit).all() if limit else query.all()
        actor = session.query(User).filter_by(email="evaluator@example.vn").one()
        review_ops.decide(session, actor, picked, decision)


LOW = Response.scores == "1" * 17  # the all-"1" answers the tests add


def test_every_change_the_results_depend_on_moves_the_data_version(app, world):
    """New responses, issued links, reviews and edits of agencies, counters and questionnaire
    versions each give a new version; a change elsewhere (a staff account) does not."""
    seen = [version(app)]

    def moved() -> bool:
        seen.append(version(app))
        return seen[-1] != seen[-2]

    store(app, world.counter_own, "sipas-service", ["5" * 17], datetime(2026, 2, 10, 3))
    assert moved() and seen[-1].responses > seen[-2].responses
    review(app, "exclude")  # the one response
    assert moved() and seen[-1].revision == seen[-2].revision + 1
    with app.app_context():
        session = db.session()
        agency = session.query(Agency).filter_by(code="OWN").one()
        agency.name_vi = "Sở Tư pháp (tên mới)"
        session.commit()
    assert moved()
    with app.app_context():
        session = db.session()
        session.get(Counter, world.counter_own).questionnaire_slug = "counter-quick"
        session.commit()
    assert moved()
    with app.app_context():
        session = db.session()
        counter = session.get(Counter, world.counter_own)
        store_issued_link(session, issue_link(counter, "HS-001", origin=LinkOrigin.STAFF))
        session.commit()
    assert moved() and seen[-1].links > seen[-2].links
    with app.app_context():
        session = db.session()
        counter = session.get(Counter, world.counter_own)
        store_issued_link(session, issue_link(counter, "HS-001", origin=LinkOrigin.API))
        session.commit()
    assert moved(), "a staff link turned into an API one changes the response rates"
    with app.app_context():
        session = db.session()
        user = session.query(User).filter_by(email="evaluator@example.vn").one()
        user.active = False
        session.commit()
    assert not moved(), "a staff account changes no result"


def test_a_questionnaire_version_and_a_new_agency_move_the_version(app, world, make_agency):
    before = version(app)
    make_agency(code="NEW", name_vi="Xã Mới", level="commune")
    assert version(app) != before
    before = version(app)
    with app.app_context():
        ensure_version(db.session(), app.extensions["questionnaires"]["counter-quick"])
        db.session().commit()
    assert version(app) != before


def _numbers(rows: list[dict]) -> dict:
    return {(r["period"], r["agency"], r["key"]): r for r in rows}


def assert_same_rows(got: list[dict], want: list[dict], fields=NUMBERS) -> None:
    got_by, want_by = _numbers(got), _numbers(want)
    assert set(got_by) == set(want_by)
    for key, row in want_by.items():
        for field in fields:
            a, b = got_by[key][field], row[field]
            if b is None:
                assert a is None, (key, field)
            else:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (key, field)
        assert got_by[key]["status"] == row["status"] and got_by[key]["n"] == row["n"]


def random_world(
    app, make_agency, make_counter, seed: int, weights: bool, prefix: str = "R"
) -> list[int]:
    """Store random answers (missing ones too) at 4 agencies of 1-3 counters over two quarters,
    with random weights and a demographic to post-stratify by; return the agency ids."""
    rng = np.random.default_rng(seed)
    ids = []
    with app.app_context():
        session = db.session()
        version_id = ensure_version(session, app.extensions["questionnaires"]["sipas-service"]).id
        session.commit()
    for a in range(4):
        agency = make_agency(code=f"{prefix}{a}", name_vi=f"Xã {prefix}{a}", level="commune")
        ids.append(agency.id)
        counters = [make_counter(agency=agency).id for _ in range(1 + a % 3)]
        with app.app_context():
            session = db.session()
            for _ in range(int(rng.integers(30, 80))):
                when = datetime(2026, int(rng.choice([2, 5])), int(rng.integers(1, 28)), 3)
                scores = rng.integers(0, 6, 17)
                session.add(
                    Response(
                        questionnaire_id=version_id,
                        counter_id=int(rng.choice(counters)),
                        agency_id=agency.id,
                        submitted_at=when,
                        local_day=vietnam_day(when),
                        scores="".join(map(str, scores)),
                        weight=float(rng.uniform(0.5, 3.0)) if weights else 1.0,
                        details={"gender": str(rng.choice(["nam", "nu"]))},
                    )
                )
            session.commit()
    return ids


@pytest.mark.parametrize("design", ["srs", "cluster"])
@pytest.mark.parametrize("weights", [False, True])
def test_an_agency_computed_alone_equals_the_whole_report(
    app, make_agency, make_counter, design, weights, tmp_path
):
    """An agency's page reads only its own responses: its rows (indices, SEs, intervals, mean
    scores, design effects, changes, statuses) equal those of the report of every agency to
    1e-9, on random data, for both designs, with weights and with post-strata."""
    ids = random_world(app, make_agency, make_counter, seed=len(design) + weights, weights=weights)
    population = tmp_path / "population.csv"
    population.write_text(
        "agency,gender,population\n"
        + "".join(f"R{a},{g},{100 + 37 * a + len(g)}\n" for a in range(4) for g in ("nam", "nu"))
    )
    with app.app_context():
        definition = app.extensions["questionnaires"]["sipas-service"]
        for poststrata in (None, population):
            request = ResultsRequest(period="quarter", design=design, poststrata=poststrata)
            whole = build_report(db.engine(), definition, request)
            for a, agency_id in enumerate(ids):
                alone = build_report(db.engine(), definition, request, agency_ids={agency_id})
                assert {r["agency"] for r in alone["rows"]} == {f"R{a}"}
                assert all(r["rank_low"] is None for r in alone["rows"])
                mine = [r for r in whole["rows"] if r["agency"] == f"R{a}"]
                assert_same_rows(alone["rows"], mine)


@pytest.mark.parametrize("design", ["srs", "cluster"])
def test_stored_files_equal_a_fresh_computation_on_random_data(
    app, client, make_agency, make_counter, login, design
):
    """Weighted random answers; a file stored, then answers added and some excluded: each file
    served equals the report computed afresh from the responses, to 1e-9."""
    from test_console_support import add_user

    random_world(app, make_agency, make_counter, seed=11, weights=True)
    add_user(app, "evaluator@example.vn", "evaluator")
    login(client, "evaluator@example.vn")
    definition = app.extensions["questionnaires"]["sipas-service"]
    request = ResultsRequest(period="quarter", design=design)
    url = f"/results/download.json?period=quarter&design={design}"

    def served_equals_fresh():
        served = client.get(url).get_json()["rows"]
        with app.app_context():
            fresh = output_rows(build_report(db.engine(), definition, request))
        assert_same_rows(served, fresh)

    served_equals_fresh()
    random_world(app, make_agency, make_counter, seed=12, weights=True, prefix="S")
    served_equals_fresh()
    review(app, "exclude", limit=25)
    served_equals_fresh()


def _overview_rows(client) -> str:
    return client.get("/results/?period=quarter&shown=2026-Q1&lang=en").get_data(as_text=True)


def test_pages_and_files_follow_every_change_when_computed_in_the_request(
    app, client, world, login
):
    """Inline refresh (the tests' setting): after a new response, an exclusion and a restore the
    stored results equal a fresh computation from the responses."""
    answer_two_quarters(app, world)
    login(client, "evaluator@example.vn")
    definition = app.extensions["questionnaires"]["sipas-service"]
    request = ResultsRequest(period="quarter")

    def check_file_equals_fresh():
        reply = client.get("/results/download.json?period=quarter")
        assert reply.status_code == 200
        with app.app_context():
            fresh = build_report(db.engine(), definition, request)
        assert_same_rows(reply.get_json()["rows"], output_rows(fresh))

    check_file_equals_fresh()
    first = _overview_rows(client)
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 5, datetime(2026, 2, 11, 3))
    check_file_equals_fresh()
    assert _overview_rows(client) != first
    review(app, "exclude", LOW)
    check_file_equals_fresh()
    assert "Figures computed at" in _overview_rows(client)
    review(app, "restore", LOW)
    check_file_equals_fresh()


@pytest.fixture
def background(app_config, tmp_path, make_agency, make_counter, login):
    """Return make(refresh_seconds) -> (app, world, evaluator's client): an app that serves old
    results while a forked process computes newer ones, on the two-quarter world."""
    from test_console_support import build_world

    from survey import create_app

    made = []

    def make(seconds: int):
        settings = {
            "RESULTS_REFRESH": "background",
            "RESULTS_CACHE_URL": f"file://{tmp_path / 'results-cache'}",
            "RESULTS_REFRESH_SECONDS": seconds,
        }
        application = create_app(app_config | settings)
        made.append(application)
        world = build_world(application, make_agency, make_counter)
        answer_two_quarters(application, world)
        client = application.test_client()
        login(client, "evaluator@example.vn")
        return application, world, client

    yield make
    for application in made:
        db.dispose_engines(application)


def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("the background computation did not finish")


def test_old_results_are_served_while_a_forked_process_computes_new_ones(background):
    app, world, client = background(0)
    url = "/results/download.csv?period=quarter"
    first = client.get(url).get_data()  # nothing stored yet: computed in the request
    assert client.get(url).get_data() == first
    assert "the figures are brought up to date" not in _overview_rows(client)
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 8, datetime(2026, 2, 11, 3))
    # The old file at once, saying so, and a newer one computed beside the worker.
    stale = client.get(url)
    assert stale.get_data() == first and stale.headers["X-Results-Up-To-Date"] == "no"
    assert stale.headers["X-Results-Computed-At"].startswith("20")
    page = _overview_rows(client)
    assert "the figures are brought up to date" in page
    _wait_for(lambda: client.get(url).get_data() != first)
    with app.app_context():
        fresh = build_report(
            db.engine(),
            app.extensions["questionnaires"]["sipas-service"],
            ResultsRequest(period="quarter"),
        )
    reply = client.get("/results/download.json?period=quarter")
    _wait_for(lambda: client.get("/results/download.json?period=quarter").get_json() is not None)
    _wait_for(lambda: _json_rows_equal(client, fresh))
    assert reply.status_code == 200
    _wait_for(lambda: "the figures are brought up to date" not in _overview_rows(client))
    _wait_for(lambda: client.get(url).headers["X-Results-Up-To-Date"] == "yes")


def _json_rows_equal(client, fresh) -> bool:
    rows = client.get("/results/download.json?period=quarter").get_json()["rows"]
    try:
        assert_same_rows(rows, output_rows(fresh))
    except AssertionError:
        return False
    return True


def test_new_responses_wait_for_the_refresh_interval_a_review_does_not(background):
    """With a long interval, new responses leave the stored result as it is (shown as older);
    an exclusion starts a new computation at once."""
    app, world, client = background(3600)
    url = "/results/download.csv?period=quarter"
    first = client.get(url).get_data()
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 8, datetime(2026, 2, 11, 3))
    assert client.get(url).get_data() == first, "new responses: not before the interval"
    assert not app.extensions["results_cache"].has(SLOT), "no computation was started"
    review(app, "exclude", LOW, limit=2)
    client.get(url)  # sees the revision: starts a computation at once
    _wait_for(lambda: client.get(url).get_data() != first)


def test_the_store_keeps_results_in_redis_when_asked(app):
    """RESULTS_CACHE_URL=redis://... keeps them in Redis, shared by every app server."""
    import redis

    try:
        reachable = redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.exceptions.ConnectionError:
        reachable = False
    need(reachable, "no Redis on 127.0.0.1:6379")
    keep = make_store("redis://127.0.0.1:6379/15", app.instance_path)
    keep.set("probe", Stored({"rows": [1]}, version(app), datetime(2026, 1, 1)))
    assert keep.get("probe").value == {"rows": [1]}
    keep.delete("probe")


def test_a_bad_store_url_is_refused_with_the_setting_named(app_config):
    from survey import create_app

    with pytest.raises(ValueError, match="RESULTS_CACHE_URL"):
        create_app(app_config | {"RESULTS_CACHE_URL": "memcached://x"})


def test_a_manager_never_gets_a_file_stored_for_an_evaluator(app, client, world, login):
    """The agencies a file covers are part of its key: an evaluator's full file, stored first,
    is not what the manager of one agency downloads."""
    answer_two_quarters(app, world)
    login(client, "evaluator@example.vn")
    everything = client.get("/results/download.json?period=quarter").get_json()
    assert {"OWN", "OTHER"} <= {r["agency"] for r in everything["rows"]}
    other = app.test_client()
    login(other, "manager@example.vn")
    mine = other.get("/results/download.json?period=quarter").get_json()
    assert "OTHER" not in {r["agency"] for r in mine["rows"]}


def test_clearing_the_stored_results_after_a_restore(app, runner, world, login, client):
    """`flask results clear-cache` (after a restore) starts a new epoch and empties the store:
    the next view computes again."""
    answer_two_quarters(app, world)
    login(client, "evaluator@example.vn")
    client.get("/results/download.csv?period=quarter")
    before = version(app)
    kept = app.extensions["results_cache"]._cache  # the tests' store: SimpleCache, a dict
    assert any(key.startswith("file-csv:") for key in kept)
    result = runner.invoke(args=["results", "clear-cache"])
    assert result.exit_code == 0, result.output
    assert "cleared" in result.output and not kept
    after = version(app)
    assert after.epoch != before.epoch and after.revision == 0
    assert client.get("/results/download.csv?period=quarter").status_code == 200


def test_a_file_made_from_an_older_report_says_so_and_keeps_its_version(background):
    """A new file made from a stored report that is not yet due again is of that report's data
    version: it says it is not up to date, and is computed again in its turn."""
    app, world, client = background(3600)
    assert client.get("/results/download.csv?period=quarter").status_code == 200
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 8, datetime(2026, 2, 11, 3))
    first_json = client.get("/results/download.json?period=quarter")
    assert first_json.headers["X-Results-Up-To-Date"] == "no"
    with app.app_context():
        fresh_report = build_report(
            db.engine(),
            app.extensions["questionnaires"]["sipas-service"],
            ResultsRequest(period="quarter"),
        )
    # The report as it was: the 8 new answers are not in it yet.
    own = [r for r in first_json.get_json()["rows"] if r["agency"] == "OWN"]
    fresh_own = [r for r in output_rows(fresh_report) if r["agency"] == "OWN"]
    assert {r["n"] for r in own if r["key"] == "service"} != {
        r["n"] for r in fresh_own if r["key"] == "service"
    }
    # Stored with the report's older version, it is still not up to date at the next view.
    again = client.get("/results/download.json?period=quarter")
    assert again.headers["X-Results-Up-To-Date"] == "no"


def test_a_refresh_slot_left_by_a_computation_that_died_expires(background):
    """A computation killed by its alarm (or a reboot) leaves the slot behind: once it has
    expired, the next view starts a new computation."""
    app, world, client = background(0)
    url = "/results/download.csv?period=quarter"
    first = client.get(url).get_data()
    app.extensions["results_cache"].set(SLOT, 12345, timeout=1)  # as a dead computation left it
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 8, datetime(2026, 2, 11, 3))
    assert client.get(url).headers["X-Results-Up-To-Date"] == "no"
    assert app.extensions["results_cache"].get(SLOT) == 12345, "the slot held back the view"
    _wait_for(lambda: client.get(url).get_data() != first)


def test_a_fork_that_fails_serves_the_old_result_and_frees_the_slot(background, monkeypatch):
    """No process to spare (fork fails): the old file is served, not a 500, and the slot is
    free for the next view."""
    import os

    app, world, client = background(0)
    url = "/results/download.csv?period=quarter"
    first = client.get(url).get_data()
    store(app, world.counter_own, "sipas-service", ["1" * 17] * 8, datetime(2026, 2, 11, 3))

    def no_fork():
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    reply = client.get(url)
    assert reply.status_code == 200 and reply.get_data() == first
    assert reply.headers["X-Results-Up-To-Date"] == "no"
    assert not app.extensions["results_cache"].has(SLOT)
