"""The staff console: agencies, counters, posters, receipt links, users and the audit log.

Every view asks survey.permissions for what it shows or changes; writes go through
survey.staff_ops, reads through survey.staff_queries.
"""

from io import BytesIO

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from survey import auth, db, receipts
from survey import staff_ops as ops
from survey import staff_queries as q
from survey.audit import ACTIONS, audit_page, changes
from survey.console_forms import (
    NO_AGENCY,
    AgencyEditForm,
    AgencyForm,
    CounterEditForm,
    CounterForm,
    ReceiptForm,
    UserEditForm,
    UserForm,
    level_choices,
    role_choices,
)
from survey.extensions import login_manager
from survey.models import Agency, Counter
from survey.permissions import (
    admin_required,
    agency_or_404,
    can_manage,
    counter_or_404,
    is_admin,
    managed_agency_ids,
    may_manage_anything,
    subtree_ids,
    user_or_404,
    visible_agency_ids,
)
from survey.posters import render_posters
from survey.qr import qr_png, qr_svg
from survey.receipt_links import dossier_hash, issue_link, read_link, response_for_dossier

bp = Blueprint("console", __name__, url_prefix="/console")
bp.register_blueprint(auth.bp)

POSTER_SIZES = ("a4", "a6")


def init_app(app: Flask) -> None:
    """Register the blueprints that go with the console: the receipt-link pages (`/r/...`)."""
    app.register_blueprint(receipts.bp)


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


@bp.after_request
def no_store(response):
    """Keep console pages out of shared caches and the back button after signing out."""
    response.headers["Cache-Control"] = "no-store"
    return response


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
        "locale": locale,
        "questionnaire_title": questionnaire_title,
    }


@bp.errorhandler(403)
def forbidden(_error):
    """Say the page is not open to the user's role."""
    return render_template("console/forbidden.html"), 403


def _size() -> str:
    size = request.args.get("size", "a4")
    if size not in POSTER_SIZES:
        abort(404)
    return size


def _download(data: bytes | str, mimetype: str, filename: str, attachment: bool = True):
    payload = data.encode() if isinstance(data, str) else data
    return send_file(
        BytesIO(payload), mimetype=mimetype, as_attachment=attachment, download_name=filename
    )


def _questionnaire_choices() -> list[tuple[str, str]]:
    locale = str(get_locale())
    definitions = current_app.extensions["questionnaires"]
    return [(slug, definitions[slug].title(locale)) for slug in sorted(definitions)]


# ---------------------------------------------------------------- agencies


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
    form.questionnaire.choices = _questionnaire_choices()
    return render_template(
        "console/agency.html",
        agency=agency,
        manage=manage,
        form=form,
        trail=q.ancestors(agency, visible),
        children=[c for c in agency.children if c.id in visible],
        counters=q.counters_of(db.session(), agency),
        poster_count=len(q.counters_in(db.session(), subtree_ids(agency.id))) if manage else 0,
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
    form.questionnaire.choices = _questionnaire_choices()
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
    size = _size()
    posters = q.posters_for_agency(db.session(), found)
    if not posters:
        flash(_("This agency and its sub-agencies have no active counter."), "error")
        return redirect(url_for(".agency", code=code), code=303)
    return _download(
        render_posters(posters, size), "application/pdf", f"posters-{found.code}-{size}.pdf"
    )


def _agency_form_choices(form: AgencyEditForm, moving: Agency | None = None) -> None:
    """Fill the level and parent choices; an agency cannot move below itself."""
    excluded = subtree_ids(moving.id) if moving is not None else set()
    locale = str(get_locale())
    form.level.choices = level_choices()
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
            )
        except ops.StaffError as error:
            form.code.errors.append(str(error))
        else:
            flash(_("Agency %(code)s created.", code=created.code), "ok")
            return redirect(url_for(".agency", code=created.code), code=303)
    status = 422 if form.errors else 200
    return render_template("console/agency_form.html", form=form, agency=None), status


@bp.route("/agencies/<code>/edit", methods=["GET", "POST"])
@admin_required
def agency_edit(code: str):
    """Rename an agency, change its level or move it (admins)."""
    found = agency_or_404(current_user, code)
    # Field values are given one by one: with `obj=`, WTForms would take the Agency object
    # of the `parent` relationship as the value of the parent select.
    form = AgencyEditForm(
        name_vi=found.name_vi,
        name_en=found.name_en,
        level=found.level,
        parent=found.parent.code if found.parent else NO_AGENCY,
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
            )
        except ops.StaffError as error:
            form.parent.errors.append(str(error))
        else:
            if changed:
                flash(_("Changes saved."), "ok")
            return redirect(url_for(".agency", code=found.code), code=303)
    status = 422 if form.errors else 200
    return render_template("console/agency_form.html", form=form, agency=found), status


# ---------------------------------------------------------------- counters


