"""Console pages for single-use receipt links, made by staff for one dossier each.

A link made here is issued by staff: its response is stored as `staff-link`, never as verified.
"""

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from survey import db
from survey.console import queries as q
from survey.console.audit import record_issued_link
from survey.console.blueprint import bp, qr_response
from survey.console.forms import ReceiptForm
from survey.permissions import counter_or_404, managed_agency_ids, may_manage_anything
from survey.receipt_links import (
    LinkOrigin,
    issue_link,
    read_link,
    response_for_dossier,
    store_issued_link,
)


def _receipt_choices(form: ReceiptForm) -> None:
    form.counter.choices = [
        (c.id, f"{c.code} · {c.name} ({c.agency.code})")
        for c in q.counters_in(db.session(), managed_agency_ids(current_user))
    ]


@bp.get("/receipts")
def receipt_form():
    """Show the form that makes a receipt link for a dossier."""
    if not may_manage_anything(current_user):
        abort(403)
    form = ReceiptForm(formdata=None, counter=request.args.get("counter", type=int))
    _receipt_choices(form)
    return render_template("console/receipts.html", form=form, issued=None)


@bp.post("/receipts")
def receipt_create():
    """Make a signed receipt link and its QR code for a counter and a dossier."""
    if not may_manage_anything(current_user):
        abort(403)
    # The counter is checked like any id in a URL: another agency's counter is not found.
    found = counter_or_404(current_user, request.form.get("counter", type=int) or 0, manage=True)
    if not found.active:
        abort(404)
    form = ReceiptForm()
    _receipt_choices(form)
    issued = None
    if form.validate_on_submit():
        try:
            issued = issue_link(found, form.dossier.data, origin=LinkOrigin.STAFF)
        except ValueError:
            form.dossier.errors.append(_("Enter the dossier code printed on the receipt."))
    if issued is None:
        return render_template("console/receipts.html", form=form, issued=None), 422
    session = db.session()
    record_issued_link(session, current_user, issued)
    store_issued_link(session, issued)
    session.commit()
    used = response_for_dossier(session, issued.dossier_hash) is not None
    return render_template("console/receipts.html", form=form, issued=issued, used=used)


@bp.get("/receipts/qr.<fmt>")
def receipt_qr(fmt: str):
    """Return the QR code of a receipt link made in the console, as SVG or PNG."""
    signed = request.args.get("link", "")
    try:
        link = read_link(signed)
    except ValueError:
        abort(404)
    found = counter_or_404(current_user, link.counter_id, manage=True)
    url = f"{current_app.config['PUBLIC_BASE_URL']}/r/{signed}"
    return qr_response(url, fmt, f"receipt-{found.code}")
