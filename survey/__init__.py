"""The survey platform's Flask application."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from survey import db
from survey.config import PROJECT_ROOT, default_config, environment_overrides, instance_secret_key
from survey.extensions import babel, csrf, limiter, login_manager, select_locale
from survey.questionnaires.loading import load_directory


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides the defaults and the environment (for tests)."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(default_config(Path(app.instance_path)))
    app.config.update(environment_overrides())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_BASE_URL"].startswith("https://")
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL"].rstrip("/")
    hops = int(app.config["PROXY_HOPS"])
    if hops > 0:
        # The client's address (rate limits, flags) and scheme come from the trusted proxies'
        # X-Forwarded-For / -Proto, of exactly that many hops; with 0 those headers are ignored,
        # since anyone can send them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    # A bad questionnaire file stops start-up here, naming the file, the field and the problem.
    app.extensions["questionnaires"] = load_directory(Path(app.config["QUESTIONNAIRE_DIR"]))

    db.init_app(app)
    from survey.results import cache as results_cache

    results_cache.init_app(app)
    # The limiter first: a flood of posts is refused before any other work (CSRF, forms) is done.
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)

    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale

    from survey import cli, errors, input_guard, kiosk, pages, security
    from survey.api import views as api
    from survey.citizen import receipts
    from survey.citizen import views as citizen
    from survey.console import views as console
    from survey.results import views as results

    input_guard.init_app(app)  # before the blueprints: their <int:...> rules use its converter
    app.register_blueprint(pages.bp)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(receipts.bp)  # the receipt-link pages /r/<signed>
    app.register_blueprint(console.bp)
    app.register_blueprint(results.bp)
    # The API authenticates each call with a bearer token, not a browser session: no CSRF.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    kiosk.init_app(app)  # the counter's tablet, /k/
    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    return app
