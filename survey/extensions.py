"""Flask extensions, created here once and bound to the app in the factory."""

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from survey.citizen.rate_limits import SurveyLimiter

csrf = CSRFProtect()
babel = Babel()
# Counts requests per address in memory (or Redis in production); no address is ever stored in
# the database.
limiter = SurveyLimiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()

LANGUAGES = ("vi", "en")
# Built once: Babel looks for its locale data on disk each time a Locale is made.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}


def select_locale() -> Locale | str:
    """Return the citizen's language: the one chosen with ?lang= (remembered), else Vietnamese."""
    if not has_request_context():
        # Command-line messages: Vietnamese unless the configuration says otherwise.
        return current_app.config.get("CLI_LOCALE", "vi")
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return _LOCALES[chosen]
    return _LOCALES.get(session.get("lang"), _LOCALES["vi"])


@login_manager.user_loader
def load_user(user_id: str):
    """Return the signed-in member of staff for Flask-Login."""
    from survey import db
    from survey.models import User

    return db.session().get(User, int(user_id)) if user_id.isdigit() else None