def _counter_page(counter: Counter, form: CounterEditForm | None = None, status: int = 200):
    manage = can_manage(current_user, counter.agency)
    if form is None:
        form = CounterEditForm(
            formdata=None, name=counter.name, questionnaire=counter.questionnaire_slug
        )
    form.questionnaire.choices = _questionnaire_choices()
    url = q.public_url(counter.token)
    return render_template(
        "console/counter.html",
        counter=counter,
        manage=manage,
        form=form,
        url=url,
        short_url=q.short_address(url),
        trail=q.ancestors(counter.agency, visible_agency_ids(current_user)) + [counter.agency],
    ), status


@bp.get("/counters/<int:counter_id>")
def counter(counter_id: int):
    """Show a counter; managers also get its QR code, posters and changes."""
    return _counter_page(counter_or_404(current_user, counter_id))


@bp.post("/counters/<int:counter_id>")
def counter_update(counter_id: int):
    """Rename the counter or change its questionnaire."""
    found = counter_or_404(current_user, counter_id, manage=True)
    form = CounterEditForm()
    form.questionnaire.choices = _questionnaire_choices()
    if not form.validate_on_submit():
        return _counter_page(found, form, 422)
    if ops.update_counter(
        db.session(), current_user, found, form.name.data, form.questionnaire.data
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
    return _qr_response(q.public_url(found.token), fmt, f"qr-{found.code}")


@bp.get("/counters/<int:counter_id>/poster.pdf")
def counter_poster(counter_id: int):
    """Download the counter's poster (`?size=a4` wall poster or `a6` table tent)."""
    found = counter_or_404(current_user, counter_id, manage=True)
    if not found.active:
        abort(404)
    size = _size()
    return _download(
        render_posters([q.poster_info(found)], size),
        "application/pdf",
        f"poster-{found.code}-{size}.pdf",
    )


def _qr_response(url: str, fmt: str, name: str):
    attachment = request.args.get("download") == "1"
    if fmt == "svg":
        return _download(qr_svg(url), "image/svg+xml", f"{name}.svg", attachment)
    if fmt == "png":
        return _download(qr_png(url), "image/png", f"{name}.png", attachment)
    abort(404)


# ---------------------------------------------------------------- receipt links


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
            issued = issue_link(found, form.dossier.data)
        except ValueError:
            form.dossier.errors.append(_("Enter the dossier code printed on the receipt."))
    if issued is None:
        return render_template("console/receipts.html", form=form, issued=None), 422
    used = response_for_dossier(db.session(), dossier_hash(form.dossier.data)) is not None
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
    return _qr_response(url, fmt, f"receipt-{found.code}")


# ---------------------------------------------------------------- accounts (admins)


def _user_form_choices(form: UserEditForm) -> None:
    locale = str(get_locale())
    form.role.choices = role_choices()
    form.agency.choices = [(NO_AGENCY, _("(none)"))] + [
        (a.code, f"{a.code} · {a.name(locale)}") for a in q.all_agencies(db.session())
    ]


@bp.get("/users")
@admin_required
def users():
    """List the staff accounts."""
    return render_template(
        "console/users.html", users=q.all_users(db.session()), roles=dict(role_choices())
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    """Create an account; its generated password is shown once."""
    form = UserForm(role="manager")
    _user_form_choices(form)
    if form.validate_on_submit():
        try:
            created, password = ops.create_user(
                db.session(),
                current_user,
                form.email.data,
                form.role.data,
                q.agency_by_code(db.session(), form.agency.data),
                None,
            )
        except ops.StaffError as error:
            form.email.errors.append(str(error))
        else:
            return render_template("console/password.html", account=created, password=password)
    status = 422 if form.errors else 200
    return render_template("console/user_form.html", form=form, account=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    """Change an account's role, agency or whether it may sign in."""
    account = user_or_404(user_id)
    form = UserEditForm(
        role=account.role,
        agency=account.agency.code if account.agency else NO_AGENCY,
        active=account.active,
    )
    _user_form_choices(form)
    if form.validate_on_submit():
        try:
            changed = ops.update_user(
                db.session(),
                current_user,
                account,
                form.role.data,
                q.agency_by_code(db.session(), form.agency.data),
                form.active.data,
            )
        except ops.StaffError as error:
            form.role.errors.append(str(error))
        else:
            if changed:
                flash(_("Changes saved."), "ok")
            return redirect(url_for(".users"), code=303)
    status = 422 if form.errors else 200
    return render_template("console/user_form.html", form=form, account=account), status


@bp.post("/users/<int:user_id>/password")
@admin_required
def user_password(user_id: int):
    """Give an account a new generated password, shown once."""
    account = user_or_404(user_id)
    password = ops.reset_password(db.session(), current_user, account)
    return render_template("console/password.html", account=account, password=password)


@bp.get("/audit")
@admin_required
def audit_log():
    """Show the audit log, newest first."""
    page = audit_page(db.session(), request.args.get("page", 1, type=int))
    return render_template("console/audit.html", page=page, actions=ACTIONS, changes=changes)
