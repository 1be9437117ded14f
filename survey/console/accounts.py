"""Console pages for staff accounts (admins) and the audit log."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from survey import db
from survey.console import operations as ops
from survey.console import queries as q
from survey.console.audit import (
    ACTIONS,
    AuditFilterError,
    AuditFilters,
    audit_page,
    changes,
    parse_audit_filters,
)
from survey.console.blueprint import bp
from survey.console.forms import NO_AGENCY, UserEditForm, UserForm, role_choices
from survey.permissions import admin_required, user_or_404


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
    """Show the audit log, newest first, narrowed by ?action=…&user=…&from=…&to=…."""
    session = db.session()
    args = {k: request.args.get(k, "") for k in ("action", "user", "from", "to")}
    accounts = q.all_users(session)
    shared = {"args": args, "actions": ACTIONS, "accounts": accounts, "changes": changes}
    try:
        filters = parse_audit_filters(session, request.args)
    except AuditFilterError as error:
        # Say which filter is wrong; the page shows nothing rather than something unfiltered.
        failed = {"page": None, "error": str(error), "error_param": error.param}
        return render_template("console/audit.html", **failed, **shared), 400
    page = audit_page(session, request.args.get("page", 1, type=int), filters)
    # The pages' links keep the filters.
    keep = {k: v for k, v in args.items() if v}
    filtered = filters != AuditFilters()
    return render_template(
        "console/audit.html", page=page, error=None, keep=keep, filtered=filtered, **shared
    )
