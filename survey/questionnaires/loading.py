"""Questionnaires as data: load the files in questionnaires/, check them, and describe their items.

A file is YAML (or JSON, which is YAML too). It is checked against `FILE_SCHEMA`, each question
against the schema of its type, and then for the rules a schema cannot say (unique keys, known
scales). Every object allows only its known keys. A bad file raises `QuestionnaireError` naming
the file, the path and what is wrong, which stops start-up.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from survey.questionnaires.types import KEY, OPTION, QUESTION_TYPES, TEXT, QuestionType

# Names the web form already gives its hidden fields.
RESERVED_KEYS = frozenset({"nonce", "csrf_token"})

FILE_SCHEMA = {
    "type": "object",
    "required": ["slug", "title", "sections"],
    "additionalProperties": False,
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,59}$"},
        "title": TEXT,
        "intro": TEXT,
        # The fewest seconds a person needs to read and answer the form: a form sent sooner
        # after it was issued is flagged as too fast. Fast honest readers must pass.
        "min_seconds": {"type": "integer", "minimum": 0, "maximum": 600},
        "scales": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["satisfied_min", "options"],
                "additionalProperties": False,
                "properties": {
                    "satisfied_min": {"type": "integer", "minimum": 1, "maximum": 9},
                    "options": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 9,
                        "items": {
                            **OPTION,
                            "properties": {
                                **OPTION["properties"],
                                "value": {"type": "integer", "minimum": 1, "maximum": 9},
                            },
                        },
                    },
                    "not_applicable": TEXT,
                },
            },
        },
        "sections": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["key", "title", "questions"],
                "additionalProperties": False,
                "properties": {
                    "key": KEY,
                    "element": {"type": "boolean"},
                    "title": TEXT,
                    "questions": {
                        "type": "array",
                        "minItems": 1,
                        # The rest of a question, its keys included, is its type's to check.
                        "items": {
                            "type": "object",
                            "required": ["key", "type", "text"],
                            "properties": {"type": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}


_FILE_VALIDATOR = jsonschema.Draft202012Validator(FILE_SCHEMA)


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used, with the file, the field and the reason."""

    def __init__(self, source: str, where: str, problem: str):
        super().__init__(f"{source}: {where}: {problem}")
        self.source, self.where, self.problem = source, where, problem


@dataclass(frozen=True)
class Definition:
    """A checked questionnaire definition and the facts derived from it, computed once."""

    slug: str
    data: dict
    content_hash: str
    # Scale questions in file order: the layout of a response's `scores` string.
    scale_items: tuple[str, ...]
    # Element key -> its criteria, for the index formulas.
    elements: dict[str, tuple[str, ...]]
    # Scale item -> the lowest value that counts as satisfied.
    satisfied_min: dict[str, int]
    # Scale item -> the highest value it can take (5 on SIPAS levels, 3 on quick ones).
    scale_top: dict[str, int]
    # The highest value of any scale item (0 when there is none): the indices' maximum score.
    max_score: int
    questions: dict[str, dict] = field(repr=False)
    # Question key -> its type, in the questionnaire's order.
    question_types: dict[str, QuestionType] = field(repr=False)

    @property
    def min_seconds(self) -> int:
        """Return the fewest seconds a person needs for this form (0 when the file says none)."""
        return int(self.data.get("min_seconds", 0))

    def text(self, value: dict, locale: str) -> str:
        """Return a {vi, en} text in `locale`."""
        return value.get(locale) or value["vi"]

    def title(self, locale: str) -> str:
        """Return the questionnaire's title in `locale`."""
        return self.text(self.data["title"], locale)

    def scale_of(self, question: dict) -> dict:
        """Return the scale a scale question answers on."""
        return self.data["scales"][question["scale"]]

    def summarised_as(self, summary: str) -> tuple[str, ...]:
        """Return the keys of the questions whose type summarises them as `summary`."""
        return tuple(k for k, qtype in self.question_types.items() if qtype.summary == summary)

    def encode_scores(self, answers: dict[str, int | None]) -> str:
        """Encode scale answers as one digit per scale item ("0" for missing)."""
        return "".join(str(answers.get(key) or 0) for key in self.scale_items)

    def decode_scores(self, scores: str) -> dict[str, int | None]:
        """Decode a `scores` string back into item key -> value (None for missing)."""
        return {key: (int(ch) or None) for key, ch in zip(self.scale_items, scores, strict=True)}


def _where(path) -> str:
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "(the whole file)"


