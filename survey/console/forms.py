"""The console's forms; choices that depend on the user or the data are set by the view."""

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from limits import parse
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp, ValidationError

from survey.codes import CodeError, check_code
from survey.console.operations import StaffError, clean_burst_limit, clean_opening_hours
from survey.hours import parse_hours
from survey.levels import level_choices  # noqa: F401  (the agency form's levels)
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


# ---------------------------------------------------------------- counter settings (flags)

# Day names as staff may type them back: what is shown must parse (survey.hours).
_DAY_NAMES = {
    "vi": ("T2", "T3", "T4", "T5", "T6", "T7", "CN"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def show_hours(text: str) -> str:
    """Return opening hours written in the user's language, in a form that can be typed back."""
    try:
        spans = parse_hours(text)
    except ValueError:
        return text
    names = _DAY_NAMES.get(str(get_locale()), _DAY_NAMES["en"])
    parts = []
    for span in spans:
        first, last = min(span.days), max(span.days)
        days = names[first] if first == last else f"{names[first]}-{names[last]}"
        parts.append(f"{days} {_clock(span.start)}-{_clock(span.end)}")
    return "; ".join(parts)


def hours_markup(text: str) -> Markup:
    """Return opening hours for a page, each part kept on one line (class "hours")."""
    parts = show_hours(text).split("; ")
    return Markup("; ").join(Markup('<span class="hours">%s</span>') % part for part in parts)


def default_hours() -> Markup:
    """Return the opening hours of an agency that sets none (OPENING_HOURS), for a page."""
    return hours_markup(current_app.config["OPENING_HOURS"])


def burst_default() -> tuple[int, str]:
    """Return the default burst limit of a counter and its window in words (COUNTER_BURST)."""
    item = parse(current_app.config["COUNTER_BURST"])
    seconds = item.get_expiry()
    # Not ngettext: the catalogue test compares singular entries only, and Vietnamese has no
    # plural forms; English gets "1 minute" apart.
    if seconds == 60:
        window = _("1 minute")
    elif seconds % 60 == 0:
        window = _("%(n)d minutes", n=seconds // 60)
    else:
        window = _("%(n)d seconds", n=seconds)
    return item.amount, window


# Other workers keep a counter's settings cached for up to a minute (flagging.SETTINGS_SECONDS).
def hours_hint() -> str:
    """Return the help text of the opening-hours field, with the default."""
    # Translated without the values, escaped, then filled with the marked-up hours.
    text = _(
        "Vietnam time, e.g. “%(example)s”. Forms opened outside these hours are flagged for "
        "review. Empty: %(default)s. A change applies on every server within a minute."
    )
    return escape(text) % {
        "example": hours_markup("Mon-Fri 07:00-17:00; Sat 07:30-11:30"),
        "default": default_hours(),
    }


def burst_hint() -> str:
    """Return the help text of the burst-limit field, with the default."""
    amount, window = burst_default()
    return _(
        "A whole number from 1 to 100: responses at this counter beyond it within %(window)s "
        "are flagged for review. Empty: %(default)d. A change applies on every server within "
        "a minute.",
        window=window,
        default=amount,
    )


def _settings_check(clean):
    def check(_form, field) -> None:
        try:
            field.data = clean(field.data)
        except StaffError as error:
            raise ValidationError(str(error)) from error

    return check


class CounterEditForm(FlaskForm):
    """A counter's name, questionnaire and burst limit."""

    name = _name_field(_l("Name"))
    questionnaire = SelectField(_l("Questionnaire"), choices=[])
    # Empty is the default (COUNTER_BURST); the label, with the window, is set per request.
    burst_limit = StringField(
        _l("Most responses in the window"),
        filters=[_strip],
        validators=[_settings_check(clean_burst_limit)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _amount, window = burst_default()
        self.burst_limit.label.text = _("Most responses in %(window)s", window=window)


class CounterForm(CounterEditForm):
    """A new counter: its code as well."""

    code = _code_field(_l("Code"))


class AgencyEditForm(FlaskForm):
    """An agency's names, level, parent and opening hours."""

    name_vi = _name_field(_l("Name in Vietnamese"))
    name_en = _name_field(_l("Name in English (optional)"), required=False)
    level = SelectField(_l("Level"), choices=[])
    parent = SelectField(_l("Parent agency"), choices=[])
    # Empty is the default (OPENING_HOURS).
    opening_hours = StringField(
        _l("Opening hours"),
        filters=[_strip],
        validators=[_settings_check(clean_opening_hours)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


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
