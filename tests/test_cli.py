"""Database and demo commands."""

from datetime import datetime

from sqlalchemy import func, select

from survey import db
from survey.models import Agency, Counter, Response


def test_init_db_can_run_any_number_of_times(runner):
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0 and "up to date" in result.output


def test_demo_loads_a_province_once_with_real_differences(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        agencies = session.scalars(select(Agency)).all()
        assert len(agencies) >= 12
        # The levels since 1 July 2025: no district in the demo.
        assert {a.level for a in agencies} == {
            "province",
            "department",
            "centre",
            "branch",
            "commune",
        }
        assert session.scalar(select(func.count()).select_from(Counter)) == 40
        scores = session.scalars(select(Response.scores)).all()
        days = session.scalars(select(Response.local_day)).all()
        assert len(scores) > 5000
        first, last = (datetime.strptime(str(d), "%Y%m%d") for d in (min(days), max(days)))
        assert (last - first).days > 300  # spans most of a year
        missing = sum(s.count("0") for s in scores) / sum(len(s) for s in scores)
        assert 0.04 < missing < 0.2
        # Agencies differ: the share of 4-5 answers ranges widely between counters.
        shares = session.execute(select(Response.counter_id, Response.scores)).all()
    by_counter: dict[int, list[float]] = {}
    for counter_id, s in shares:
        valid = [c for c in s if c != "0"]
        by_counter.setdefault(counter_id, []).append(
            sum(c >= "4" for c in valid) / len(valid) if valid else 0
        )
    means = [sum(v) / len(v) for v in by_counter.values()]
    assert max(means) - min(means) > 0.2
    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert runner.invoke(args=["demo"]).exit_code == 1
