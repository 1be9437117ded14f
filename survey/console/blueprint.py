"""The console's blueprint: what every console request shares (sign-in, menus).

No caching (`Cache-Control: no-store`) is set with the other headers in `survey.security`.
"""

from io import BytesIO

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import get_locale
from flask_login import current_user

from survey.console import auth
from survey.extensions import login_manager
from survey.permissions import is_admin, may_manage_anything, may_review
from survey.printing.qr import qr_png, qr_svg

bp = Blueprint("console", __name__, url_prefix="/console")
bp.register_blueprint(auth.bp)

POSTER_SIZES = ("a4", "a6")


# ---------------------------------------------------------------- every console request


@bp.before_request
def require_staff():
    """Send visitors who are not signed in to the sign-in page."""
    if request.blueprint == "console.auth":
        return None
    # A disabled account or a changed password has already been signed out (auth.py).
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.context_processor
def console_context() -> dict:
    """Give the console templates the user's rights for the menu."""
    locale = str(get_locale())
    definitions = current_app.extensions["questionnaires"]

    def questionnaire_title(slug: str) -> str:
        """Return the title of questionnaire `slug` in the user's language."""
        return definitions[slug].title(locale) if slug in definitions else slug

    return {
        "is_admin": is_admin(current_user),
        "manages": may_manage_anything(current_user),
        "reviews": may_review(current_user),
        "locale": locale,
        "questionnaire_title": questionnaire_title,
    }


@bp.errorhandler(403)
def forbidden(_error):
    """Say the page is not open to the user's role."""
    return render_template("console/forbidden.html"), 403


def poster_size() -> str:
    """Return the poster size asked for (a4 or a6), or stop with a 404."""
    size = request.args.get("size", "a4")
    if size not in POSTER_SIZES:
        abort(404)
    return size


def download(data: bytes | str, mimetype: str, filename: str, attachment: bool = True):
    """Send `data` as a file download (or inline)."""
    payload = data.encode() if isinstance(data, str) else data
    return send_file(
        BytesIO(payload), mimetype=mimetype, as_attachment=attachment, download_name=filename
    )


def questionnaire_choices() -> list[tuple[str, str]]:
    """Return (slug, title) of every questionnaire, for a select field."""
    locale = str(get_locale())
    definitions = current_app.extensions["questionnaires"]
    return [(slug, definitions[slug].title(locale)) for slug in sorted(definitions)]


def qr_response(url: str, fmt: str, name: str):
    """Send the QR code of `url` as SVG or PNG (`?download=1` as an attachment)."""
    attachment = request.args.get("download") == "1"
    if fmt == "svg":
        return download(qr_svg(url), "image/svg+xml", f"{name}.svg", attachment)
    if fmt == "png":
        return download(qr_png(url), "image/png", f"{name}.png", attachment)
    abort(404)
