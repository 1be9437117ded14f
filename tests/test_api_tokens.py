"""API tokens: made and revoked by the command line and the console, stored only as a hash, and
acting with their owner's role and agencies (a manager's token cannot reach other agencies)."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from test_console_support import post
from test_results import answers, store

from survey import db
from survey.console import operations as ops
from survey.db import Base
from survey.models import ApiToken, AuditEntry, Counter, User, utcnow
from survey.permissions import token_digest

DOSSIER = "000.00.12.H56-241105-0001"
TOKEN_PATTERN = re.compile(r"sv_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def world(world, app):
    """Return the small province with 12 answers at each of its three counters."""
    rows = ["".join(map(str, answers(i, 8))) for i in range(12)]
    for counter_id in (world.counter_own, world.counter_child, world.counter_other):
        store(app, counter_id, "sipas-service", rows, datetime(2026, 2, 10, 3))
    return world


def bearer(token: str) -> dict:
    """Return the Authorization header of `token`."""
    return {"Authorization": f"Bearer {token}"}


def agencies_read(client, token: str) -> set[str]:
    """Return the agency codes of the indices the token reads."""
    reply = client.get("/api/v1/indices?period=all", headers=bearer(token))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return {row["agency"] for row in reply.get_json()["rows"]}


def issue(client, token: str, app, counter_id: int, dossier: str = DOSSIER):
    """Ask for a receipt link at counter `counter_id` with `token`."""
    with app.app_context():
        code = db.session().get(Counter, counter_id).code
    return client.post(
        "/api/v1/receipts", json={"counter": code, "dossier": dossier}, headers=bearer(token)
    )


def stored_tokens(app) -> list[ApiToken]:
    with app.app_context():
        return list(db.session().scalars(select(ApiToken).order_by(ApiToken.id)))


def database_dump(app) -> str:
    """Return every value of every table, as text."""
    with app.app_context():
        session = db.session()
        parts = []
        for table in Base.metadata.sorted_tables:
            for row in session.execute(text(f"SELECT * FROM {table.name}")):
                parts.append(repr(tuple(row)))
        return "\n".join(parts)


def cli_create(runner, email: str, name: str | None = None) -> str:
    """Create a token with the command line and return it, checking the warning."""
    args = ["tokens", "create", email] + (["--name", name] if name else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "sẽ không được hiển thị lại" in result.stderr
    (found,) = TOKEN_PATTERN.findall(result.stdout)
    return found


# ---------------------------------------------------------------- the command line


def test_cli_creates_lists_and_revokes_a_token(app, runner, world, client):
    token = cli_create(runner, "evaluator@example.vn", "Viện nghiên cứu")
    assert agencies_read(client, token) == {"OWN", "OWN-X", "OTHER", "*"}
    (row,) = stored_tokens(app)
    assert row.name == "Viện nghiên cứu" and row.last_used_at is not None
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0
    line = next(x for x in listed.output.splitlines() if x.startswith(f"{row.id}\t"))
    fields = line.split("\t")
    assert fields[1:3] == ["Viện nghiên cứu", "evaluator@example.vn"]
    # Vietnam time: seven hours ahead of the stored UTC.
    assert fields[4] == (row.last_used_at + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M")
    assert fields[5] == "–"
    revoked = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert revoked.exit_code == 0 and "thu hồi" in revoked.output
    assert client.get("/api/v1/indices", headers=bearer(token)).status_code == 401
    again = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert again.exit_code == 0 and "đã bị thu hồi" in again.output
    listed = runner.invoke(args=["tokens", "list"]).output
    assert "–" not in listed.splitlines()[-1].split("\t")[5]


@pytest.mark.parametrize(
    "args, words",
    [
        (["tokens", "create", "nobody@example.vn"], "nobody@example.vn"),
        (["tokens", "revoke", "999"], "999"),
        (["tokens", "revoke", "abc"], "abc"),
        (["tokens", "create", "manager@example.vn", "--name", "x" * 101], "100"),
    ],
)
def test_cli_bad_input_is_a_clear_error(app, runner, world, args, words):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and words in result.output
    assert stored_tokens(app) == []


def test_cli_refuses_a_disabled_account(app, runner, world):
    with app.app_context():
        session = db.session()
        manager = session.scalar(select(User).where(User.email == "manager@example.vn"))
        ops.update_user(session, None, manager, manager.role, manager.agency, False)
    result = runner.invoke(args=["tokens", "create", "manager@example.vn"])
    assert result.exit_code == 1 and "manager@example.vn" in result.output
    assert stored_tokens(app) == []


def test_only_the_hash_is_stored(app, runner, world, client):
    token = cli_create(runner, "admin@example.vn")
    assert issue(client, token, app, world.counter_other).status_code == 201
    dump = database_dump(app)
    assert token not in dump and token.removeprefix("sv_")[:20] not in dump
    assert token_digest(token) in dump


# ---------------------------------------------------------------- scope


def test_a_managers_token_reads_and_acts_only_in_their_agencies(app, world, client, runner):
    token = cli_create(runner, "manager@example.vn")
    # OWN and the commune below it, and the all-agencies row the results pages show too.
    assert agencies_read(client, token) == {"OWN", "OWN-X", "*"}
    made = issue(client, token, app, world.counter_child)
    # A manager's token issues links, but only an admin's (the case-management software's)
    # make verified responses: the people being rated could make up dossiers.
    assert made.status_code == 201 and made.json["verified"] is False
    refused = issue(client, token, app, world.counter_other, "ANOTHER-1")
    # As in the console: what lies outside the account's agencies is missing.
    assert refused.status_code == 404 and refused.json["error"] == "unknown-counter"
    with app.app_context():
        issued = (
            db.session()
            .scalars(select(AuditEntry.target).where(AuditEntry.action == "receipt.api"))
            .all()
        )
        other = db.session().get(Counter, world.counter_other).code
    assert len(issued) == 1 and f"counter:{other}" not in issued


def test_an_evaluators_token_reads_everything_and_issues_nothing(app, world, client, runner):
    token = cli_create(runner, "evaluator@example.vn")
    assert agencies_read(client, token) == {"OWN", "OWN-X", "OTHER", "*"}
    refused = issue(client, token, app, world.counter_own)
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"


def test_an_admins_token_issues_links_for_every_counter(app, world, client, runner):
    token = cli_create(runner, "admin@example.vn", "một cửa tỉnh")
    assert issue(client, token, app, world.counter_other).status_code == 201
    with app.app_context():
        entry = (
            db.session().scalars(select(AuditEntry).where(AuditEntry.action == "receipt.api")).one()
        )
        assert entry.user.email == "admin@example.vn" and entry.after["token"] == "một cửa tỉnh"


def test_a_disabled_account_or_a_role_change_counts_at_once(app, world, client, runner):
    token = cli_create(runner, "manager@example.vn")
    assert agencies_read(client, token) == {"OWN", "OWN-X", "*"}
    with app.app_context():
        session = db.session()
        manager = session.scalar(select(User).where(User.email == "manager@example.vn"))
        ops.update_user(session, None, manager, "evaluator", None, True)
    assert agencies_read(client, token) == {"OWN", "OWN-X", "OTHER", "*"}
    with app.app_context():
        session = db.session()
        manager = session.scalar(select(User).where(User.email == "manager@example.vn"))
        ops.update_user(session, None, manager, "evaluator", None, False)
    reply = client.get("/api/v1/indices", headers=bearer(token))
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert issue(client, token, app, world.counter_own).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(app, world, client, make_token):
    token = make_token("evaluator@example.vn")
    assert stored_tokens(app)[0].last_used_at is None
    agencies_read(client, token)
    first = stored_tokens(app)[0].last_used_at
    assert first is not None and abs(utcnow() - first) < timedelta(minutes=1)
    agencies_read(client, token)
    assert stored_tokens(app)[0].last_used_at == first
    with app.app_context():
        earlier = first - timedelta(seconds=61)
        db.session().execute(update(ApiToken).values(last_used_at=earlier))
        db.session().commit()
    agencies_read(client, token)
    assert stored_tokens(app)[0].last_used_at > first


# ---------------------------------------------------------------- the console


def test_admin_creates_sees_and_revokes_tokens_in_the_console(app, world, client, login):
    login(client, "admin@example.vn")
    page = client.get("/console/tokens?lang=en")
    assert page.status_code == 200 and "No API token yet." in page.get_data(as_text=True)
    with app.app_context():
        owner_id = db.session().scalar(select(User.id).where(User.email == "manager@example.vn"))
    created = post(client, "/console/tokens", {"owner": owner_id, "name": "Phần mềm một cửa"})
    html = created.get_data(as_text=True)
    assert created.status_code == 201
    (token,) = set(TOKEN_PATTERN.findall(html))
    assert "cannot be looked up later" in html or "không thể tra lại" in html
    api = app.test_client()
    assert agencies_read(api, token) == {"OWN", "OWN-X", "*"}
    listing = client.get("/console/tokens?lang=en").get_data(as_text=True)
    assert token not in listing
    assert "Phần mềm một cửa" in listing and "manager@example.vn" in listing
    assert "Never" not in listing  # it has been used
    (row,) = stored_tokens(app)
    assert (row.created_at + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M") in listing
    # Without the CSRF token nothing is revoked.
    assert client.post(f"/console/tokens/{row.id}/revoke").status_code == 400
    assert agencies_read(api, token)
    revoked = post(client, f"/console/tokens/{row.id}/revoke")
    assert revoked.status_code == 303
    assert api.get("/api/v1/indices", headers=bearer(token)).status_code == 401
    assert "Revoked" in client.get("/console/tokens?lang=en").get_data(as_text=True)
    assert post(client, "/console/tokens/999/revoke").status_code == 404
    with app.app_context():
        actions = (
            db.session()
            .scalars(select(AuditEntry.action).where(AuditEntry.action.like("token.%")))
            .all()
        )
    assert sorted(actions) == ["token.create", "token.revoke"]


def test_console_token_form_says_what_is_wrong(app, world, client, login):
    login(client, "admin@example.vn")
    reply = post(client, "/console/tokens?lang=en", {"owner": "", "name": "x"})
    assert reply.status_code == 422
    reply = post(client, "/console/tokens?lang=en", {"owner": "99999", "name": "x"})
    assert reply.status_code == 422
    assert stored_tokens(app) == []


@pytest.mark.parametrize("email", ["manager@example.vn", "evaluator@example.vn"])
def test_only_admins_reach_the_tokens_page(app, world, client, login, email):
    login(client, email)
    assert client.get("/console/tokens").status_code == 403
    assert post(client, "/console/tokens", {"owner": "1", "name": "x"}).status_code == 403
    assert "/console/tokens" not in client.get("/console/").get_data(as_text=True)


def test_only_an_admins_token_makes_verified_responses(app, world, client, runner):
    from helpers import full_answers, hidden_fields

    from survey.models import Channel, Response

    channels = []
    for email, dossier in (("admin@example.vn", "DOSSIER-A"), ("manager@example.vn", "DOSSIER-M")):
        made = issue(client, cli_create(runner, email), app, world.counter_child, dossier)
        assert made.status_code == 201
        path = made.json["url"].removeprefix("http://survey.test")
        page = client.get(path)
        data = hidden_fields(page.get_data(as_text=True)) | full_answers("5")
        assert client.post(path, data=data).status_code == 303
        channels.append(made.json["verified"])
    with app.app_context():
        stored = (
            db.session()
            .scalars(
                select(Response.channel)
                .where(Response.dossier_hash.is_not(None))
                .order_by(Response.id)
            )
            .all()
        )
    assert channels == [True, False]
    assert stored == [Channel.RECEIPT, Channel.STAFF_LINK]
