"""The console's forms; choices that depend on the user or the data are set by the view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp, ValidationError

from survey.codes import CodeError, check_code
from survey.models import AgencyLevel
from survey.permissions import Role

NO_AGENCY = ""
# WTForms has no Vietnamese catalogue: every message is given here, through Flask-Babel.
REQUIRED = _l("Please fill in this field.")


def too_long(limit: int) -> Length:
    """Return a length check whose message is in the user's language."""
    return Length(max=limit, message=_l("Please keep this under %(n)d characters.", n=limit))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def valid_code(_form, field) -> None:
    """Check an agency or counter code by the one rule, and keep it normalised (upper case)."""
    try:
        field.data = check_code(field.data)
    except CodeError as error:
        raise ValidationError(str(error)) from error


def _code_field(label) -> StringField:
    return StringField(label, filters=[_strip], validators=[InputRequired(REQUIRED), valid_code])


def _name_field(label, required: bool = True) -> StringField:
    first = [DataRequired(REQUIRED)] if required else []
    return StringField(label, filters=[_strip], validators=[*first, too_long(300)])


class CounterEditForm(FlaskForm):
    """A counter's name and questionnaire."""

    name = _name_field(_l("Name"))
    questionnaire = SelectField(_l("Questionnaire"), choices=[])


class CounterForm(CounterEditForm):
    """A new counter: its code as well."""

    code = _code_field(_l("Code"))


def level_choices() -> list[tuple[str, str]]:
    """Return the agency levels with their names in the user's language."""
    names = {
        AgencyLevel.PROVINCE: _l("Province"),
        AgencyLevel.DEPARTMENT: _l("Department"),
        AgencyLevel.DISTRICT: _l("District"),
        AgencyLevel.COMMUNE: _l("Commune"),
    }
    return [(level.value, names[level]) for level in AgencyLevel]


class AgencyEditForm(FlaskForm):
    """An agency's names, level and parent."""

    name_vi = _name_field(_l("Name in Vietnamese"))
    name_en = _name_field(_l("Name in English (optional)"), required=False)
    level = SelectField(_l("Level"), choices=[])
    parent = SelectField(_l("Parent agency"), choices=[])


class AgencyForm(AgencyEditForm):
    """A new agency: its code as well."""

    code = _code_field(_l("Code"))


def role_choices() -> list[tuple[str, str]]:
    """Return the roles with their names in the user's language."""
    return [
        (Role.ADMIN.value, _l("Admin (everything)")),
        (Role.MANAGER.value, _l("Manager of an agency")),
        (Role.EVALUATOR.value, _l("Evaluator (reads all results)")),
    ]


class UserEditForm(FlaskForm):
    """An account's role, agency and whether it may sign in."""

    role = SelectField(_l("Role"), choices=[])
    agency = SelectField(_l("Agency (managers only)"), choices=[])
    active = BooleanField(_l("May sign in"))


class UserForm(UserEditForm):
    """A new account: its e-mail as well."""

    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[
            InputRequired(REQUIRED),
            too_long(200),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("This is not an e-mail address.")),
        ],
    )


class ReceiptForm(FlaskForm):
    """A counter and a dossier code, for a receipt link."""

    counter = SelectField(_l("Counter"), choices=[], coerce=int)
    dossier = StringField(
        _l("Dossier code"), filters=[_strip], validators=[DataRequired(REQUIRED), too_long(100)]
    )
