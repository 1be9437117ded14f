"""Signing staff in and out of the console.

The views sit on a blueprint nested in the console's (`/console/login`, `/console/logout`), so
they need no registration of their own.

Only failed sign-ins count (a password checked and found wrong), in three windows that Flask-Limiter
keeps in its storage (memory, or Redis with several workers), not in the database:

- per account and address, `LOGIN_PAIR_RATE_LIMIT`: the guesser is slowed down where they are,
  while the owner signing in from their own address is not, so nobody can lock someone out;
- per account, all addresses together, `LOGIN_ACCOUNT_RATE_LIMIT`: set wide, it only stops a
  guess spread over many machines;
- per address, all accounts together, `LOGIN_RATE_LIMIT`: one machine trying many accounts.
"""

import hashlib
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired

from survey import db
from survey.console.audit import clean_text, record_read
from survey.console.forms import REQUIRED, too_long
from survey.console.passwords import authenticate, normalise_email
from survey.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)

login_manager.login_view = "console.auth.login"
# The login page says what to do; Flask-Login's English flash message would only repeat it.
login_manager.login_message = None

PAIR_LIMIT_DEFAULT = "5 per 15 minutes"
ACCOUNT_LIMIT_DEFAULT = "50 per hour"


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(
        _l("E-mail"),
        validators=[InputRequired(REQUIRED), too_long(200)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(REQUIRED), too_long(200)],
        render_kw={"autocomplete": "current-password"},
    )


def _failed(_response) -> bool:
    # Only a password checked and found wrong counts. A refused request (429) must not: the
    # guesser retrying while paused would otherwise fill the account's wide window and lock the
    # owner out after all.
    return bool(g.get("sign_in_failed"))


def _digest(*parts: str) -> str:
    # The storage keys carry no e-mail or address in clear, and stay short whatever was posted.
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


def _email() -> str:
    return normalise_email(request.form.get("email", ""))


def _account_key() -> str:
    return "login-account:" + _digest(_email())


def _pair_key() -> str:
    return "login-pair:" + _digest(_email(), get_remote_address() or "")


def _safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the console's first page."""
    if target:
        parts = urlsplit(target.replace("\\", "/"))
        if not parts.scheme and not parts.netloc and parts.path.startswith("/"):
            return target
    return url_for("console.index")


def _renew_session() -> None:
    """Start a new session, keeping only the chosen language (no fixation of an old session)."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def password_stamp(user) -> str:
    """Return a short fingerprint of the user's password hash, kept in the session at sign-in.

    When the password is reset, the fingerprint no longer matches and every session opened with
    the old password ends: resetting a stolen password also throws the thief out.
    """
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@bp.before_app_request
def end_stale_sessions():
    """Sign out a session whose account was disabled or whose password changed since sign-in."""
    # Citizens never sign in: without a user id in the session there is nobody to load.
    if "_user_id" not in session or not current_user.is_authenticated:
        return
    if not current_user.is_active or session.get("password_stamp") != password_stamp(current_user):
        logout_user()
        _renew_session()


@bp.get("/login")
def login():
    """Show the sign-in form."""
    if current_user.is_authenticated and current_user.is_active:
        return redirect(url_for("console.index"))
    return render_template("auth/login.html", form=LoginForm(), next=request.args.get("next", ""))


@bp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], deduct_when=_failed)
@limiter.limit(
    lambda: current_app.config.get("LOGIN_PAIR_RATE_LIMIT", PAIR_LIMIT_DEFAULT),
    key_func=_pair_key,
    deduct_when=_failed,
)
@limiter.limit(
    lambda: current_app.config.get("LOGIN_ACCOUNT_RATE_LIMIT", ACCOUNT_LIMIT_DEFAULT),
    key_func=_account_key,
    deduct_when=_failed,
)
def login_post():
    """Check the e-mail and password, start a fresh session and go on to the console."""
    form = LoginForm()
    target = request.form.get("next", "")
    if form.validate_on_submit():
        user = authenticate(db.session(), form.email.data, form.password.data)
        if user is not None:
            _renew_session()
            login_user(user)
            session["password_stamp"] = password_stamp(user)
            _record_sign_in(user, form.email.data)
            return redirect(_safe_next(target), code=303)
        g.sign_in_failed = True
        _record_sign_in(None, form.email.data)
    # One message for a wrong e-mail and a wrong password: which one is wrong is not said.
    flash(_("The e-mail or password is not correct."), "error")
    form.password.data = ""
    return render_template("auth/login.html", form=form, next=target), 401


def _record_sign_in(user, typed: str) -> None:
    """Record a sign-in (`user`) or a failed one (None): the e-mail tried, never the password
    or the address."""
    email = user.email if user is not None else clean_text(normalise_email(typed))
    action = "auth.sign_in" if user is not None else "auth.sign_in_failed"
    # A failure has no actor: whoever typed the e-mail is not known to be its owner.
    record_read(db.session(), user, action, f"sign-in:{email}", after={"email": email})


@bp.post("/logout")
def logout():
    """Sign out and forget the session."""
    logout_user()
    _renew_session()
    flash(_("You have signed out."), "ok")
    return redirect(url_for("console.auth.login"), code=303)


@bp.errorhandler(429)
def too_many(error):
    """Ask to wait after too many failed sign-ins, saying which pause it is."""
    limit = getattr(error, "limit", None)
    # The wide per-account window: failures from many places, not only from this address.
    whole_account = limit is not None and limit.key_func is _account_key
    return render_template("auth/too_many.html", whole_account=whole_account), 429
