"""One rule for agency and counter codes: the imports, the console and the API refuse the same
codes, and codes are upper case, so `sec-a1` and `SEC-A1` are one agency."""

import pytest
from sqlalchemy import func, select
from test_console_support import post

from survey import db
from survey.codes import CodeError, check_code
from survey.models import Agency, Counter

BAD = "Sở TP/1 ?"
# The reason, in Vietnamese (the imports' language) and in English (the console here: the
# CSRF helper opens the sign-in page with ?lang=en).
REASON_VI = "không hợp lệ: chỉ dùng chữ cái không dấu"
REASON_EN = "is not valid: use letters without accents"
HEADER = "code,name_vi,name_en,level,parent_code\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "text, code",
    [("MH-STP", "MH-STP"), ("sec-a1", "SEC-A1"), (" q.1_b ", "Q.1_B"), ("9", "9")],
)
def test_a_good_code_comes_back_in_upper_case(app, text, code):
    with app.test_request_context():
        assert check_code(text) == code


@pytest.mark.parametrize("text", [BAD, "", "   ", "-A", "A B", "A/1", "X" * 41, "ß", "Đ1"])
def test_a_bad_code_is_refused_with_a_reason(app, text):
    with app.test_request_context("/?lang=en"), pytest.raises(CodeError) as refused:
        check_code(text)
    assert str(refused.value).startswith("The code ")


def test_agency_import_refuses_a_bad_code_with_its_line_and_stores_nothing(app, runner, tmp_path):
    text = HEADER + f"MH,Tỉnh,Province,province,\n{BAD},Sở Tư pháp,Justice,department,MH\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", text))])
    assert result.exit_code == 1
    assert f"dòng 3: Mã '{BAD}' {REASON_VI}" in result.output
    assert "dòng 2" not in result.output
    assert count(app, Agency) == 0


def test_counter_import_refuses_a_bad_code_with_its_line_and_stores_nothing(
    app, runner, tmp_path, make_agency
):
    make_agency(code="MH-STP")
    text = f"code,agency_code,name\nSTP-1,MH-STP,Quầy 1\n{BAD},MH-STP,Quầy 2\n"
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", text))])
    assert result.exit_code == 1
    assert f"dòng 3: Mã '{BAD}' {REASON_VI}" in result.output
    assert count(app, Counter) == 0


def test_codes_in_another_case_are_one_agency_and_one_counter(app, runner, tmp_path):
    lower = HEADER + "sec-a1,Sở A,Dept A,department,\n"
    upper = HEADER + "SEC-A1,Sở A mới,Dept A,department,\n"
    first = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", lower))])
    assert "1 created, 0 updated" in first.output, first.output
    again = runner.invoke(args=["agencies", "import", str(write(tmp_path, "b.csv", upper))])
    assert "0 created, 1 updated" in again.output, again.output
    counters = "code,agency_code,name\nq-1,sec-a1,Quầy 1\n"
    assert runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", counters))])
    counters = "code,agency_code,name\nQ-1,SEC-A1,Quầy một\n"
    result = runner.invoke(args=["counters", "import", str(write(tmp_path, "d.csv", counters))])
    assert "0 created, 1 updated" in result.output, result.output
    with app.app_context():
        agencies = db.session().execute(select(Agency.code, Agency.name_vi)).all()
        stored = db.session().execute(select(Counter.code, Counter.name)).all()
    assert agencies == [("SEC-A1", "Sở A mới")]
    assert stored == [("Q-1", "Quầy một")]


def test_an_agency_twice_in_one_file_in_two_cases_is_refused(app, runner, tmp_path):
    text = HEADER + "sec-a1,Sở A,Dept A,department,\nSEC-A1,Sở A,Dept A,department,\n"
    result = runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", text))])
    assert result.exit_code == 1 and "dòng 3" in result.output
    assert count(app, Agency) == 0


def test_console_refuses_the_same_codes_and_stores_codes_in_upper_case(app, client, world, login):
    login(client, "admin@example.vn")
    new = {"name_vi": "Sở Tư pháp", "name_en": "", "level": "department", "parent": ""}
    refused = post(client, "/console/agencies/new", {"code": BAD, **new})
    assert refused.status_code == 422
    assert REASON_EN in refused.get_data(as_text=True)
    counter = {"code": BAD, "name": "Quầy", "questionnaire": "sipas-service"}
    refused = post(client, f"/console/agencies/{world.own}/counters", counter)
    assert refused.status_code == 422
    assert REASON_EN in refused.get_data(as_text=True)
    assert post(client, "/console/agencies/new", {"code": "sec-a1", **new}).status_code == 303
    # The same code in upper case is taken: it is the same agency.
    taken = post(client, "/console/agencies/new", {"code": "SEC-A1", **new})
    assert taken.status_code == 422
    with app.app_context():
        codes = db.session().scalars(select(Agency.code).where(Agency.code.ilike("sec%"))).all()
    assert codes == ["SEC-A1"]


def test_console_finds_an_agency_by_its_code_in_another_case(client, world, login):
    login(client, "admin@example.vn")
    page = client.get(f"/console/agencies/{world.own.lower()}")
    assert page.status_code == 200 and "Sở Tư pháp tỉnh Minh Hòa" in page.get_data(as_text=True)


TOKEN = "case-software-token-0123456789"


@pytest.fixture
def api_client(app, make_agency, make_counter, make_token):
    make_token("case-software@example.vn", plain=TOKEN)
    make_counter(agency=make_agency(code="MH-STP"))
    return app.test_client()


def receipt(client, counter: str):
    return client.post(
        "/api/v1/receipts",
        json={"counter": counter, "dossier": "000.00.12.H56-241105-0001"},
        headers={"Authorization": f"Bearer {TOKEN}", "Accept-Language": "en"},
    )


def test_api_refuses_a_bad_counter_code_as_json(api_client):
    reply = receipt(api_client, BAD)
    assert reply.status_code == 422
    assert reply.get_json()["error"] == "invalid-counter"
    assert reply.get_json()["message"].startswith(f"The code '{BAD}' is not valid")


def test_api_finds_a_counter_by_its_code_in_another_case(api_client, make_counter):
    code = make_counter().code
    reply = receipt(api_client, code.lower())
    assert reply.status_code == 201 and reply.get_json()["counter"] == code


def test_command_agency_option_finds_a_code_typed_in_another_case(app, runner, make_agency):
    make_agency(code="MH-STP")
    result = runner.invoke(
        args=["users", "create", "m@example.vn", "--role", "manager", "--agency", "mh-stp"]
        + ["--generate-password"]
    )
    assert result.exit_code == 0, result.output
    assert "(manager, MH-STP) created" in result.output
