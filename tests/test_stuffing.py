"""The attack test: ballot stuffing from the counter's own address moves no index.

A commune's four counters serve 200 honest citizens through one working day. Every citizen has
a phone (a session) of their own, but all of them come through the same address as the
attacker (the centre's Wi-Fi), and each takes 40 to 70 seconds over the SIPAS form. At 10:00
one address sends 1,000 all-"Rất hài lòng" forms in one minute at one counter: a script that
sends each form at once, or a slower one whose many parallel sessions each wait long enough to
pass the speed check. While stuffing, that counter's clerk serves no one. The agency's service
index for the month must move by less than one point against the same day without the attack,
and every honest citizen must be thanked and counted.
"""

import heapq
import itertools
from datetime import UTC, datetime

import numpy as np
import pytest
from helpers import SIPAS_ITEMS, Clock, hidden_fields
from sqlalchemy import delete, select

from survey import create_app, db
from survey.models import Response, ResponseStatus
from survey.results.filters import results_request
from survey.results.report import build_report

OPENING = datetime(2026, 11, 3, 0, 30, tzinfo=UTC).timestamp()  # Tuesday 07:30 in Vietnam
ATTACK = datetime(2026, 11, 3, 3, 0, tzinfo=UTC).timestamp()  # 10:00
COUNTERS = 4
HONEST = 200
ATTACKS = 1000


def honest_citizens(rng) -> list[dict]:
    """Return each honest citizen's counter, the moment they open the form, and their answers."""
    citizens = []
    per_counter = HONEST // COUNTERS
    for counter in range(COUNTERS):
        moment = OPENING
        for _ in range(per_counter):
            serving = rng.uniform(5 * 60, 15 * 60)
            if counter == 0 and moment < ATTACK + 60 and moment + serving > ATTACK - 60:
                moment = ATTACK + 60  # the clerk was busy stuffing the count
            moment += serving
            answers = rng.choice(["2", "3", "4", "5"], p=[0.1, 0.25, 0.4, 0.25], size=16)
            citizens.append(
                {
                    "counter": counter,
                    "opens": moment,
                    "sends": moment + rng.uniform(40, 70),
                    "answers": dict(zip(SIPAS_ITEMS, answers.tolist(), strict=True)),
                }
            )
    return citizens


def attack_plan(kind: str) -> list[tuple[float, float]]:
    """Return (opens, sends) of each of the 1,000 forms of the attack."""
    plan = []
    for i in range(ATTACKS):
        sends = ATTACK + i * 60 / ATTACKS
        # The fast script sends each form as soon as it has it; the slow one opens all its
        # sessions' forms first, then sends each more than 20 seconds later.
        opens = sends - 0.05 if kind == "fast" else ATTACK - 60 + i * 30 / ATTACKS
        plan.append((opens, sends))
    return plan


def run_day(app, tokens: list[str], clock: Clock, attack: str | None) -> dict:
    """Play the day in time order; return the honest replies and response ids, and the attack's."""
    rng = np.random.default_rng(20261103)
    events = []
    order = itertools.count()  # keeps events at the same moment in a fixed order
    for citizen in honest_citizens(rng):
        client = app.test_client()
        heapq.heappush(events, (citizen["opens"], next(order), "open", client, citizen))
    if attack:
        for opens, sends in attack_plan(attack):
            fake = {"counter": 0, "sends": sends, "answers": dict.fromkeys(SIPAS_ITEMS, "5")}
            heapq.heappush(events, (opens, next(order), "open", app.test_client(), fake))
    outcome = {"honest": [], "attack": []}
    while events:
        moment, _, action, client, who = heapq.heappop(events)
        clock.now = moment
        token = tokens[who["counter"]]
        if action == "open":
            page = client.get(f"/s/{token}")
            assert page.status_code == 200
            who["hidden"] = hidden_fields(page.get_data(as_text=True))
            heapq.heappush(events, (who["sends"], next(order), "send", client, who))
            continue
        reply = client.post(f"/s/{token}", data=who["hidden"] | who["answers"])
        outcome["attack" if "opens" not in who else "honest"].append(reply.status_code)
    return outcome


def service_index(app) -> float:
    """Return the commune's service index for November 2026 from the results report."""
    with app.app_context():
        questionnaires = app.extensions["questionnaires"]
        request = results_request(questionnaires, period="month")
        report = build_report(db.engine(), questionnaires["sipas-service"], request)
    (row,) = [
        r
        for r in report["rows"]
        if r["agency"] == "XA-AN" and r["key"] == "service" and r["period"] == "2026-11"
    ]
    return row["estimate"]


@pytest.fixture
def day_app(app_config, make_agency, make_counter, monkeypatch):
    """Return the production-like app, the commune's counter tokens and the test's clock."""
    clock = Clock(OPENING)
    monkeypatch.setattr("time.time", clock)
    monkeypatch.setattr(
        "survey.responses.utcnow",
        lambda: datetime.fromtimestamp(clock(), UTC).replace(tzinfo=None),
    )
    commune = make_agency(code="XA-AN", name_vi="UBND xã An Bình", level="commune")
    tokens = [make_counter(agency=commune).token for _ in range(COUNTERS)]
    application = create_app(app_config | {"FLAG_SUSPICIOUS": True, "RATELIMIT_ENABLED": True})
    yield application, tokens, clock
    db.dispose_engines(application)


@pytest.mark.parametrize("attack", ["fast", "slow"])
def test_stuffing_at_one_counter_moves_the_index_by_less_than_a_point(day_app, attack):
    app, tokens, clock = day_app
    outcome = run_day(app, tokens, clock, attack)
    # Every honest citizen was thanked ...
    assert outcome["honest"] == [303] * HONEST
    with app.app_context():
        stored = db.session().scalars(select(Response)).all()
    honest_ids = {r.id for r in stored if r.scores != "5" * 16 + "0"}
    # ... and counted: no honest response was flagged (none answered all 5s: see the draws).
    assert all(r.status == ResponseStatus.VALID for r in stored if r.id in honest_ids)
    assert len(honest_ids) == HONEST
    attack_rows = [r for r in stored if r.id not in honest_ids]
    # Most of the flood was held back by the limit (the form again, nothing stored); what was
    # stored is flagged, all but the first few of the slow attack.
    assert outcome["attack"].count(429) >= ATTACKS - 60
    counted = [r for r in attack_rows if r.status == ResponseStatus.VALID]
    assert len(counted) <= 3
    with_attack = service_index(app)
    with app.app_context():
        session = db.session()
        session.execute(delete(Response).where(Response.id.not_in(honest_ids)))
        session.commit()
    without_attack = service_index(app)
    assert abs(with_attack - without_attack) < 1.0, (with_attack, without_attack)
