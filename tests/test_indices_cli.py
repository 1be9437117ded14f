"""The `indices` command on stored responses: selection, periods, designs, formats, post-strata."""

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from survey import db
from survey.models import Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day

ITEMS = 17  # 16 criteria + OVERALL


@pytest.fixture
def stored(app, make_agency, make_counter):
    """Two agencies, three counters, answers with known shares of satisfied."""
    one = make_agency(code="AG-A", name_vi="Sở Tư pháp")
    two = make_agency(code="AG-B", name_vi="Ủy ban nhân dân xã Đông Thạnh")
    counters = [make_counter(agency=one), make_counter(agency=one), make_counter(agency=two)]
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["sipas-service"])

        def add(counter, scores, when, status="valid", details=None, weight=1.0):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter.id,
                    agency_id=counter.agency_id,
                    submitted_at=when,
                    local_day=vietnam_day(when),
                    scores=scores,
                    status=status,
                    details=details or {},
                    weight=weight,
                )
            )

        march = datetime(2026, 3, 10, 3, 0)
        # Agency A: 40 responses, A1 satisfied in 30 of them (75%); all else 4.
        for i in range(40):
            a1 = "5" if i < 30 else "2"
            add(
                counters[i % 2],
                a1 + "4" * 15 + "0",
                march,
                details={"gender": "female" if i < 20 else "male"},
            )
        # Agency B: 35 responses, A1 satisfied in 7 (20%), one element E missing entirely.
        for i in range(35):
            add(counters[2], ("4" if i < 7 else "1") + "3" * 12 + "000" + "0", march)
        # 20:30 UTC on 31 March is already April in Vietnam.
        for _ in range(31):
            add(counters[2], "5" * 16 + "0", datetime(2026, 3, 31, 20, 30))
        add(counters[2], "5" * 16 + "0", march, status="flagged")
        session.commit()
    return app


def run(runner, *args):
    result = runner.invoke(args=["indices", *args])
    assert result.exit_code == 0, result.output
    return result.output


def rows_by(report, **match):
    return [r for r in report["rows"] if all(r[k] == v for k, v in match.items())]


def test_json_report_has_every_field_and_row(stored, runner):
    report = json.loads(run(runner, "--format", "json", "--to", "2026-03-31"))
    assert {k: report[k] for k in ("questionnaire", "version", "design", "confidence")} == {
        "questionnaire": "sipas-service",
        "version": 1,
        "design": "srs",
        "confidence": 0.95,
    }
    expected = {
        "period",
        "agency",
        "agency_name",
        "level",
        "key",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "mean_score",
        "n",
        "psus",
        "df",
        "deff",
        "status",
        "reason",
        "reasons",
        "reason_codes",
        "rank_low",
        "rank_high",
        "change",
        "change_ci_low",
        "change_ci_high",
        "change_significant",
        "method",
    }
    assert all(set(r) == expected for r in report["rows"])
    assert {r["agency"] for r in report["rows"]} == {"AG-A", "AG-B", "*"}
    # 1 service + 5 elements + 17 criteria for each of 2 agencies and "*".
    assert len(report["rows"]) == 3 * (1 + 5 + ITEMS)
    a1 = rows_by(report, agency="AG-A", key="A1")[0]
    assert a1["estimate"] == pytest.approx(75.0) and a1["n"] == 40 and a1["df"] == 39
    assert a1["level"] == "criterion" and a1["method"] == "korn-graubard"
    assert a1["mean_score"] == pytest.approx((30 * 5 + 10 * 2) / 40)
    assert a1["ci_low"] < 75 < a1["ci_high"]
    b = rows_by(report, agency="AG-B", key="A1")[0]
    assert (
        b["estimate"] == pytest.approx(20.0) and b["agency_name"] == "Ủy ban nhân dân xã Đông Thạnh"
    )
    # Element E was answered by nobody in AG-B: no estimate, suppressed with a reason.
    e = rows_by(report, agency="AG-B", key="E")[0]
    assert e["estimate"] is None and e["status"] == "suppressed" and e["reason"]
    everyone = rows_by(report, agency="*", key="A1")[0]
    assert everyone["n"] == 75 and everyone["estimate"] == pytest.approx(37 / 75 * 100)


