"""Build the citizen's form from a questionnaire definition, at run time."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from survey.questionnaires import Definition

NOT_APPLICABLE = "0"


class AnswerField(StringField):
    """One answer out of `options` [(value, label)], shown as radio buttons by the template."""

    def __init__(self, label, options, **kwargs):
        super().__init__(label, **kwargs)
        self.options = options


class OneOf:
    """Accept only the listed values, with a message in the citizen's language."""

    def __init__(self, values):
        self.values = {str(v) for v in values}

    def __call__(self, form, field: Field) -> None:
        """Raise ValidationError when the answer is not one of the values."""
        if field.data not in (None, "") and str(field.data) not in self.values:
            raise ValidationError(_l("This answer is not one of the choices. Please choose again."))


def _choices(definition: Definition, question: dict, locale: str) -> list[tuple[str, str]]:
    if question["type"] == "scale":
        scale = definition.scale_of(question)
        choices = [(str(o["value"]), definition.text(o, locale)) for o in scale["options"]]
        if "not_applicable" in scale:
            choices.append((NOT_APPLICABLE, definition.text(scale["not_applicable"], locale)))
        return choices
    return [(str(o["value"]), definition.text(o, locale)) for o in question["options"]]


def form_class(definition: Definition, locale: str) -> type[FlaskForm]:
    """Return the (cached) form class of `definition` in `locale`."""
    # Building a class of twenty fields costs more than validating it: build once per version.
    cache = current_app.extensions.setdefault("survey_form_classes", {})
    key = (definition.content_hash, locale)
    if key not in cache:
        cache[key] = build_form_class(definition, locale)
    return cache[key]


def build_form_class(definition: Definition, locale: str) -> type[FlaskForm]:
    """Return a FlaskForm class with one field per question of `definition`."""

    class SurveyForm(FlaskForm):
        nonce = HiddenField()

        class Meta:
            # CSRFProtect already checks every POST; a second, per-form check only costs time.
            csrf = False

    for question in definition.questions.values():
        label = definition.text(question["text"], locale)
        required = question.get("required", True)
        if question["type"] == "text":
            limit = question.get("max_length", 1000)
            field = TextAreaField(
                label,
                validators=[
                    Optional(),
                    Length(
                        max=limit, message=_l("Please keep this under %(n)d characters.", n=limit)
                    ),
                ],
            )
        else:
            choices = _choices(definition, question, locale)
            first = (
                [InputRequired(message=_l("Please choose an answer for this question."))]
                if required
                else [Optional()]
            )
            field = AnswerField(
                label, options=choices, validators=[*first, OneOf(c[0] for c in choices)]
            )
        setattr(SurveyForm, question["key"], field)
    return SurveyForm


def collect_answers(form: FlaskForm, definition: Definition) -> tuple[dict, dict, str | None]:
    """Split a validated form into (scale answers, details, comment)."""
    scores: dict[str, int | None] = {}
    details: dict[str, str] = {}
    comment = None
    for key, question in definition.questions.items():
        value = form[key].data
        if question["type"] == "scale":
            scores[key] = int(value) if value not in (None, "", NOT_APPLICABLE) else None
        elif question["type"] == "text":
            text = (value or "").strip()
            if key == "comment":
                comment = text or None
            elif text:
                details[key] = text
        elif value:
            details[key] = value
    return scores, details, comment
