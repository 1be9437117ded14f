"""The registry of question types: how each is checked in a file, asked, collected and summarised.

Everything that differs between kinds of question lives on its type: the keys a question of the
type may have in a file (any other key is an error), what it adds to the citizen's form, the
template partial that shows it, where its answer is kept (a score, a detail or the comment) and
how results summarise it. Nothing else branches on a type's name: a new type is a new entry in
`QUESTION_TYPES` and a partial under templates/citizen/questions/.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import jsonschema
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

LOCALES = ("vi", "en")

# JSON Schema pieces of a questionnaire file, shared by the file's schema and the types'.
TEXT = {
    "type": "object",
    "required": list(LOCALES),
    "properties": {loc: {"type": "string", "minLength": 1} for loc in LOCALES},
    "additionalProperties": False,
}
KEY = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,39}$"}
OPTION = {
    "type": "object",
    "required": ["value", *LOCALES],
    "properties": {
        "value": {"type": ["integer", "string"]},
        **{loc: {"type": "string", "minLength": 1} for loc in LOCALES},
    },
    "additionalProperties": False,
}

# The value of a scale's "does not apply" option: stored as a missing score.
NOT_APPLICABLE = "0"


@dataclass(frozen=True)
class Choice:
    """A question answered by one of a list of options, as the form checks it."""

    key: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, text) in display order
    required: bool

    @cached_property
    def values(self) -> frozenset[str]:
        """The values a citizen may send."""
        return frozenset(value for value, _ in self.options)


def field_attribute(key: str) -> str:
    """Return the form attribute of a question with its own field (its HTML name stays `key`)."""
    # Prefixed so that no question key (say "data" or "answers") can shadow the form's own.
    return f"text_{key}"


@dataclass
class FormParts:
    """What the question types add to a form class being built."""

    # Questions answered by one option: all read and checked by the form's one ChoiceAnswers.
    choices: dict[str, Choice] = field(default_factory=dict)
    # Form attribute -> WTForms field, for questions that need a field of their own.
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answers:
    """A submission's answers as they are stored: scale scores, details and the comment."""

    scores: dict[str, int | None] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    comment: str | None = None


@dataclass(frozen=True)
class QuestionType:
    """What the platform needs to know about one kind of question.

    `scored` types are kept in the response's `scores` string and used by the indices; they
    also say their top value and satisfied threshold. `partial` is the template that shows a
    question of the type inside its fieldset; `summary` says how results summarise its answers
    ("index": the satisfaction indices, "counts": how many chose each option, "text": read).
    """

    name: str
    scored: bool
    partial: str
    summary: str

    # JSON Schema of the keys a question of this type has besides key, type, text and required.
    own_keys: ClassVar[dict[str, dict]] = {}

    @cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The schema check of a file entry of this type: known keys only, at every level."""
        schema = {
            "type": "object",
            "required": ["key", "type", "text"],
            "properties": {
                "key": KEY,
                "type": {"const": self.name},
                "text": TEXT,
                "required": {"type": "boolean"},
                **self.own_keys,
            },
            "additionalProperties": False,
        }
        return jsonschema.Draft202012Validator(schema)

    def schema_errors(self, question: dict) -> Iterator[jsonschema.ValidationError]:
        """Yield what the schema of this type finds wrong with a file entry."""
        return self.validator.iter_errors(question)

    def check(self, question: dict, scales: dict) -> tuple[str, str] | None:
        """Return (field, problem) when `question` breaks a rule its schema cannot say."""
        return None

    def top(self, question: dict, scales: dict) -> int:
        """Return the highest score of a scored question."""
        raise NotImplementedError(f"{self.name} questions are not scored")

    def satisfied_min(self, question: dict, scales: dict) -> int:
        """Return the lowest score of a scored question that counts as satisfied."""
        raise NotImplementedError(f"{self.name} questions are not scored")

    def contribute(self, parts: FormParts, definition, question: dict, locale: str) -> None:
        """Add what the citizen's form needs to ask `question` in `locale` to `parts`."""
        raise NotImplementedError

    def collect(self, form, question: dict, answers: Answers) -> None:
        """Put the answer to `question` of a validated form where it is stored, in `answers`."""
        raise NotImplementedError


