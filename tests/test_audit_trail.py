"""The audit log records every staff action that changes or takes data, and can be filtered."""

from datetime import datetime, timedelta

import pytest
from helpers import full_answers, hidden_fields
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from test_console_support import PASSWORD, post
from test_imports import AGENCIES, COUNTERS, write
from test_review import user_id

from survey import db
from survey.console.audit import EMAIL_KEPT, clean_text
from survey.models import AuditEntry, Response, User

QUERY = "period=quarter&from=2026-01-01&to=2026-03-31"


def entries(app, action: str | None = None) -> list[AuditEntry]:
    """Return the audit entries (of `action` only, when given), oldest first."""
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(db.session().scalars(query))


def taken(app) -> list[AuditEntry]:
    """Return the entries after the accounts of the world were made."""
    return [e for e in entries(app) if e.action != "user.create"]


def assert_private(entry: AuditEntry) -> None:
    """No password and no address in any part of the entry."""
    text = repr((entry.target, entry.before, entry.after))
    assert PASSWORD not in text and "127.0.0.1" not in text and "wrong-pass" not in text


def test_sign_in_and_failed_sign_ins_record_the_e_mail_only(app, client, world, login):
    login(client, "manager@example.vn")
    (signed_in,) = entries(app, "auth.sign_in")
    assert signed_in.user_id == user_id(app, "manager@example.vn")
    assert signed_in.after == {"email": "manager@example.vn"}
    other = app.test_client()
    login(other, "admin@example.vn", "wrong-password", expect=401)
    typed = "  Nobody." + "x" * 150 + "@Example.vn"
    login(other, typed, "wrong-password", expect=401)
    known, unknown = entries(app, "auth.sign_in_failed")
    assert known.user_id is None and known.target == "sign-in:admin@example.vn"
    # What was typed, cut short.
    assert unknown.user_id is None and unknown.after["email"].startswith("nobody.xxx")
    assert len(unknown.after["email"]) == EMAIL_KEPT
    for entry in entries(app):
        assert_private(entry)
    assert len(taken(app)) == 3


def test_text_kept_has_no_control_characters_or_lone_surrogates():
    # PostgreSQL refuses NUL in text; a lone surrogate cannot be encoded at all.
    assert clean_text("a\x00b\ud800c\n" + "x" * 200) == "ab?c" + "x" * (EMAIL_KEPT - 4)


def test_downloads_by_a_manager_are_logged_with_their_filters(app, client, world, login):
    login(client, "manager@example.vn")
    manager = user_id(app, "manager@example.vn")
    assert client.get(f"/results/download.csv?{QUERY}").status_code == 200
    assert client.get(f"/results/responses.csv?{QUERY}").status_code == 200
    assert client.get("/results/chart/forest.svg?lang=en").status_code == 200
    assert client.get("/results/agency/OWN/chart/trend.png").status_code == 200
    (results,) = entries(app, "download.results")
    (raw,) = entries(app, "download.responses")
    overview, agency = entries(app, "download.chart")
    for entry in (results, raw, overview, agency):
        assert entry.user_id == manager
        assert_private(entry)
    wanted = {"period": "quarter", "from": "2026-01-01", "to": "2026-03-31"}
    assert results.after["filters"] == wanted and raw.after["filters"] == wanted
    assert results.target.startswith("file:chi-so-hai-long") and results.target.endswith(".csv")
    assert overview.after["filters"] == {} and agency.target.startswith("file:trend_OWN")
    # A refused download (a bad filter, another agency's chart) takes nothing: no entry.
    assert client.get("/results/download.csv?period=century").status_code == 400
    assert client.get("/results/agency/OTHER/chart/trend.png").status_code == 404
    assert len(entries(app, "download.results")) == 1 and len(entries(app, "download.chart")) == 2


