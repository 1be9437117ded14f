"""Failed sign-ins slow down the guesser, not the owner: limits per (account, address) and a
wide one per account, through the real app with Flask-Limiter switched on."""

import pytest
from test_console_support import PASSWORD, add_user, csrf

from survey import create_app, db

OWNER = "198.51.100.7"
ATTACKER = "203.0.113.66"


@pytest.fixture
def limited_app(app_config):
    """Return an app with the sign-in limits on: 3 per pair, 12 per account, 100 per address."""
    application = create_app(
        app_config
        | {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "100 per minute",
            "LOGIN_PAIR_RATE_LIMIT": "3 per 15 minutes",
            "LOGIN_ACCOUNT_RATE_LIMIT": "12 per hour",
        }
    )
    add_user(application, "chi@example.vn", "evaluator")
    yield application
    db.dispose_engines(application)


def attempt(app, address: str, password: str, email: str = "chi@example.vn", lang: str = "vi"):
    """Post the sign-in form from `address` in a fresh browser; return the response."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf(client)
    if lang != "en":
        client.get(f"/console/login?lang={lang}")
    return client.post(
        "/console/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_attackers_failures_do_not_lock_the_owner_out(limited_app):
    for _ in range(3):
        assert attempt(limited_app, ATTACKER, "wrong-password-1").status_code == 401
    # The attacker is paused, the owner at their own address signs in.
    assert attempt(limited_app, ATTACKER, PASSWORD).status_code == 429
    assert attempt(limited_app, OWNER, PASSWORD).status_code == 303
    # The attacker's retries while paused do not count: they cannot fill the account's window.
    for _ in range(20):
        assert attempt(limited_app, ATTACKER, "wrong-password-1").status_code == 429
    assert attempt(limited_app, OWNER, PASSWORD).status_code == 303


def test_repeated_guessing_from_one_address_is_stopped_in_vietnamese(limited_app):
    for _ in range(3):
        reply = attempt(limited_app, ATTACKER, "wrong-password-2")
        assert reply.status_code == 401
        assert "Thư điện tử hoặc mật khẩu không đúng." in reply.get_data(as_text=True)
    # Even the right password is refused on this pair while it is paused: guessing gains nothing.
    paused = attempt(limited_app, ATTACKER, PASSWORD)
    assert paused.status_code == 429
    page = paused.get_data(as_text=True)
    assert "Đăng nhập sai quá nhiều lần" in page
    assert "Too many" not in page and "nhiều nơi" not in page
    # The same address may still sign in to another account (the pair is paused, not the address).
    add_user(limited_app, "other@example.vn", "evaluator")
    assert attempt(limited_app, ATTACKER, PASSWORD, email="other@example.vn").status_code == 303


def test_a_successful_sign_in_does_not_count(limited_app):
    for _ in range(8):
        assert attempt(limited_app, OWNER, PASSWORD).status_code == 303


def test_a_guess_spread_over_many_addresses_is_stopped_by_the_wide_limit(limited_app):
    # Four machines, three failures each: no pair is over its limit, the account is (12).
    for machine in range(4):
        for _ in range(3):
            reply = attempt(limited_app, f"192.0.2.{machine + 1}", "wrong-password-3")
            assert reply.status_code == 401
    fresh = attempt(limited_app, "192.0.2.99", "wrong-password-3")
    assert fresh.status_code == 429
    page = fresh.get_data(as_text=True)
    assert "nhiều nơi" in page, page
    english = attempt(limited_app, "192.0.2.98", "wrong-password-3", lang="en")
    assert "many wrong passwords from several places" in english.get_data(as_text=True)
    # At that scale the owner waits too: the price of stopping the guess, said on the page.
    assert attempt(limited_app, OWNER, PASSWORD).status_code == 429
    # Other accounts are not touched.
    add_user(limited_app, "other@example.vn", "evaluator")
    assert attempt(limited_app, "192.0.2.1", PASSWORD, email="other@example.vn").status_code == 303


def test_the_limits_are_keyed_on_the_normalised_email(limited_app):
    for spelling in ("Chi@Example.vn", " chi@example.vn", "CHI@EXAMPLE.VN"):
        assert attempt(limited_app, ATTACKER, "wrong-password-4", email=spelling).status_code == 401
    assert attempt(limited_app, ATTACKER, PASSWORD).status_code == 429


def test_the_defaults_are_per_pair_and_wide_per_account(app):
    assert app.config["LOGIN_PAIR_RATE_LIMIT"] == "5 per 15 minutes"
    assert app.config["LOGIN_ACCOUNT_RATE_LIMIT"] == "50 per hour"
