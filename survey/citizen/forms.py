"""Build the citizen's form from a questionnaire definition, at run time."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField
from wtforms.utils import unset_value
from wtforms.validators import StopValidation

from survey.questionnaires.loading import Definition
from survey.questionnaires.types import Answers, Choice, FormParts, field_attribute

# The form attribute of a question with a field of its own, such as a text (its name is its key).
text_attribute = field_attribute

REQUIRED = _l("Please choose an answer for this question.")
NOT_A_CHOICE = _l("This answer is not one of the choices. Please choose again.")
SOME_ANSWERS = _l("Some answers need your attention. Please see below.")
# Good answers with a nonce that is expired or not this form's: kept, with a fresh nonce.
FORM_EXPIRED = _l("This form had expired. Please press Send again.")
# Over the rate limit: nothing stored, answers kept.
SEND_AGAIN_SOON = _l(
    "Many forms are being sent at this moment. Your answers are kept: please wait a moment "
    "and press Send again."
)


class ChoiceAnswers(Field):
    """Every scale and choice question of a questionnaire, read and checked in one pass.

    WTForms lets one field stand for many inputs. One field per question would build and check
    some twenty fields on every submission, the busiest request of the platform; this one keeps
    each answer in `data[key]` and each problem, in the citizen's language, in `problems[key]`.
    """

    def __init__(self, label=None, choices: dict[str, Choice] | None = None, **kwargs):
        super().__init__(label, **kwargs)
        self.choices = choices or {}  # by question key, in the questionnaire's order
        self.problems: dict[str, str] = {}

    def process(self, formdata, data=unset_value, extra_filters=None):
        """Read each question's answer from the submitted form (None when there is none)."""
        self.process_errors = []
        self.problems = {}
        given = formdata if formdata is not None else (data if isinstance(data, dict) else {})
        self.data = {key: given.get(key) for key in self.choices}

    def pre_validate(self, form) -> None:
        """Note each missing required answer and each value that is not one of the options."""
        for choice in self.choices.values():
            value = self.data.get(choice.key)
            if value in (None, ""):
                if choice.required:
                    self.problems[choice.key] = str(REQUIRED)
            elif value not in choice.values:
                self.problems[choice.key] = str(NOT_A_CHOICE)
        if self.problems:
            # WTForms counts a field valid unless its errors list has a message in it.
            raise StopValidation(str(SOME_ANSWERS))


class SurveyForm(FlaskForm):
    """A citizen's form: the one-time nonce, the choice answers, and the questions' own fields."""

    nonce = HiddenField()
    # Set by build_form_class: every question key, in the questionnaire's order.
    question_keys: tuple[str, ...] = ()
    # Set by build_form_class: question key -> the template partial of its type.
    partials: dict[str, str] = {}

    class Meta:
        # CSRFProtect already checks every POST; a second, per-form check only costs time.
        csrf = False

        def get_translations(self, form):
            # Every message on this form is the platform's own, through Flask-Babel; loading
            # WTForms' catalogue would cost a file lookup on every request for nothing.
            return None

    def answer(self, key: str) -> tuple[str | None, str | None]:
        """Return (the answer given, the problem with it) for question `key`."""
        if key in self.answers.data:
            return self.answers.data[key], self.answers.problems.get(key)
        field = self[field_attribute(key)]
        return field.data, (field.errors[0] if field.errors else None)

    def partial(self, key: str) -> str:
        """Return the template partial that shows question `key` inside its fieldset."""
        return self.partials[key]

    def options(self, key: str) -> tuple[tuple[str, str], ...]:
        """Return the (value, text) options of scale or choice question `key`."""
        return self.answers.choices[key].options

    def problems(self) -> list[tuple[str, str]]:
        """Return (key, question text) of every question with a problem, in the form's order."""
        found = []
        for key in self.question_keys:
            if key in self.answers.choices:
                if key in self.answers.problems:
                    found.append((key, self.answers.choices[key].label))
            elif self[field_attribute(key)].errors:
                found.append((key, self[field_attribute(key)].label.text))
        return found


def form_class(definition: Definition, locale: str) -> type[SurveyForm]:
    """Return the (cached) form class of `definition` in `locale`."""
    # Building a form class costs more than validating a form: build once per version.
    cache = current_app.extensions.setdefault("survey_form_classes", {})
    key = (definition.content_hash, locale)
    if key not in cache:
        cache[key] = build_form_class(definition, locale)
    return cache[key]


def build_form_class(definition: Definition, locale: str) -> type[SurveyForm]:
    """Return a SurveyForm class for the questions of `definition` in `locale`."""
    parts = FormParts()
    for key, question in definition.questions.items():
        definition.question_types[key].contribute(parts, definition, question, locale)
    attributes = {
        "answers": ChoiceAnswers(choices=parts.choices),
        "question_keys": tuple(definition.questions),
        "partials": {key: qtype.partial for key, qtype in definition.question_types.items()},
        **parts.fields,
    }
    return type("DefinedSurveyForm", (SurveyForm,), attributes)


def collect_answers(form: SurveyForm, definition: Definition) -> tuple[dict, dict, str | None]:
    """Split a validated form into (scale answers, details, comment), as each type keeps its own."""
    answers = Answers()
    for key, question in definition.questions.items():
        definition.question_types[key].collect(form, question, answers)
    return answers.scores, answers.details, answers.comment