class ScaleType(QuestionType):
    """An answer on one of the questionnaire's scales (1-5 SIPAS levels, 1-3 quick levels)."""

    own_keys: ClassVar[dict[str, dict]] = {"scale": {"type": "string"}}

    def check(self, question, scales):
        """Require a scale of this file."""
        if question.get("scale") not in scales:
            known = ", ".join(sorted(scales)) or "none defined"
            return ".scale", f"'{question.get('scale')}' is not a scale of this file ({known})"
        return None

    def top(self, question, scales):
        """Return the highest value of the question's scale."""
        return max(option["value"] for option in scales[question["scale"]]["options"])

    def satisfied_min(self, question, scales):
        """Return the scale's satisfied threshold."""
        return scales[question["scale"]]["satisfied_min"]

    def contribute(self, parts, definition, question, locale):
        """Add a Choice of the scale's levels, and 'does not apply' when the scale has it."""
        scale = definition.scale_of(question)
        options = [(str(o["value"]), definition.text(o, locale)) for o in scale["options"]]
        if "not_applicable" in scale:
            options.append((NOT_APPLICABLE, definition.text(scale["not_applicable"], locale)))
        parts.choices[question["key"]] = Choice(
            question["key"],
            definition.text(question["text"], locale),
            tuple(options),
            question.get("required", True),
        )

    def collect(self, form, question, answers):
        """Keep the level as a score; no answer and 'does not apply' are a missing score."""
        value = form.answers.data[question["key"]]
        missing = value in (None, "", NOT_APPLICABLE)
        answers.scores[question["key"]] = None if missing else int(value)


class ChoiceType(QuestionType):
    """One option out of a list, e.g. an age band; not scored."""

    own_keys: ClassVar[dict[str, dict]] = {"options": {"type": "array", "items": OPTION}}

    def check(self, question, scales):
        """Require at least two options with distinct values."""
        options = question.get("options")
        if not isinstance(options, list) or len(options) < 2:
            return ".options", "a choice question needs a list of at least two options"
        values = set()
        for index, option in enumerate(options):
            if str(option["value"]) in values:
                return f".options[{index}].value", f"'{option['value']}' used twice"
            values.add(str(option["value"]))
        return None

    def contribute(self, parts, definition, question, locale):
        """Add a Choice of the question's options."""
        parts.choices[question["key"]] = Choice(
            question["key"],
            definition.text(question["text"], locale),
            tuple((str(o["value"]), definition.text(o, locale)) for o in question["options"]),
            question.get("required", True),
        )

    def collect(self, form, question, answers):
        """Keep the chosen value as a detail (nothing when none was chosen)."""
        value = form.answers.data[question["key"]]
        if value:
            answers.details[question["key"]] = value


class TextType(QuestionType):
    """Free text, such as the comment ("ý kiến khác"), with a length limit."""

    own_keys: ClassVar[dict[str, dict]] = {"max_length": {}}  # checked below, with its range

    def check(self, question, scales):
        """Require a sensible max_length."""
        limit = question.get("max_length", 1000)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 5000:
            return ".max_length", "must be a whole number from 1 to 5000"
        return None

    def contribute(self, parts, definition, question, locale):
        """Add a text area of its own, limited to max_length characters."""
        limit = question.get("max_length", 1000)
        too_long = _l("Please keep this under %(n)d characters.", n=limit)
        parts.fields[field_attribute(question["key"])] = TextAreaField(
            definition.text(question["text"], locale),
            name=question["key"],
            validators=[Optional(), Length(max=limit, message=too_long)],
        )

    def collect(self, form, question, answers):
        """Keep the trimmed text: the question keyed "comment" is the response's comment."""
        text = (form[field_attribute(question["key"])].data or "").strip()
        if question["key"] == "comment":
            answers.comment = text or None
        elif text:
            answers.details[question["key"]] = text


QUESTION_TYPES: dict[str, QuestionType] = {
    "scale": ScaleType(
        "scale", scored=True, partial="citizen/questions/_scale.html", summary="index"
    ),
    "choice": ChoiceType(
        "choice", scored=False, partial="citizen/questions/_choice.html", summary="counts"
    ),
    "text": TextType("text", scored=False, partial="citizen/questions/_text.html", summary="text"),
}