def test_each_api_call_is_logged_with_its_token_and_endpoint(app, client, world, make_token):
    token = make_token("case-software@example.vn", name="một cửa điện tử")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/indices?period=all", headers=headers).status_code == 200
    refused = client.get("/api/v1/indices", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    (call,) = entries(app, "api.call")
    assert call.user_id == user_id(app, "case-software@example.vn")
    assert call.after == {"token": "một cửa điện tử", "endpoint": "api.indices"}
    assert token not in repr((call.target, call.after))
    assert len(taken(app)) == 1


@pytest.mark.parametrize(
    "command, text, action, rows",
    [
        ("agencies", AGENCIES, "import.agencies", 4),
        ("counters", COUNTERS, "import.counters", 3),
    ],
)
def test_cli_imports_are_logged_with_the_file_and_its_rows(
    app, runner, tmp_path, command, text, action, rows
):
    if command == "counters":
        runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES))])
    result = runner.invoke(args=[command, "import", str(write(tmp_path, "in.csv", text))])
    assert result.exit_code == 0, result.output
    (entry,) = entries(app, action)
    assert entry.user_id is None and entry.after == {"file": "in.csv", "rows": rows}
    # A rejected file stores nothing, and records nothing either.
    bad = text.replace("KG-STP,", ",") if command == "agencies" else text + "X,NOWHERE,Quầy\n"
    result = runner.invoke(args=[command, "import", str(write(tmp_path, "bad.csv", bad))])
    assert result.exit_code != 0 and len(entries(app, action)) == 1


def test_paper_form_import_is_logged(app, runner, tmp_path):
    from test_imports import GOOD_ROW, paper_csv

    runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES))])
    runner.invoke(args=["counters", "import", str(write(tmp_path, "c.csv", COUNTERS))])
    path = write(tmp_path, "giay.csv", paper_csv([GOOD_ROW, GOOD_ROW]))
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code == 0, result.output
    (entry,) = entries(app, "import.responses")
    assert entry.user_id is None and entry.after == {"file": "giay.csv", "rows": 2}


IMPORTS = {
    # command: (its action, the table its rows go to, what it needs imported first)
    "agencies": ("import.agencies", "agencies", []),
    "counters": ("import.counters", "counters", ["agencies"]),
    "responses": ("import.responses", "responses", ["agencies", "counters"]),
}


def prepare_import(runner, tmp_path, command: str):
    """Import what `command` needs first; return the path of a good file for `command`."""
    from test_imports import GOOD_ROW, paper_csv

    texts = {"agencies": AGENCIES, "counters": COUNTERS, "responses": paper_csv([GOOD_ROW] * 2)}
    for first in IMPORTS[command][2]:
        done = runner.invoke(args=[first, "import", str(write(tmp_path, "f.csv", texts[first]))])
        assert done.exit_code == 0, done.output
    return str(write(tmp_path, "in.csv", texts[command]))


def rows_of(app, table: str) -> int:
    with app.app_context():
        return db.session().scalar(text(f"SELECT count(*) FROM {table}"))


@pytest.fixture
def refuse_insert():
    """Return a setter: the database then refuses every INSERT INTO the table it names."""
    refused = {"table": None}

    def refuse(conn, cursor, statement, parameters, context, executemany):
        table = refused["table"]
        if table and statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            raise OperationalError(statement, parameters, RuntimeError("disk full (test)"))

    event.listen(Engine, "before_cursor_execute", refuse)
    yield lambda table: refused.update(table=table)
    event.remove(Engine, "before_cursor_execute", refuse)


@pytest.mark.parametrize("command", list(IMPORTS))
def test_an_import_the_database_refuses_leaves_no_audit_entry(
    app, runner, tmp_path, refuse_insert, command
):
    action, table, _first = IMPORTS[command]
    path = prepare_import(runner, tmp_path, command)
    before = rows_of(app, table)
    # The rows passed every check; the database refuses them (a full disk, a lost connection).
    refuse_insert(table)
    result = runner.invoke(args=[command, "import", path])
    refuse_insert(None)
    assert result.exit_code != 0
    assert rows_of(app, table) == before
    assert entries(app, action) == []


@pytest.mark.parametrize("command", list(IMPORTS))
def test_an_import_whose_audit_entry_is_refused_stores_nothing(
    app, runner, tmp_path, refuse_insert, command
):
    action, table, _first = IMPORTS[command]
    path = prepare_import(runner, tmp_path, command)
    before = rows_of(app, table)
    refuse_insert(AuditEntry.__tablename__)
    result = runner.invoke(args=[command, "import", path])
    refuse_insert(None)
    assert result.exit_code != 0
    # The entry is written in the import's own transaction: without it, none of the rows stay.
    assert rows_of(app, table) == before
    assert entries(app, action) == []
    # The same file again, with the database well: the rows and their one entry.
    result = runner.invoke(args=[command, "import", path])
    assert result.exit_code == 0, result.output
    assert rows_of(app, table) > before and len(entries(app, action)) == 1


