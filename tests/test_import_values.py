"""Imports check values, not just shapes (issue 12): weights, dates, codes, lengths, formula
cells, each refused with its line number in Vietnamese and nothing stored; and every command on
a database never initialised says to run init-db."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import test_imports
from openpyxl import Workbook
from sqlalchemy import select, text
from test_imports import AGENCIES, ITEMS, count, paper_csv, write

from survey import create_app, db
from survey.db import make_engine
from survey.models import Agency, Counter, Response
from survey.timeutil import VIETNAM

SCORES = ",".join(["4"] * 16)
loaded = test_imports.loaded  # the fixture: agencies and counters imported through the CLI


def paper_row(moment: str = "2026-03-31", weight: str = "", psu: str = "") -> str:
    return f"STP-1,{moment},{SCORES},{weight},{psu},"


def import_forms(runner, tmp_path, rows: list[str]):
    path = write(tmp_path, "p.csv", paper_csv(rows))
    return runner.invoke(args=["responses", "import", str(path)])


def test_weight_1e300_is_refused_with_its_line(loaded, runner, tmp_path):
    rows = [paper_row(weight="2"), paper_row(weight="1e300"), paper_row(weight="1000.5")]
    rows.append(paper_row(weight="0"))
    result = import_forms(runner, tmp_path, rows)
    assert result.exit_code == 1
    assert "dòng 3: weight '1e300' phải là số lớn hơn 0 và không quá 1000" in result.output
    assert "dòng 4: weight '1000.5'" in result.output and "dòng 5: weight '0'" in result.output
    assert "dòng 2" not in result.output
    assert count(loaded, Response) == 0


def test_weight_1000_is_the_largest_accepted(loaded, runner, tmp_path):
    result = import_forms(runner, tmp_path, [paper_row(weight="1000"), paper_row(weight="0.01")])
    assert result.exit_code == 0, result.output
    assert count(loaded, Response) == 2


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01", "0001-01-01T00:00", "2017-12-31", "2017-12-31T23:59+07:00", "9999-12-31T23:59"],
)
def test_dates_before_2018_are_refused(loaded, runner, tmp_path, moment):
    result = import_forms(runner, tmp_path, [paper_row(), paper_row(moment)])
    assert result.exit_code == 1
    assert "dòng 3: submitted_at" in result.output
    assert "dòng 2" not in result.output
    assert count(loaded, Response) == 0


def test_dates_in_the_future_are_refused(loaded, runner, tmp_path):
    soon = (datetime.now(UTC) + timedelta(hours=1)).astimezone(VIETNAM)
    tomorrow = (datetime.now(UTC).astimezone(VIETNAM) + timedelta(days=1)).date()
    rows = [paper_row("2099-01-01"), paper_row(soon.isoformat(timespec="minutes"))]
    rows.append(paper_row(tomorrow.isoformat()))
    result = import_forms(runner, tmp_path, rows)
    assert result.exit_code == 1
    for line in (2, 3, 4):
        assert f"dòng {line}: submitted_at" in result.output
        assert "trong tương lai" in result.output
    assert count(loaded, Response) == 0


def test_the_first_day_and_today_are_accepted(loaded, runner, tmp_path):
    today = datetime.now(UTC).astimezone(VIETNAM).date().isoformat()
    result = import_forms(runner, tmp_path, [paper_row("2018-01-01"), paper_row(today)])
    assert result.exit_code == 0, result.output


def test_codes_are_compared_whatever_their_case(app, runner, tmp_path):
    twice = "code,name_vi,name_en,level,parent_code\nsec-a1,Một,One,department,\n"
    twice += "SEC-A1,Hai,Two,department,\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", twice))])
    assert result.exit_code == 1 and "dòng 3: mã SEC-A1 xuất hiện hai lần" in result.output
    assert count(app, Agency) == 0
    one = "code,name_vi,name_en,level,parent_code\nsec-a1,Một,One,department,\n"
    assert (
        runner.invoke(args=["agencies", "import", str(write(tmp_path, "b.csv", one))]).exit_code
        == 0
    )
    again = one.replace("sec-a1,Một", "SEC-A1,Một (sửa)")
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "c.csv", again))])
    assert "0 created, 1 updated" in result.output
    counters = "code,agency_code,name\nq-1,Sec-A1,Quầy 1\n"
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "d.csv", counters))])
    assert result.exit_code == 0, result.output
    forms = f"counter,submitted_at,{ITEMS}\nQ-1,2026-03-31,{SCORES}\n"
    result = runner.invoke(args=["responses", "import", str(write(tmp_path, "e.csv", forms))])
    assert result.exit_code == 0, result.output
    assert (count(app, Agency), count(app, Counter), count(app, Response)) == (1, 1, 1)


def test_over_long_names_are_refused_before_the_database(app, runner, tmp_path):
    long_name = "Sở " + "x" * 298  # 301 characters: the column holds 300
    bad = AGENCIES + f"KG-X,{long_name},,department,KG\nKG-Y,Y,{long_name},department,KG\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", bad))])
    assert result.exit_code == 1, result.output
    assert "dòng 6: name_vi dài quá 300 ký tự" in result.output
    assert "dòng 7: name_en dài quá 300 ký tự" in result.output
    assert "Traceback" not in result.output and count(app, Agency) == 0
    assert (
        runner.invoke(
            args=["agencies", "import", str(write(tmp_path, "b.csv", AGENCIES))]
        ).exit_code
        == 0
    )
    counters = f"code,agency_code,name\nC-1,KG-STP,Quầy\nC-2,KG-STP,{long_name}\n"
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", counters))])
    assert result.exit_code == 1 and "dòng 3: name dài quá 300 ký tự" in result.output
    assert count(app, Counter) == 0


def test_an_over_long_psu_is_refused(loaded, runner, tmp_path):
    result = import_forms(runner, tmp_path, [paper_row(psu="P" * 61)])
    assert result.exit_code == 1 and "dòng 2: psu dài quá 60 ký tự" in result.output
    assert count(loaded, Response) == 0


def test_a_formula_cell_is_named_as_such(app, runner, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name_vi", "name_en", "level", "parent_code"])
    sheet.append(["KG", "Tỉnh Kiên Giang", "Kien Giang", "province", None])
    sheet.append(["KG-STP", '="Sở "&"Tư pháp"', "Justice", "department", "KG"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    result = runner.invoke(args=["agencies", "import", str(path)])
    assert result.exit_code == 1
    assert "dòng 3: name_vi (ô B3) là ô công thức" in result.output
    assert "đang trống" not in result.output
    assert count(app, Agency) == 0


# ---------------------------------------------------------------- a database never initialised

COMMANDS = [
    ["agencies", "import", "README.md"],
    ["counters", "list"],
    ["demo", "--if-empty"],
    ["tokens", "list"],
    ["users", "create", "a@example.vn", "--role", "admin", "--generate-password"],
    ["indices"],
    ["retention", "--dry-run"],
]


def uninitialised_urls(tmp_path):
    yield f"sqlite:///{tmp_path / 'never.sqlite3'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        # An empty schema of the test database, read first through search_path.
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS never_initialised CASCADE"))
            connection.execute(text("CREATE SCHEMA never_initialised"))
        engine.dispose()
        yield url + "?options=-csearch_path%3Dnever_initialised"


def test_commands_on_an_uninitialised_database_say_to_run_init_db(app_config, tmp_path):
    (tmp_path / "README.md").write_text("x")
    os.chdir(tmp_path)
    for url in uninitialised_urls(tmp_path):
        application = create_app(app_config | {"DATABASE_URL": url})
        runner = application.test_cli_runner()
        for args in COMMANDS:
            result = runner.invoke(args=args)
            assert result.exit_code == 1, (url, args, result.output)
            assert "hãy chạy `flask --app app init-db` trước" in result.output, (url, args)
            assert (
                "Traceback" not in result.output
                and result.exception is None
                or isinstance(result.exception, SystemExit)
            )
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert runner.invoke(args=["tokens", "list"]).exit_code == 0
        with application.app_context():
            assert db.session().scalar(select(Agency.id)) is None
        db.dispose_engines(application)
