"""Error pages in the visitor's language; under /api/ JSON objects instead, for programs.

An API error is `{"error": "<stable code>", "message": "<words for a developer>"}`: programs
read the code, people the message, in Vietnamese unless the call asks for English
(`Accept-Language: en` or `?lang=en`). A 401 says how to authenticate (`WWW-Authenticate`).
"""

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from survey.extensions import LANGUAGES

API_PREFIX = "/api/"

# The code and message of each status an API call can end with when its view says nothing
# more precise (an unknown URL, a wrong method, a body too large, an unexpected failure).
API_ERRORS = {
    400: ("bad-request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Send a valid API token: Authorization: Bearer <token>.")),
    403: ("forbidden", _l("The token's account may not do this.")),
    404: ("not-found", _l("There is nothing at this address of the API.")),
    405: ("method-not-allowed", _l("This address of the API does not take this method.")),
    413: ("too-large", _l("The request body is too large.")),
    422: ("invalid", _l("The request is well formed but its values are not acceptable.")),
    429: ("too-many-requests", _l("Too many requests: wait a moment and try again.")),
    500: (
        "server-error",
        _l("Something went wrong on the server; the request may not have been done."),
    ),
    503: (
        "unavailable",
        _l("The service is briefly unavailable; the request may not have been done. Try again."),
    ),
}

# The database cannot be reached (restarting, network down, pool exhausted): a 503 with
# Retry-After, not a 500. psycopg's own errors arrive wrapped in SQLAlchemy's, but a driver
# error raised outside SQLAlchemy counts too.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
try:
    import psycopg

    DATABASE_UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover - SQLite-only installs
    pass

# Seconds a client is asked to wait before trying again while the database is unreachable.
DEFAULT_RETRY_AFTER = 5


def retry_after() -> str:
    """Return the Retry-After value of a 503 (config RETRY_AFTER_SECONDS, else 5 seconds)."""
    return str(int(current_app.config.get("RETRY_AFTER_SECONDS", DEFAULT_RETRY_AFTER)))


def leave_the_database_alone() -> None:
    """Make the pages rendered from now on in this request touch no database."""
    # Flask-Login puts `current_user` in every template's context, loading the account from the
    # database: with it unreachable, the 503 page would fail too and Werkzeug's bare English 500
    # would be all the visitor gets. An outage page shows no account.
    g._login_user = AnonymousUserMixin()


def unavailable_response(error=None):
    """Return the 503 of an unreachable database: JSON under /api/, else the 503 page."""
    current_app.logger.warning("database unavailable: %s", type(error).__name__ if error else "")
    headers = [("Retry-After", retry_after())]
    if is_api_request():
        return api_error(503, code="database-unavailable", headers=headers)
    leave_the_database_alone()
    return render_template("errors/503.html"), 503, dict(headers)


def is_api_request() -> bool:
    """Tell whether the current request is for the JSON API (answered in JSON, even a 404)."""
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def api_locale() -> str:
    """Return the language of an API call: ?lang=, else Accept-Language, else Vietnamese.

    Unlike the pages, nothing is remembered in a session: a program has no browser session.
    """
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def api_error(status: int, code: str | None = None, message=None, headers=None):
    """Return the JSON error response of the API: `error` code and `message` (a lazy string, or
    None for the status's own words) in the call's language."""
    default_code, default_message = API_ERRORS.get(status, ("error", _l("The request failed.")))
    with force_locale(api_locale()):
        body = {"error": code or default_code, "message": str(message or default_message)}
    response = jsonify(body)
    response.status_code = status
    for name, value in headers or ():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="survey"'
    return response


def _api_http_error(error: HTTPException):
    """Answer an HTTP error under /api/ in JSON, keeping its headers (e.g. `Allow` on a 405)."""
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    # survey.input_guard's refusals say what was wrong; other errors keep their status's words.
    message = getattr(error, "user_message", None)
    return api_error(error.code or 500, message=message, headers=headers)


def init_app(app: Flask) -> None:
    """Register the error pages."""

    @app.errorhandler(HTTPException)
    def any_http_error(error: HTTPException):
        """Answer the API in JSON; elsewhere keep Werkzeug's page for codes without our own."""
        if is_api_request():
            return _api_http_error(error)
        return error

    @app.errorhandler(404)
    def not_found(error):
        """Say the address or survey code is not valid."""
        if is_api_request():
            return _api_http_error(error)
        kind = getattr(error, "description", "") if error else ""
        return render_template("errors/404.html", survey_code=kind == "survey-code"), 404

    @app.errorhandler(410)
    def replaced(error):
        """Say the poster was replaced and a new one must be scanned."""
        if is_api_request():
            return _api_http_error(error)
        return render_template("errors/replaced.html"), 410

    @app.errorhandler(400)
    def bad_request(error):
        """Say the request could not be understood (e.g. a form sent without its CSRF token)."""
        if is_api_request():
            return _api_http_error(error)
        if getattr(error, "user_message", None):
            return render_template("errors/bad_input.html", message=error.user_message), 400
        return render_template("errors/400.html", reason=error.description), 400

    @app.errorhandler(500)
    def server_error(error):
        """Apologise without showing internals."""
        if is_api_request():
            return api_error(500)
        return render_template("errors/500.html"), 500

    @app.errorhandler(503)
    def unavailable(error):
        """Ask the visitor to try again in a moment (an HTTP 503 raised by a view)."""
        return unavailable_response(error)

    for database_error in DATABASE_UNAVAILABLE:
        app.register_error_handler(database_error, unavailable_response)

    @app.errorhandler(429)
    def too_many(error):
        """Ask the visitor to wait before trying again."""
        if is_api_request():
            return _api_http_error(error)
        return render_template("errors/429.html"), 429