def test_periods_follow_vietnam_time_and_flagged_are_optional(stored, runner):
    report = json.loads(run(runner, "--format", "json", "--period", "month"))
    assert sorted({r["period"] for r in report["rows"]}) == ["2026-03", "2026-04"]
    april = rows_by(report, period="2026-04", agency="AG-B", key="A1")[0]
    assert april["n"] == 31
    march = rows_by(report, period="2026-03", agency="AG-B", key="A1")[0]
    assert march["n"] == 35
    flagged = json.loads(run(runner, "--format", "json", "--to", "2026-03-31", "--include-flagged"))
    assert rows_by(flagged, agency="AG-B", key="A1")[0]["n"] == 36
    only_march = json.loads(
        run(runner, "--format", "json", "--from", "2026-03-01", "--to", "2026-03-31")
    )
    assert rows_by(only_march, agency="AG-B", key="A1")[0]["n"] == 35


def test_change_since_previous_period_and_ranks(stored, runner):
    report = json.loads(run(runner, "--format", "json", "--period", "month"))
    april = rows_by(report, period="2026-04", agency="AG-B", key="A1")[0]
    assert april["change"] == pytest.approx(100 - 20)
    assert april["change_ci_low"] < 80 < april["change_ci_high"]
    assert april["change_significant"] is True
    march_service = rows_by(report, period="2026-03", key="service")
    ranked = {r["agency"]: (r["rank_low"], r["rank_high"]) for r in march_service}
    assert ranked["*"] == (None, None)
    # AG-B's service index is suppressed (element E empty) and so gets no rank.
    assert ranked["AG-B"] == (None, None)


def test_cluster_design_counts_counters_as_psus(stored, runner):
    report = json.loads(
        run(runner, "--format", "json", "--to", "2026-03-31", "--design", "cluster")
    )
    a1 = rows_by(report, agency="AG-A", key="A1")[0]
    assert report["design"] == "cluster"
    assert (a1["psus"], a1["df"]) == (2, 1)
    assert a1["estimate"] == pytest.approx(75.0)