def test_the_page_shows_command_line_and_filters_by_action_user_and_day(
    app, client, world, login, runner, tmp_path
):
    runner.invoke(args=["agencies", "import", str(write(tmp_path, "a.csv", AGENCIES))])
    login(client, "admin@example.vn")
    admin = user_id(app, "admin@example.vn")
    manager = user_id(app, "manager@example.vn")
    html = client.get("/console/audit?lang=vi&action=import.agencies").get_data(as_text=True)
    assert "Nhập cơ quan, đơn vị (dòng lệnh)" in html and "(dòng lệnh)" in html
    table = html.split("<table", 1)[-1]
    assert "Đăng nhập" not in table  # the admin's sign-in is filtered out
    html = client.get(f"/console/audit?lang=en&user={admin}").get_data(as_text=True)
    table = html.split("<table", 1)[-1]
    assert "Signed in" in table and "Agencies imported" not in table
    html = client.get(f"/console/audit?lang=en&user={manager}").get_data(as_text=True)
    assert "No entry matches these filters." in html
    today = datetime.now().date()
    days = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    assert "Signed in" in client.get(f"/console/audit?lang=en&{days}").get_data(as_text=True)
    long_ago = "from=2001-01-01&to=2001-12-31"
    html = client.get(f"/console/audit?lang=en&{long_ago}").get_data(as_text=True)
    assert "No entry matches these filters." in html
    # A filter that cannot be used: named, with nothing shown unfiltered.
    reply = client.get("/console/audit?lang=en&from=31/03/2026")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400 and "from must be a day written YYYY-MM-DD" in html
    assert "<table" not in html


@pytest.mark.parametrize(
    "query, words",
    [
        ("action=drop.table", "There is no such action"),
        ("user=abc", "user must be the number"),
        ("user=99999999999999999999", "user must be the number"),
        ("user=999999", "no staff account with this number"),
        ("from=2026-13-01", "from must be a day"),
        ("to=31/03/2026", "to must be a day"),
        ("from=0001-01-01", "from must be a day"),
        ("from=9999-12-31", "from must be a day"),
        ("from=2026-04-01&to=2026-03-01", "last day comes before the first"),
    ],
)
def test_a_bad_filter_value_gives_a_clear_message(client, world, login, query, words):
    login(client, "admin@example.vn")
    reply = client.get(f"/console/audit?lang=en&{query}")
    assert reply.status_code == 400
    assert words in reply.get_data(as_text=True)


def test_a_bad_filter_is_said_in_vietnamese_too(client, world, login):
    login(client, "admin@example.vn")
    reply = client.get("/console/audit?lang=vi&action=drop.table")
    assert reply.status_code == 400 and "Không có thao tác này" in reply.get_data(as_text=True)


def test_entries_survive_the_actor_being_disabled(app, client, world, login):
    manager = user_id(app, "manager@example.vn")
    staff = app.test_client()
    login(staff, "manager@example.vn")
    assert staff.get(f"/results/download.csv?{QUERY}").status_code == 200
    before = [e.id for e in entries(app) if e.user_id == manager]
    assert len(before) == 2  # the sign-in and the download
    login(client, "admin@example.vn")
    reply = post(client, f"/console/users/{manager}", {"role": "manager", "agency": world.own})
    assert reply.status_code == 303  # "active" unticked: disabled
    with app.app_context():
        assert db.session().get(User, manager).active is False
    assert [e.id for e in entries(app) if e.user_id == manager] == before
    html = client.get(f"/console/audit?lang=en&user={manager}").get_data(as_text=True)
    table = html.split("<table", 1)[-1]
    assert "manager@example.vn" in table and "(disabled)" in table
    assert "Indices downloaded" in table and "Signed in" in table


def test_the_citizens_form_writes_no_audit_entry(app, client, world):
    page = client.get(f"/s/{world.token_own}")
    assert page.status_code == 200
    data = hidden_fields(page.get_data(as_text=True)) | full_answers("4")
    assert client.post(f"/s/{world.token_own}", data=data).status_code in (200, 303)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Response)) == 1
    assert taken(app) == []
