"""Console pages for a counter's kiosks: make a one-time enrolment code, revoke a kiosk."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from survey import db
from survey.console.blueprint import bp
from survey.kiosk.devices import (
    ENROLMENT_MINUTES,
    create_enrolment,
    enrolment_url,
    revoke_kiosk,
)
from survey.models import Kiosk
from survey.permissions import counter_or_404
from survey.printing.qr import qr_svg


@bp.post("/counters/<int:counter_id>/kiosks/enrol")
def kiosk_enrol(counter_id: int):
    """Make a one-time enrolment code for a tablet at the counter and show its link and QR."""
    found = counter_or_404(current_user, counter_id, manage=True)
    if not found.active:
        abort(404)
    enrolment, code = create_enrolment(db.session(), current_user, found)
    url = enrolment_url(code)
    # Inline SVG (without its XML declaration): the code is shown once and stored nowhere.
    svg = qr_svg(url).split("?>", 1)[-1].strip()
    reply = render_template(
        "console/kiosk_enrolment.html",
        counter=found,
        url=url,
        qr=Markup(svg),
        minutes=ENROLMENT_MINUTES,
        expires_at=enrolment.expires_at,
    )
    return reply, 200, {"Cache-Control": "no-store"}


@bp.post("/counters/<int:counter_id>/kiosks/<int:kiosk_id>/revoke")
def kiosk_revoke(counter_id: int, kiosk_id: int):
    """Revoke a kiosk of the counter: it is refused from its next request on."""
    found = counter_or_404(current_user, counter_id, manage=True)
    kiosk = db.session().get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.counter_id != found.id:
        abort(404)
    if revoke_kiosk(db.session(), current_user, kiosk):
        flash(_("Kiosk %(name)s revoked: it takes no more answers.", name=kiosk.name), "ok")
    return redirect(url_for(".counter", counter_id=found.id), code=303)