def test_csv_has_the_json_columns_and_xlsx_opens(stored, runner, tmp_path):
    text = run(runner, "--to", "2026-03-31")
    assert text.startswith("\ufeff")  # UTF-8 with BOM, for Excel
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(table[0])[:5] == ["period", "agency", "agency_name", "level", "key"]
    assert len(table) == 3 * (1 + 5 + ITEMS)
    path = tmp_path / "indices.xlsx"
    result = runner.invoke(
        args=["indices", "--format", "xlsx", "-o", str(path), "--to", "2026-03-31"]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(path)
    levels = [book[name] for name in book.sheetnames if name != "Phương pháp"]
    assert len(levels) == 3  # service, elements, criteria
    # Row 1: words; row 2: the codes.
    assert all(
        [c.value for c in sheet[2]][:3] == ["period", "agency", "agency_name"] for sheet in levels
    )
    assert sum(sheet.max_row - 2 for sheet in levels) == 3 * (1 + 5 + ITEMS)


def test_poststratification_reweights_to_population(stored, runner, tmp_path):
    # AG-A has 20 women and 20 men; women are all satisfied on A1, men half. Population 3:1.
    population = tmp_path / "pop.csv"
    population.write_text(
        "agency,gender,population\nAG-A,female,3000\nAG-A,male,1000\nAG-B,,500\n", encoding="utf-8"
    )
    report = json.loads(
        run(runner, "--format", "json", "--to", "2026-03-31", "--poststrata", str(population))
    )
    a1 = rows_by(report, agency="AG-A", key="A1")[0]
    assert a1["estimate"] == pytest.approx((3000 * 1.0 + 1000 * 0.5) / 4000 * 100)
    bad = tmp_path / "bad.csv"
    bad.write_text("agency,gender,population\nAG-A,female,3000\n", encoding="utf-8")
    result = runner.invoke(args=["indices", "--to", "2026-03-31", "--poststrata", str(bad)])
    assert result.exit_code == 1 and "no population total" in result.output


def test_bad_options_are_refused(stored, runner):
    assert runner.invoke(args=["indices", "--from", "31/03/2026"]).exit_code == 2
    assert runner.invoke(args=["indices", "--questionnaire", "nope"]).exit_code == 2
    assert (
        runner.invoke(args=["indices", "--from", "2026-04-01", "--to", "2026-03-01"]).exit_code == 2
    )
    assert runner.invoke(args=["indices", "--format", "xlsx"]).exit_code == 2


def test_no_responses_gives_no_rows(app, runner):
    report = json.loads(run(runner, "--format", "json"))
    assert report["rows"] == []


def test_imported_psu_is_the_cluster_unit(app, runner, make_agency, make_counter, tmp_path):
    agency = make_agency(code="AG-P")
    counter = make_counter(agency=agency)
    items = "A1,A2,A3,B1,B2,B3,B4,C1,C2,C3,D1,D2,D3,E1,E2,E3"
    lines = [f"counter,submitted_at,{items},psu"]
    for i in range(60):
        value = "5" if i % 3 else "2"
        lines.append(
            f"{counter.code},2026-02-0{1 + i % 5}," + ",".join([value] * 16) + f",xã-{i % 4}"
        )
    path = tmp_path / "paper.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(args=["responses", "import", str(path)]).exit_code == 0
    report = json.loads(run(runner, "--format", "json", "--design", "cluster"))
    a1 = rows_by(report, agency="AG-P", key="A1")[0]
    assert (a1["n"], a1["psus"], a1["df"]) == (60, 4, 3)
    assert a1["estimate"] == pytest.approx(40 / 60 * 100)


def test_older_versions_are_read_with_their_own_layout(app, runner, make_counter):
    from dataclasses import replace

    counter = make_counter()
    with app.app_context():
        session = db.session()
        current = app.extensions["questionnaires"]["sipas-service"]
        # An older version without OVERALL and with A2 before A1.
        old_data = json.loads(json.dumps(current.data))
        first = old_data["sections"][0]["questions"]
        first[0], first[1] = first[1], first[0]
        old_data["sections"] = [s for s in old_data["sections"] if s["key"] != "overall"]
        from survey.questionnaires.loading import check

        old = check(old_data, "old")
        old_version = ensure_version(session, replace(old, slug="sipas-service"))
        new_version = ensure_version(session, current)
        when = datetime(2026, 5, 5, 3)
        for version, scores in (
            (old_version, "25" + "4" * 14),
            (new_version, "52" + "4" * 14 + "3"),
        ):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter.id,
                    agency_id=counter.agency_id,
                    submitted_at=when,
                    local_day=vietnam_day(when),
                    scores=scores,
                    details={},
                )
            )
        session.commit()
    # Two responses: suppressed, so the numbers come only with the analysts' option.
    report = json.loads(run(runner, "--format", "json", "--include-unpublished"))
    agency = rows_by(report, key="A1")[0]["agency"]
    mine = {r["key"]: r for r in rows_by(report, agency=agency)}
    assert mine["A1"]["unpublished"] is True
    # Old A1 is its second digit (5); new A1 is the first (5): both satisfied. A2: both 2.
    assert mine["A1"]["estimate"] == pytest.approx(100) and mine["A1"]["n"] == 2
    assert mine["A2"]["estimate"] == pytest.approx(0) and mine["A2"]["n"] == 2
    assert mine["OVERALL"]["n"] == 1 and mine["OVERALL"]["mean_score"] == pytest.approx(3)
