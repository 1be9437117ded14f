"""Console pages for counters: edit, rotate the QR token, retire, QR codes and posters."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import db
from survey.console import operations as ops
from survey.console import queries as q
from survey.console.blueprint import bp, download, poster_size, qr_response, questionnaire_choices
from survey.console.forms import CounterEditForm, burst_default, burst_hint
from survey.kiosk.devices import counter_kiosks
from survey.models import Counter
from survey.permissions import can_manage, counter_or_404, visible_agency_ids
from survey.printing.posters import render_posters


def _counter_page(counter: Counter, form: CounterEditForm | None = None, status: int = 200):
    manage = can_manage(current_user, counter.agency)
    if form is None:
        form = CounterEditForm(
            formdata=None,
            name=counter.name,
            questionnaire=counter.questionnaire_slug,
            burst_limit="" if counter.burst_limit is None else str(counter.burst_limit),
        )
    form.questionnaire.choices = questionnaire_choices()
    url = q.public_url(counter.token)
    default_burst, burst_window = burst_default()
    return render_template(
        "console/counter.html",
        counter=counter,
        manage=manage,
        form=form,
        url=url,
        short_url=q.short_address(url),
        default_burst=default_burst,
        burst_window=burst_window,
        burst_hint=burst_hint(),
        kiosks=counter_kiosks(db.session(), counter) if manage else [],
        trail=q.ancestors(counter.agency, visible_agency_ids(current_user)) + [counter.agency],
    ), status


@bp.get("/counters/<int:counter_id>")
def counter(counter_id: int):
    """Show a counter; managers also get its QR code, posters and changes."""
    return _counter_page(counter_or_404(current_user, counter_id))


@bp.post("/counters/<int:counter_id>")
def counter_update(counter_id: int):
    """Rename the counter, change its questionnaire or its burst limit."""
    found = counter_or_404(current_user, counter_id, manage=True)
    form = CounterEditForm()
    form.questionnaire.choices = questionnaire_choices()
    if not form.validate_on_submit():
        return _counter_page(found, form, 422)
    if ops.update_counter(
        db.session(),
        current_user,
        found,
        form.name.data,
        form.questionnaire.data,
        burst_limit=form.burst_limit.data,
    ):
        flash(_("Changes saved."), "ok")
    return redirect(url_for(".counter", counter_id=found.id), code=303)


@bp.post("/counters/<int:counter_id>/rotate")
def counter_rotate(counter_id: int):
    """Give the counter a new QR code; the old posters then say they were replaced."""
    found = counter_or_404(current_user, counter_id, manage=True)
    ops.rotate_token(db.session(), current_user, found)
    flash(
        _(
            "The counter has a new QR code. Print the new poster: the old one now tells citizens "
            "to scan the new one."
        ),
        "ok",
    )
    return redirect(url_for(".counter", counter_id=found.id), code=303)


@bp.post("/counters/<int:counter_id>/retire")
def counter_retire(counter_id: int):
    """Retire the counter: its QR code stops taking answers."""
    found = counter_or_404(current_user, counter_id, manage=True)
    ops.set_counter_active(db.session(), current_user, found, False)
    flash(_("Counter %(code)s retired.", code=found.code), "ok")
    return redirect(url_for(".counter", counter_id=found.id), code=303)


@bp.post("/counters/<int:counter_id>/reactivate")
def counter_reactivate(counter_id: int):
    """Bring a retired counter back into service."""
    found = counter_or_404(current_user, counter_id, manage=True)
    ops.set_counter_active(db.session(), current_user, found, True)
    flash(_("Counter %(code)s is active again.", code=found.code), "ok")
    return redirect(url_for(".counter", counter_id=found.id), code=303)


@bp.get("/counters/<int:counter_id>/qr.<fmt>")
def counter_qr(counter_id: int, fmt: str):
    """Return the counter's QR code as SVG or PNG (`?download=1` to save it)."""
    found = counter_or_404(current_user, counter_id, manage=True)
    return qr_response(q.public_url(found.token), fmt, f"qr-{found.code}")


@bp.get("/counters/<int:counter_id>/poster.pdf")
def counter_poster(counter_id: int):
    """Download the counter's poster (`?size=a4` wall poster or `a6` table tent)."""
    found = counter_or_404(current_user, counter_id, manage=True)
    if not found.active:
        abort(404)
    size = poster_size()
    return download(
        render_posters([q.poster_info(found)], size),
        "application/pdf",
        f"poster-{found.code}-{size}.pdf",
    )