def _unknown_keys(error: jsonschema.ValidationError) -> list[str] | None:
    """Return the keys a schema error refuses as unknown, or None for any other error."""
    if error.validator != "additionalProperties" or error.validator_value is not False:
        return None
    known = error.schema.get("properties", {})
    return [str(key) for key in error.instance if key not in known]


def _first_problem(errors, prefix: tuple, strict: bool) -> tuple[str, str] | None:
    """Return (where, problem) of the first schema error, in file order."""
    for error in sorted(errors, key=lambda e: list(e.absolute_path)):
        unknown = _unknown_keys(error)
        if unknown is None:
            return _where([*prefix, *error.absolute_path]), error.message
        if strict:
            # Often a YAML flow mapping split at a comma: {vi: Học sinh, sinh viên} has a key
            # "sinh viên". Name the key, so that the file can be mended where it broke.
            names = ", ".join(f"'{key}'" for key in unknown)
            plural = "s" if len(unknown) > 1 else ""
            return _where([*prefix, *error.absolute_path]), f"unknown key{plural} {names}"
    return None


def check(data: object, source: str, *, strict: bool = True) -> Definition:
    """Check a parsed questionnaire file and return its definition, or raise QuestionnaireError.

    `strict=False` lets unknown keys pass: for versions stored before files were checked for
    them, which must still be read.
    """
    problem = _first_problem(_FILE_VALIDATOR.iter_errors(data), (), strict)
    if problem:
        raise QuestionnaireError(source, *problem)
    scales = data.get("scales", {})
    questions: dict[str, dict] = {}
    question_types: dict[str, QuestionType] = {}
    elements: dict[str, tuple[str, ...]] = {}
    scale_items: list[str] = []
    satisfied_min: dict[str, int] = {}
    scale_top: dict[str, int] = {}
    seen_sections: set[str] = set()
    for s_index, section in enumerate(data["sections"]):
        where_section = f"sections[{s_index}]"
        if section["key"] in seen_sections:
            raise QuestionnaireError(source, f"{where_section}.key", f"'{section['key']}' twice")
        seen_sections.add(section["key"])
        element_items = []
        for q_index, question in enumerate(section["questions"]):
            where = f"{where_section}.questions[{q_index}]"
            qtype = QUESTION_TYPES.get(question["type"])
            if qtype is None:
                known = sorted(QUESTION_TYPES)
                raise QuestionnaireError(
                    source, f"{where}.type", f"'{question['type']}' is not one of {known}"
                )
            path = ("sections", s_index, "questions", q_index)
            problem = _first_problem(qtype.schema_errors(question), path, strict)
            if problem:
                raise QuestionnaireError(source, *problem)
            key = question["key"]
            if key in questions:
                raise QuestionnaireError(source, f"{where}.key", f"item key '{key}' used twice")
            if key in RESERVED_KEYS:
                raise QuestionnaireError(
                    source, f"{where}.key", f"'{key}' is the name of a hidden field of the form"
                )
            problem = qtype.check(question, scales)
            if problem:
                raise QuestionnaireError(source, where + problem[0], problem[1])
            questions[key] = question
            question_types[key] = qtype
            if qtype.scored:
                scale_items.append(key)
                satisfied_min[key] = qtype.satisfied_min(question, scales)
                scale_top[key] = qtype.top(question, scales)
                element_items.append(key)
        if section.get("element"):
            if not element_items:
                raise QuestionnaireError(source, where_section, "an element needs scale questions")
            elements[section["key"]] = tuple(element_items)
    if len(scale_items) > 60:
        raise QuestionnaireError(source, "sections", "at most 60 scale questions")
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Definition(
        slug=data["slug"],
        data=data,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        scale_items=tuple(scale_items),
        elements=elements,
        satisfied_min=satisfied_min,
        scale_top=scale_top,
        max_score=max(scale_top.values(), default=0),
        questions=questions,
        question_types=question_types,
    )


def load_file(path: Path) -> Definition:
    """Load and check one questionnaire file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(path.name, "(the whole file)", f"not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(the whole file)"
        raise QuestionnaireError(path.name, where, f"not valid YAML: {exc}") from exc
    definition = check(data, path.name)
    if definition.slug != path.stem:
        raise QuestionnaireError(
            path.name, "slug", f"'{definition.slug}' differs from the file name '{path.stem}'"
        )
    return definition


def load_directory(directory: Path) -> dict[str, Definition]:
    """Load every questionnaire file in `directory`, keyed by slug."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml"), *directory.glob("*.json")])
    definitions = {}
    for path in files:
        definition = load_file(path)
        definitions[definition.slug] = definition
    if not definitions:
        raise QuestionnaireError(str(directory), "(folder)", "no questionnaire file found")
    return definitions
