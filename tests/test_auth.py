"""Signing in and out: CSRF, one message for every failure, fresh sessions, cookie flags,
slowed-down guessing, argon2 hashes, and `flask users create`."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from test_console_support import PASSWORD, add_user, csrf, post

from survey import create_app, db
from survey.models import AuditEntry, User


@pytest.fixture
def manager(app, make_agency) -> str:
    """Return the e-mail of a manager of agency OWN."""
    make_agency(code="OWN")
    add_user(app, "manager@example.vn", "manager", "OWN")
    return "manager@example.vn"


def test_sign_in_needs_the_csrf_token(client, manager):
    page = client.get("/console/login?lang=en")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    reply = client.post("/console/login", data={"email": manager, "password": PASSWORD})
    assert reply.status_code == 400
    assert client.get("/console/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, manager, login):
    wrong = login(client, manager, "not-the-password", expect=401).get_data(as_text=True)
    unknown = login(client, "nobody@example.vn", PASSWORD, expect=401).get_data(as_text=True)
    message = "The e-mail or password is not correct."
    assert message in wrong and message in unknown
    assert PASSWORD not in wrong and "not-the-password" not in wrong
    assert client.get("/console/").status_code == 302


def test_sign_in_goes_on_to_the_page_asked_for_but_never_off_site(client, manager):
    first = client.get("/console/agencies/OWN")
    assert first.status_code == 302
    target = first.headers["Location"].split("next=")[1]
    token = csrf(client)
    reply = client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "email": manager,
            "password": PASSWORD,
            "next": "/console/agencies/OWN",
        },
    )
    assert reply.headers["Location"] == "/console/agencies/OWN" and target
    for evil in ("//evil.example/x", "https://evil.example/", "\\\\evil.example", "javascript:x"):
        other = client.application.test_client()
        reply = other.post(
            "/console/login",
            data={"csrf_token": csrf(other), "email": manager, "password": PASSWORD, "next": evil},
        )
        assert reply.headers["Location"] == "/console/", evil


def test_email_is_matched_without_case_or_spaces(client, manager, login):
    login(client, "  Manager@Example.VN ")


def test_sign_in_starts_a_fresh_session(client, manager, login):
    client.get("/console/login?lang=en")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = csrf(client)
    login(client, manager)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"  # the language chosen before signing in is kept
        assert session["_user_id"]
    assert csrf(client) != before


def test_session_cookie_is_httponly_and_lax_and_secure_only_on_https(
    app_config, manager, app, login
):
    reply = login(app.test_client(), manager)
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure_app = create_app(app_config | {"PUBLIC_BASE_URL": "https://khaosat.example.gov.vn"})
    try:
        client = secure_app.test_client()
        # The test client keeps Secure cookies only over https.
        page = client.get("/console/login", base_url="https://khaosat.example.gov.vn")
        assert "; Secure" in page.headers["Set-Cookie"]
        token = csrf_from(page.get_data(as_text=True))
        # Over https Flask-WTF also wants a same-site Referer.
        reply = client.post(
            "/console/login",
            base_url="https://khaosat.example.gov.vn",
            headers={"Referer": "https://khaosat.example.gov.vn/console/login"},
            data={"csrf_token": token, "email": manager, "password": PASSWORD},
        )
        assert reply.status_code == 303
        cookie = reply.headers["Set-Cookie"]
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        db.dispose_engines(secure_app)


def csrf_from(html: str) -> str:
    """Return the CSRF token of a rendered form."""
    return html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_sign_out_needs_a_post_and_ends_the_session(client, manager, login):
    login(client, manager)
    assert client.get("/console/logout").status_code == 405
    reply = post(client, "/console/logout")
    assert reply.status_code == 303 and reply.headers["Location"] == "/console/login"
    assert "You have signed out." in client.get("/console/login?lang=en").get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_disabled_account_cannot_sign_in(app, client, manager, login):
    with app.app_context():
        session = db.session()
        session.scalar(select(User).where(User.email == manager)).active = False
        session.commit()
    login(client, manager, expect=401)


@pytest.fixture
def production_app(app_config):
    """Return an app hashing with the production argon2 parameters (the others use cheap ones)."""
    application = create_app(app_config | {"PASSWORD_HASH_PARAMETERS": None})
    yield application
    db.dispose_engines(application)


def test_passwords_are_argon2id_and_old_hashes_are_upgraded(production_app, make_agency, login):
    # The one test on the production parameters: argon2-cffi's defaults, 64 MiB and 3 passes.
    make_agency(code="OWN")
    add_user(production_app, "manager@example.vn", "manager", "OWN")
    with production_app.app_context():
        session = db.session()
        user = session.scalar(select(User).where(User.email == "manager@example.vn"))
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        user.password_hash = weak
        session.commit()
    login(production_app.test_client(), "manager@example.vn")
    with production_app.app_context():
        upgraded = db.session().scalar(
            select(User.password_hash).where(User.email == "manager@example.vn")
        )
    assert upgraded != weak and upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_with_the_configured_parameters_is_kept_at_sign_in(app, client, manager, login):
    with app.app_context():
        stored = db.session().scalar(select(User.password_hash).where(User.email == manager))
    # The tests' cheap parameters (conftest) are the ones used, and no pointless rehash follows.
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    login(client, manager)
    with app.app_context():
        after = db.session().scalar(select(User.password_hash).where(User.email == manager))
    assert after == stored


@pytest.fixture
def limited_app(app_config):
    """Return an app with rate limits switched on (they are off in the other tests)."""
    application = create_app(
        app_config
        | {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "8 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "3 per 15 minutes",
        }
    )
    yield application
    db.dispose_engines(application)


def test_repeated_failures_on_one_account_pause_its_sign_in(limited_app, login):
    add_user(limited_app, "a@example.vn", "evaluator")
    add_user(limited_app, "b@example.vn", "evaluator")
    client = limited_app.test_client()
    for _ in range(3):
        login(client, "A@example.vn", "wrong-password", expect=401)
    # The right password is refused too while the account is paused: guessing gains nothing.
    paused = login(client, "a@example.vn", PASSWORD, expect=429)
    assert "Too many failed sign-ins" in paused.get_data(as_text=True)
    # Another account from the same address is not paused.
    login(limited_app.test_client(), "b@example.vn")


def test_successful_sign_ins_do_not_count_but_failures_from_one_address_do(limited_app, login):
    add_user(limited_app, "a@example.vn", "evaluator")
    for _ in range(10):
        login(limited_app.test_client(), "a@example.vn")
    client = limited_app.test_client()
    for n in range(8):
        login(client, f"guess{n}@example.vn", "x" * 12, expect=401)
    login(client, "a@example.vn", expect=429)


# ---------------------------------------------------------------- flask users create


def test_cli_creates_an_account_with_a_prompted_password(app, runner, make_agency, login):
    make_agency(code="OWN")
    result = runner.invoke(
        args=["users", "create", "Chi.Nguyen@Example.vn", "--role", "manager", "--agency", "OWN"],
        input="a-strong-password\na-strong-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-strong-password" not in result.output
    login(app.test_client(), "chi.nguyen@example.vn", "a-strong-password")
    with app.app_context():
        changes = select(AuditEntry).where(AuditEntry.action.notlike("auth.%"))
        entry = db.session().scalars(changes).one()
        assert entry.action == "user.create" and entry.user_id is None
        assert entry.after["role"] == "manager"


def test_cli_generates_a_password_and_shows_it_once(app, runner, login):
    result = runner.invoke(
        args=["users", "create", "admin@example.vn", "--role", "admin"], input="\n"
    )
    assert result.exit_code == 0, result.output
    password = result.output.rsplit(": ", 1)[1].strip()
    assert len(password) == 23
    login(app.test_client(), "admin@example.vn", password)
    flag = runner.invoke(
        args=["users", "create", "ev@example.vn", "--role", "evaluator", "--generate-password"]
    )
    assert flag.exit_code == 0 and "shown once" in flag.output


@pytest.mark.parametrize(
    "args, input_, message",
    [
        # Command-line messages are Vietnamese, the platform's default language.
        (["x@example.vn", "--role", "manager"], "\n", "Người quản lý phải thuộc một cơ quan."),
        (["x@example.vn", "--role", "admin", "--agency", "NOPE"], "\n", "no agency has code NOPE"),
        (["x@example.vn", "--role", "boss"], "\n", "Invalid value for '--role'"),
        (["x@example.vn", "--role", "admin"], "short\n", "at least 10 characters"),
        (["x@example.vn", "--role", "admin"], "long-enough-1\nlong-enough-2\n", "differ"),
    ],
)
def test_cli_refuses_bad_accounts(app, runner, args, input_, message):
    result = runner.invoke(args=["users", "create", *args], input=input_)
    assert result.exit_code != 0 and message in result.output, result.output
    with app.app_context():
        assert db.session().scalars(select(User)).all() == []


def test_cli_refuses_a_second_account_with_the_same_email(app, runner):
    add_user(app, "a@example.vn", "admin")
    result = runner.invoke(
        args=["users", "create", "A@example.vn", "--role", "admin", "--generate-password"]
    )
    assert result.exit_code == 1 and "Đã có tài khoản với địa chỉ thư điện tử" in result.output
