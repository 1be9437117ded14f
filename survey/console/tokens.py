"""Console pages for API tokens (admins): list, create (shown once), revoke."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from survey import db
from survey.console import token_ops
from survey.console.blueprint import bp
from survey.console.operations import StaffError
from survey.console.queries import all_users
from survey.models import ApiToken, User
from survey.permissions import admin_required


class TokenForm(FlaskForm):
    """A new token: whose it is and what it is for."""

    owner = SelectField(
        _l("Owner"), coerce=int, validators=[InputRequired(_l("Please fill in this field."))]
    )
    name = StringField(
        _l("Name"),
        validators=[
            Length(
                max=token_ops.NAME_LENGTH,
                message=_l("Please keep this under %(n)d characters.", n=token_ops.NAME_LENGTH),
            )
        ],
    )


def _token_form(blank: bool = False) -> TokenForm:
    # blank: a fresh form under the token just made, not the one that made it.
    form = TokenForm(formdata=None) if blank else TokenForm()
    # Disabled accounts are left out: their tokens would not work.
    form.owner.choices = [
        (u.id, f"{u.email} ({u.role})") for u in all_users(db.session()) if u.active
    ]
    return form


def _page(form: TokenForm, status: int = 200, created=None, plain: str | None = None):
    tokens = token_ops.all_tokens(db.session())
    return render_template(
        "console/tokens.html", form=form, tokens=tokens, created=created, plain=plain
    ), status


@bp.get("/tokens")
@admin_required
def tokens():
    """List the API tokens with their owner, creation, last use and revocation."""
    return _page(_token_form())


@bp.post("/tokens")
@admin_required
def token_new():
    """Create a token for the chosen account; the token is shown once."""
    form = _token_form()
    if form.validate_on_submit():
        session = db.session()
        owner = session.get(User, form.owner.data)
        try:
            token, plain = token_ops.create_token(session, current_user, owner, form.name.data)
        except StaffError as error:
            form.owner.errors.append(str(error))
        else:
            # The one time the token is shown: the page is not cached (console's no-store).
            return _page(_token_form(blank=True), 201, created=token, plain=plain)
    return _page(form, 422)


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def token_revoke(token_id: int):
    """Revoke a token: it stops working with the next call."""
    session = db.session()
    token = session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if token_ops.revoke_token(session, current_user, token):
        flash(_("Token %(name)s revoked.", name=token.name), "ok")
    return redirect(url_for(".tokens"), code=303)
