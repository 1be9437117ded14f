"""The kiosk's pages: enrolment by one-time link, the kiosk page `/k/`, and refusals."""

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import force_locale, gettext

from survey import db
from survey.kiosk.answers import MAX_BATCH, QUESTIONNAIRE, receive_batch
from survey.kiosk.devices import enrol, kiosk_for
from survey.models import Kiosk

bp = Blueprint("kiosk", __name__, url_prefix="/k")

COOKIE = "kiosk"
COOKIE_PATH = "/k/"
# A tablet stays enrolled until it is revoked: about five years, the life of the device.
COOKIE_SECONDS = 5 * 365 * 24 * 3600
# The kiosk speaks Vietnamese first; its language button switches to English.
LOCALES = ("vi", "en")


def refused(status: int = 403):
    """Return the page a tablet gets when it is not (or no longer) a kiosk, in Vietnamese."""
    # Whatever the tablet's browser language: the staff who read it are Vietnamese.
    with force_locale("vi"):
        return render_template("kiosk/refused.html"), status


def current_kiosk() -> Kiosk | None:
    """Return the kiosk of the request's device cookie, or None."""
    return kiosk_for(db.session(), request.cookies.get(COOKIE))


@bp.get("/enrol/<code>")
def enrol_device(code: str):
    """Exchange a one-time enrolment code for the device credential, then open the kiosk."""
    found = enrol(db.session(), code, replacing=request.cookies.get(COOKIE))
    if found is None:
        return refused()
    _, credential = found
    reply = redirect("/k/", code=303)
    reply.set_cookie(
        COOKIE,
        credential,
        max_age=COOKIE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    # The link must not linger in a shared history or be sent on as a Referer.
    reply.headers["Referrer-Policy"] = "no-referrer"
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.get("/")
def page():
    """Show the kiosk page of the device's counter."""
    kiosk = current_kiosk()
    if kiosk is None:
        return refused()
    definition = current_app.extensions["questionnaires"][QUESTIONNAIRE]
    # Both languages are on the page: the language button switches without a request, offline.
    thanks = {}
    for locale in LOCALES:
        with force_locale(locale):
            thanks[locale] = gettext("Thank you for your evaluation!")
    return render_template("kiosk/page.html", kiosk=kiosk, definition=definition, thanks=thanks)


@bp.post("/answers")
def answers():
    """Store a batch of answers from the device's kiosk; say which ids are stored."""
    kiosk = current_kiosk()
    if kiosk is None:
        with force_locale("vi"):
            message = gettext("This tablet is not a kiosk")
        return jsonify(error="not-a-kiosk", message=message), 403
    batch = request.get_json(silent=True)
    definition = current_app.extensions["questionnaires"][QUESTIONNAIRE]
    result = receive_batch(db.session(), kiosk, definition, batch)
    if result is None:
        message = f"Expected a list of at most {MAX_BATCH} answers."
        return jsonify(error="bad-batch", message=message), 400
    return jsonify(stored=result.stored, errors=result.errors)


@bp.get("/sw.js")
def worker():
    """Serve the kiosk's service worker from /k/, so that its scope is the kiosk's pages."""
    reply = send_from_directory(current_app.static_folder, "kiosk/sw.js", max_age=0)
    reply.headers["Cache-Control"] = "no-cache"
    return reply
