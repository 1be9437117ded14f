"""Console pages for agencies: the tree, an agency's page, creating and editing agencies."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from survey import db
from survey.console import operations as ops
from survey.console import queries as q
from survey.console.blueprint import bp, download, poster_size, questionnaire_choices
from survey.console.forms import (
    NO_AGENCY,
    AgencyEditForm,
    AgencyForm,
    CounterForm,
    default_hours,
    hours_hint,
    hours_markup,
    level_choices,
)
from survey.models import Agency
from survey.permissions import (
    admin_required,
    agency_or_404,
    can_manage,
    subtree_ids,
    visible_agency_ids,
)
from survey.printing.posters import render_posters


@bp.get("/")
def index():
    """Show the agencies the user may see, as a tree."""
    rows = q.agency_tree(db.session(), visible_agency_ids(current_user))
    return render_template("console/index.html", rows=rows)


def _agency_page(agency: Agency, form: CounterForm | None = None, status: int = 200):
    visible = visible_agency_ids(current_user)
    manage = can_manage(current_user, agency)
    if form is None:
        form = CounterForm(formdata=None, questionnaire="sipas-service")
    form.questionnaire.choices = questionnaire_choices()
    return render_template(
        "console/agency.html",
        agency=agency,
        manage=manage,
        form=form,
        trail=q.ancestors(agency, visible),
        children=[c for c in agency.children if c.id in visible],
        counters=q.counters_of(db.session(), agency),
        poster_count=len(q.counters_in(db.session(), subtree_ids(agency.id))) if manage else 0,
        hours=hours_markup(agency.opening_hours) if agency.opening_hours else None,
        default_hours=default_hours(),
    ), status


@bp.get("/agencies/<code>")
def agency(code: str):
    """Show an agency: its sub-agencies and counters, and what the user may do with them."""
    return _agency_page(agency_or_404(current_user, code))


@bp.post("/agencies/<code>/counters")
def counter_create(code: str):
    """Create a counter in the agency."""
    found = agency_or_404(current_user, code, manage=True)
    form = CounterForm()
    form.questionnaire.choices = questionnaire_choices()
    if form.validate_on_submit():
        try:
            counter = ops.create_counter(
                db.session(),
                current_user,
                found,
                form.code.data,
                form.name.data,
                form.questionnaire.data,
            )
        except ops.StaffError as error:
            form.code.errors.append(str(error))
        else:
            flash(
                _(
                    "Counter %(code)s created. Print its poster and put it at the counter.",
                    code=counter.code,
                ),
                "ok",
            )
            return redirect(url_for(".counter", counter_id=counter.id), code=303)
    return _agency_page(found, form, 422)


@bp.get("/agencies/<code>/posters.pdf")
def agency_posters(code: str):
    """Download one PDF with the posters of every active counter of the agency and below."""
    found = agency_or_404(current_user, code, manage=True)
    size = poster_size()
    posters = q.posters_for_agency(db.session(), found)
    if not posters:
        flash(_("This agency and its sub-agencies have no active counter."), "error")
        return redirect(url_for(".agency", code=code), code=303)
    return download(
        render_posters(posters, size), "application/pdf", f"posters-{found.code}-{size}.pdf"
    )


def _agency_form_choices(form: AgencyEditForm, moving: Agency | None = None) -> None:
    """Fill the level and parent choices; an agency cannot move below itself."""
    excluded = subtree_ids(moving.id) if moving is not None else set()
    locale = str(get_locale())
    form.level.choices = level_choices(moving.level if moving is not None else None)
    form.parent.choices = [(NO_AGENCY, _("(none: a top-level agency)"))] + [
        (a.code, f"{a.code} · {a.name(locale)}")
        for a in q.all_agencies(db.session())
        if a.id not in excluded
    ]


@bp.route("/agencies/new", methods=["GET", "POST"])
@admin_required
def agency_new():
    """Create an agency (admins)."""
    form = AgencyForm(parent=request.args.get("parent", NO_AGENCY))
    _agency_form_choices(form)
    if form.validate_on_submit():
        parent = q.agency_by_code(db.session(), form.parent.data)
        try:
            created = ops.create_agency(
                db.session(),
                current_user,
                form.code.data,
                form.name_vi.data,
                form.name_en.data,
                form.level.data,
                parent,
                form.opening_hours.data,
            )
        except ops.StaffError as error:
            form.code.errors.append(str(error))
        else:
            flash(_("Agency %(code)s created.", code=created.code), "ok")
            return redirect(url_for(".agency", code=created.code), code=303)
    return _agency_form_page(form, None)


def _agency_form_page(form: AgencyEditForm, agency: Agency | None):
    status = 422 if form.errors else 200
    return render_template(
        "console/agency_form.html", form=form, agency=agency, hours_hint=hours_hint()
    ), status


@bp.route("/agencies/<code>/edit", methods=["GET", "POST"])
@admin_required
def agency_edit(code: str):
    """Rename an agency, change its level, move it or set its opening hours (admins)."""
    found = agency_or_404(current_user, code)
    # Field values are given one by one: with `obj=`, WTForms would take the Agency object
    # of the `parent` relationship as the value of the parent select.
    form = AgencyEditForm(
        name_vi=found.name_vi,
        name_en=found.name_en,
        level=found.level,
        parent=found.parent.code if found.parent else NO_AGENCY,
        opening_hours=found.opening_hours or "",
    )
    _agency_form_choices(form, moving=found)
    if form.validate_on_submit():
        parent = q.agency_by_code(db.session(), form.parent.data)
        try:
            changed = ops.update_agency(
                db.session(),
                current_user,
                found,
                form.name_vi.data,
                form.name_en.data,
                form.level.data,
                parent,
                form.opening_hours.data,
            )
        except ops.StaffError as error:
            form.parent.errors.append(str(error))
        else:
            if changed:
                flash(_("Changes saved."), "ok")
            return redirect(url_for(".agency", code=found.code), code=303)
    return _agency_form_page(form, found)
