"""The registry of question types: how each is checked in a file, shown, and stored.

A type says whether its answers are scored (kept in the response's `scores` string and used by
the indices) or kept as details; the web form asks the type for its field.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionType:
    """What the platform needs to know about one kind of question."""

    name: str
    scored: bool

    def check(self, question: dict, scales: dict) -> tuple[str, str] | None:
        """Return (field, problem) when `question` is not a valid question of this type."""
        return None


class ScaleType(QuestionType):
    """An answer on one of the questionnaire's scales (1-5 SIPAS levels, 1-3 quick levels)."""

    def check(self, question, scales):
        """Require a known scale and no other keys."""
        extra = set(question) - {"key", "type", "text", "required", "scale"}
        if extra:
            return f".{sorted(extra)[0]}", "not a field of a scale question"
        if question.get("scale") not in scales:
            known = ", ".join(sorted(scales)) or "none defined"
            return ".scale", f"'{question.get('scale')}' is not a scale of this file ({known})"
        return None


class ChoiceType(QuestionType):
    """One option out of a list, e.g. an age band; not scored."""

    def check(self, question, scales):
        """Require a list of options with distinct values and both languages."""
        extra = set(question) - {"key", "type", "text", "required", "options"}
        if extra:
            return f".{sorted(extra)[0]}", "not a field of a choice question"
        options = question.get("options")
        if not isinstance(options, list) or len(options) < 2:
            return ".options", "a choice question needs a list of at least two options"
        values = set()
        for index, option in enumerate(options):
            if not isinstance(option, dict) or not {"value", "vi", "en"} <= set(option):
                return f".options[{index}]", "an option needs value, vi and en"
            if str(option["value"]) in values:
                return f".options[{index}].value", f"'{option['value']}' used twice"
            values.add(str(option["value"]))
        return None


class TextType(QuestionType):
    """Free text, such as the comment ("ý kiến khác"), with a length limit."""

    def check(self, question, scales):
        """Require a sensible max_length."""
        extra = set(question) - {"key", "type", "text", "required", "max_length"}
        if extra:
            return f".{sorted(extra)[0]}", "not a field of a text question"
        limit = question.get("max_length", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 5000:
            return ".max_length", "must be a whole number from 1 to 5000"
        return None


QUESTION_TYPES: dict[str, QuestionType] = {
    "scale": ScaleType("scale", scored=True),
    "choice": ChoiceType("choice", scored=False),
    "text": TextType("text", scored=False),
}
